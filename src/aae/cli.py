"""The ``aae`` command line: train, presets, encode, sample, classify, plot, eval, report, data.

User errors (:class:`AAEError`) print one ``error:`` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from aae.data_cli import add_parser as add_data_parser
from aae.data_cli import cmd_data
from aae.distributed import exit_now, launched_by_torchrun
from aae.errors import AAEError
from aae.sweep_cli import add_parser as add_sweep_parser
from aae.sweep_cli import add_tracking_arguments, cmd_sweep

EPILOG = "Data are looked up in --data-dir, then $AAE_DATA, then ~/.cache/aae (downloaded there if missing)."


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (None, False, [])."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default == []:
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error:`` line (exit status 2), like every other error."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


RUN_DATA = "default: where the run's data were read from"


def _add_data_dir(p: argparse.ArgumentParser, note: str = "") -> None:
    where = "folder holding mnist/, fashion-mnist/, svhn/ and tfd/ (see `aae data list`)"
    p.add_argument("--data-dir", metavar="DIR", help=f"{where}; {note}" if note else where)


def _run_command(sub, name: str, run_help: str = "run directory", **kwargs) -> argparse.ArgumentParser:
    """A subcommand that works on one run directory (its first argument)."""
    p = sub.add_parser(name, **kwargs)
    p.add_argument("run", type=Path, help=run_help)
    return p


def build_parser() -> argparse.ArgumentParser:
    """The ``aae`` argument parser, with one subparser per command (docs/cli.md shows each one's help)."""
    from aae import __version__

    parser = Parser(
        prog="aae", description="Adversarial autoencoders (Makhzani et al., arXiv 1511.05644).", epilog=EPILOG
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "train",
        help="train a preset or a config file into a run directory",
        epilog=EPILOG,
        description="Train a model; writes config, weights, metrics.jsonl, summary.json and figures.",
    )
    p.add_argument(
        "config",
        nargs="?",
        metavar="PRESET|CONFIG",
        help="a preset name (see `aae presets`) or a .toml/.json file (ignored with --resume)",
    )
    _add_data_dir(p, "with --resume, " + RUN_DATA)
    p.add_argument("--out", type=Path, metavar="RUN", help="run directory (default: runs/<preset>-<time>-<pid>)")
    p.add_argument("--epochs", type=int, metavar="N", help="number of epochs (overrides the preset)")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (overrides the preset)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set model=autoencoder --set prior.std=5 (repeatable)",
    )
    p.add_argument(
        "--resume",
        nargs="?",
        const=True,
        metavar="RUN",
        help="continue run RUN (or --out) from its last checkpoint, exactly where it stopped; "
        "a finished run is left as it is unless --epochs asks for more",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    add_tracking_arguments(p)  # --log tensorboard|mlflow, --mlflow-uri

    sub.add_parser(
        "presets",
        help="list the named presets and the paper figure each reproduces",
        description="List the named presets: name, the paper figure or table it reproduces, what it trains.",
    )
    p = sub.add_parser(
        "config",
        help="print a preset's config as TOML, every key with its meaning, type and default",
        description="Print the resolved config of a preset or file (with --set applied) as TOML that `aae train` "
        "reads back; each key's comment gives its meaning and type, and the default where it differs.",
    )
    p.add_argument("config", metavar="PRESET|CONFIG", help="a preset name (see `aae presets`) or a .toml/.json file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a key")

    p = _run_command(
        sub,
        "encode",
        help="write the codes of a data split, in the split's order, to .npy",
        description="Encode a split of the run's data set with the trained encoder; writes an n x code_dim array.",
    )
    p.add_argument("--split", default="test", choices=["train", "val", "test"], help="which split to encode")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="output .npy file (n x code_dim)")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the noise of stochastic (Gaussian, universal) encoders",
    )
    _add_data_dir(p, RUN_DATA)

    p = _run_command(
        sub,
        "sample",
        help="decode prior samples to .npy (n x data_dim, values in [0, 1]) or a .png grid",
        description="Draw codes from the run's prior and decode them; .png draws them as a titled grid.",
    )
    p.add_argument("-n", type=int, default=100, help="number of samples")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="output .npy or .png")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the prior samples")
    p.add_argument(
        "--label", type=int, metavar="CLASS", help="sample from this class's prior component (label-informed runs)"
    )

    p = _run_command(
        sub,
        "classify",
        help="write the predicted class of every example of a split, in the split's order, to .npy",
        description="Semi-supervised runs predict argmax q(y|x); clustering runs give each cluster the label "
        "of its most confident validation example (paper §6). Prints the split's error.",
        run_help="run directory of a semisupervised or clustering model",
    )
    p.add_argument("--split", default="test", choices=["train", "val", "test"], help="which split to classify")
    p.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="output .npy file (n,) of int64 classes"
    )
    _add_data_dir(p, RUN_DATA)

    p = _run_command(
        sub,
        "plot",
        help="re-draw the figures of a run into <run>/figures",
        description="Draw the run's figures again (latent codes, samples, reconstructions, ...) as PNG files.",
    )
    _add_data_dir(p, RUN_DATA)

    p = _run_command(
        sub,
        "eval",
        help="re-compute a run's test (or --validation) metrics into summary.json; --parzen adds the Parzen likelihood",
        description="Evaluate a run on its test split (or, with --validation, on its validation split only) and "
        "merge the results into <run>/summary.json.",
    )
    p.add_argument(
        "--parzen",
        action="store_true",
        help="Parzen-window log-likelihood of the test split under decoded prior samples (paper Table 1); "
        "σ chosen on the validation split",
    )
    p.add_argument(
        "--validation",
        action="store_true",
        help="evaluate on the validation split only, the test split left unread (val_* metrics, parzen_val_ll): "
        "for comparing settings and checkpoints",
    )
    p.add_argument("--n-samples", type=int, default=10000, metavar="N", help="prior samples for the Parzen window")
    p.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed of the prior samples and of stochastic encoders"
    )
    _add_data_dir(p, RUN_DATA)

    p = _run_command(
        sub,
        "report",
        help="write <run>/report.html: figures, metrics and config on one offline page",
        description="Write one self-contained HTML page (images embedded, no scripts) with the run's test "
        "metrics, training curves, figures and config.",
    )
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="output .html (default: <run>/report.html)")

    add_data_parser(sub, _add_data_dir, EPILOG)
    add_sweep_parser(sub)
    return parser


def resolve_config(name: str | None, overrides: list[str]):
    """The config of preset or .toml/.json file ``name`` with ``--set`` ``overrides`` applied."""
    from aae.config import apply_overrides, load_config_file
    from aae.presets import PRESETS, get_preset

    if name is None:
        raise AAEError("name a preset (see `aae presets`) or a .toml/.json config file")
    if name in PRESETS or not name.endswith((".toml", ".json")):
        cfg = get_preset(name)  # an unknown name raises with the list of presets
    else:
        cfg = load_config_file(name)
    return apply_overrides(cfg, overrides)


def cmd_config(args) -> int:
    from aae.config.describe import annotated_toml

    cfg = resolve_config(args.config, list(args.overrides))
    cfg.validate()
    print(annotated_toml(cfg), end="")
    return 0


def cmd_train(args) -> int:
    from aae.runs import resume_config, timestamp_dir, train_run
    from aae.runs.files import completed_epochs
    from aae.tracking import make_tracker

    if isinstance(args.resume, str):
        if args.out is not None and Path(args.resume) != args.out:
            raise AAEError(f"--resume {args.resume} and --out {args.out} name different runs")
        args.out = Path(args.resume)
    if args.resume:
        if args.out is None:
            raise AAEError("--resume needs the run directory: --resume RUN")
        if args.overrides or args.seed is not None:
            raise AAEError("--resume continues a run as it was configured; only --epochs may change")
        cfg = resume_config(args.out, args.epochs)
    else:
        overrides = list(args.overrides)
        if args.epochs is not None:
            overrides.append(f"epochs={args.epochs}")
        if args.seed is not None:
            overrides.append(f"seed={args.seed}")
        cfg = resolve_config(args.config, overrides)
    if cfg.epochs < 1:
        raise AAEError(f"epochs must be >= 1, got {cfg.epochs}")
    if args.resume:
        done = completed_epochs(args.out)
        if done is not None and done >= cfg.epochs:
            print(
                f"run {args.out} is complete: {done} epochs trained, summary.json written; nothing to do "
                f"(train it further with --resume {args.out} --epochs N, N > {done})"
            )
            return 0
    out = args.out or timestamp_dir(cfg.name)
    log = (lambda *a: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    tracker = make_tracker(args.log, out, cfg, args.mlflow_uri)
    progress = None if not args.quiet else False
    summary = train_run(cfg, out, args.data_dir, bool(args.resume), args.overwrite, progress, log, tracker=tracker)
    if not summary:  # a process other than 0 in a distributed run
        return 0
    print(f"run written to {out}")
    print_metrics(summary)
    return 0


def print_metrics(metrics: dict) -> None:
    """One line per metric; a matrix (``test_confusion``) as rows under its name."""
    for k, v in metrics.items():
        if isinstance(v, list) and v and isinstance(v[0], list):
            width = max(len(str(n)) for row in v for n in row)
            print(f"  {k} (rows: true class, columns: predicted):")
            for row in v:
                print("    " + " ".join(str(n).rjust(width) for n in row))
        else:
            print(f"  {k}: {v:.6g}" if isinstance(v, float) else f"  {k}: {v}")


def cmd_presets(args) -> int:
    from aae.presets import PRESETS

    width = max(len(n) for n in PRESETS)
    paper = max(len(p.reproduces) for p in PRESETS.values())
    for p in PRESETS.values():
        print(f"{p.name:<{width}}  {p.reproduces:<{paper}}  {p.description}")
    return 0


def cmd_encode(args) -> int:
    from aae.runs import encode_split, load_run, run_splits, split_tensors

    run = load_run(args.run)
    x, _ = split_tensors(run_splits(run, args.data_dir), args.split)
    codes = encode_split(run, x, args.seed).numpy()
    _check_output(args.output, (".npy",))
    np.save(args.output, codes)
    print(f"wrote {codes.shape[0]} x {codes.shape[1]} codes to {args.output}")
    return 0


#: presets whose runs ``aae sample --label`` can draw from, named when a run cannot
LABEL_PRESETS = ("mnist-mixture-2d-labels", "mnist-supervised-style", "mnist-semisupervised-100", "mnist-clusters-16")


def cmd_sample(args) -> int:
    from aae.runs import load_run, plots

    if args.n < 1:
        raise AAEError(f"-n must be >= 1, got {args.n}")
    _check_output(args.output, (".npy", ".png"))
    run = load_run(args.run)
    g = torch.Generator().manual_seed(args.seed)
    labels = None if args.label is None else torch.full((args.n,), args.label, dtype=torch.long)
    if labels is not None and run.model.sample_classes == 0:
        raise AAEError(
            f"--label: the model of run {args.run} (model {run.cfg.model!r}, prior {run.cfg.prior.get('name')!r}) "
            f"samples no classes; --label needs a decoder that takes the class or a prior with a component per "
            f"class, e.g. the presets {', '.join(LABEL_PRESETS)} (see `aae presets`)"
        )
    if labels is not None and not 0 <= args.label < run.model.sample_classes:
        raise AAEError(f"--label {args.label} out of range: the model has {run.model.sample_classes} classes")
    x = run.model.sample(args.n, g, labels=labels).cpu().numpy()
    if args.output.suffix == ".png":
        if run.image_shape is None:
            raise AAEError("this run's data are not images; write .npy instead")
        cols = int(np.ceil(np.sqrt(args.n)))
        what = "decoded prior samples" + ("" if args.label is None else f" of class {args.label}")
        plots.save_image_grid(
            args.output,
            x,
            int(np.ceil(args.n / cols)),
            cols,
            run.image_shape,
            title=f"{plots.run_label(run.path.resolve().name, run.cfg.name, run.cfg.model)}\n"
            f"{args.n} {what} (seed {args.seed})",
            xlabel="each image: decoder(z), z drawn from the prior p(z)",
        )
    else:
        np.save(args.output, x)
    print(f"wrote {args.n} samples to {args.output}")
    return 0


def cmd_classify(args) -> int:
    from aae.classification import error_percent
    from aae.runs import load_run, predict_split, run_splits, split_tensors

    _check_output(args.output, (".npy",))
    run = load_run(args.run)
    splits = run_splits(run, args.data_dir)
    pred = predict_split(run, splits, args.split)
    np.save(args.output, pred.numpy())
    _, y = split_tensors(splits, args.split)
    msg = f"wrote {len(pred)} predicted classes to {args.output}"
    if len(y) and bool((y >= 0).all()):
        msg += f" ({args.split} error {error_percent(pred, y):.2f} %)"
    print(msg)
    return 0


def cmd_plot(args) -> int:
    from aae.runs import draw_figures, load_run, run_splits

    run = load_run(args.run)
    for p in draw_figures(run, run_splits(run, args.data_dir)):
        print(p)
    return 0


def cmd_eval(args) -> int:
    from aae.runs import evaluate, evaluate_validation, load_run, parzen_run, run_splits, update_summary

    if args.n_samples < 1:
        raise AAEError(f"--n-samples must be >= 1, got {args.n_samples}")
    run = load_run(args.run)
    splits = run_splits(run, args.data_dir)
    results = (evaluate_validation if args.validation else evaluate)(run, splits, args.seed)
    if args.parzen:
        results.update(parzen_run(run, splits, args.n_samples, args.seed, test=not args.validation))
    update_summary(run.path, results)
    print_metrics(results)
    print(f"updated {run.path / 'summary.json'}")
    return 0


def cmd_report(args) -> int:
    from aae.runs.report import write_report

    if not args.run.is_dir():
        raise AAEError(f"run directory {args.run} does not exist")
    out = args.output or args.run / "report.html"
    _check_output(out, (".html",))
    print(f"wrote {write_report(args.run, out)}")
    return 0


def _check_output(path: Path, suffixes: tuple[str, ...]) -> None:
    if path.suffix not in suffixes:
        raise AAEError(f"output {path} must end in {' or '.join(suffixes)}")
    if not path.parent.is_dir():
        raise AAEError(f"output folder {path.parent} does not exist")


COMMANDS = {
    "train": cmd_train,
    "presets": cmd_presets,
    "config": cmd_config,
    "encode": cmd_encode,
    "sample": cmd_sample,
    "classify": cmd_classify,
    "plot": cmd_plot,
    "eval": cmd_eval,
    "report": cmd_report,
    "data": cmd_data,
    "sweep": cmd_sweep,
}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version (0) or a usage error (2, one line: Parser.error)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    code = _run(args)
    if launched_by_torchrun():
        exit_now(code)  # see exit_now: gloo's threads can abort a normal interpreter exit
    return code


def _run(args: argparse.Namespace) -> int:
    try:
        return COMMANDS[args.command](args)
    except AAEError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
