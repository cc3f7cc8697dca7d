"""The ``aae`` command line: train, presets, encode, sample, classify, plot, eval, report, data.

User errors (:class:`AAEError`) print one ``error:`` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

from aae.distributed import exit_now, launched_by_torchrun
from aae.errors import AAEError

EPILOG = "Data are looked up in --data-dir, then $AAE_DATA, then ~/.cache/aae (downloaded there if missing)."


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder holding mnist/, fashion-mnist/, svhn/ and tfd/ (see `aae data list`)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aae", description="Adversarial autoencoders (Makhzani et al., arXiv 1511.05644).", epilog=EPILOG
    )
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
    _add_data_dir(p)
    p.add_argument("--out", type=Path, help="run directory (default: runs/<preset>-<time>)")
    p.add_argument("--epochs", type=int, help="number of epochs (overrides the preset)")
    p.add_argument("--seed", type=int, help="random seed (overrides the preset)")
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
        help="continue run RUN (or --out) from its last checkpoint, exactly where it stopped",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")

    sub.add_parser("presets", help="list the named presets and the paper figure each reproduces")

    p = sub.add_parser("encode", help="write the codes of a data split, in file order, to .npy")
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("-o", "--output", type=Path, required=True, help="output .npy file (n x code_dim)")
    p.add_argument("--seed", type=int, default=0, help="seed for stochastic encoders")
    _add_data_dir(p)

    p = sub.add_parser("sample", help="decode prior samples to .npy (n x data_dim, values in [0, 1]) or a .png grid")
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("-n", type=int, default=100, help="number of samples")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .npy or .png")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, help="sample from this class's prior component")

    p = sub.add_parser(
        "classify",
        help="write the predicted class of every example of a split, in file order, to .npy",
        description="Semi-supervised runs predict argmax q(y|x); clustering runs give each cluster the label "
        "of its most confident validation example (paper §6). Prints the split's error.",
    )
    p.add_argument("run", type=Path, help="run directory of a semisupervised or clustering model")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("-o", "--output", type=Path, required=True, help="output .npy file (n,) of int64 classes")
    _add_data_dir(p)

    p = sub.add_parser("plot", help="re-draw the figures of a run into <run>/figures")
    p.add_argument("run", type=Path, help="run directory")
    _add_data_dir(p)

    p = sub.add_parser(
        "eval",
        help="re-compute a run's test metrics into summary.json; --parzen adds the Parzen log-likelihood",
        description="Evaluate a run on its test split and merge the results into <run>/summary.json.",
    )
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument(
        "--parzen",
        action="store_true",
        help="Parzen-window log-likelihood of the test split under decoded prior samples (paper Table 1); "
        "σ chosen on the validation split",
    )
    p.add_argument("--n-samples", type=int, default=10000, help="prior samples for the Parzen window")
    p.add_argument("--seed", type=int, default=0)
    _add_data_dir(p)

    p = sub.add_parser("report", help="write <run>/report.html: figures, metrics and config on one offline page")
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("-o", "--output", type=Path, help="output .html (default: <run>/report.html)")

    p = sub.add_parser(
        "data",
        help="list, download or verify the data sets",
        epilog=EPILOG + " $AAE_MIRROR=URL is tried first for downloads, as URL/<data set>/<file>.",
        description="Which data sets are found where; fetch them (size and checksum verified); re-check them.",
    )
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    q = data_sub.add_parser(
        "list", help="where each known file is found, its size, whether the size is right, and each licence"
    )
    _add_data_dir(q)
    q = data_sub.add_parser(
        "download",
        help="download a data set and verify it",
        description="Download into <data-dir>/<data set>/ (default: the cache, ~/.cache/aae); an interrupted "
        "download resumes from its .part file.",
    )
    q.add_argument("name", choices=["mnist", "fashion-mnist", "svhn", "svhn-extra", "tfd"])
    _add_data_dir(q)
    q = data_sub.add_parser("verify", help="check every file found against its published size and checksum")
    q.add_argument("name", nargs="*", help="data sets to verify (default: all); e.g. mnist svhn")
    _add_data_dir(q)
    return parser


def cmd_train(args) -> int:
    from aae.config import apply_overrides, load_config_file
    from aae.presets import PRESETS, get_preset
    from aae.runs import resume_config, timestamp_dir, train_run

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
        if args.config is None:
            raise AAEError("name a preset (see `aae presets`) or a .toml/.json config file")
        if args.config in PRESETS or not args.config.endswith((".toml", ".json")):
            cfg = get_preset(args.config)  # an unknown name raises with the list of presets
        else:
            cfg = load_config_file(args.config)
        overrides = list(args.overrides)
        if args.epochs is not None:
            overrides.append(f"epochs={args.epochs}")
        if args.seed is not None:
            overrides.append(f"seed={args.seed}")
        cfg = apply_overrides(cfg, overrides)
    if cfg.epochs < 1:
        raise AAEError(f"epochs must be >= 1, got {cfg.epochs}")
    out = args.out or timestamp_dir(cfg.name)
    log = (lambda *a: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    summary = train_run(
        cfg, out, args.data_dir, bool(args.resume), args.overwrite, None if not args.quiet else False, log
    )
    if not summary:  # a process other than 0 in a distributed run
        return 0
    print(f"run written to {out}")
    for k, v in summary.items():
        print(f"  {k}: {v:.6g}" if isinstance(v, float) else f"  {k}: {v}")
    return 0


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


def cmd_sample(args) -> int:
    from aae.runs import load_run, plots

    if args.n < 1:
        raise AAEError(f"-n must be >= 1, got {args.n}")
    _check_output(args.output, (".npy", ".png"))
    run = load_run(args.run)
    g = torch.Generator().manual_seed(args.seed)
    labels = None if args.label is None else torch.full((args.n,), args.label, dtype=torch.long)
    if labels is not None and not 0 <= args.label < max(run.model.sample_classes, 1):
        raise AAEError(f"--label {args.label} out of range: the model has {run.model.sample_classes} classes")
    x = run.model.sample(args.n, g, labels=labels).cpu().numpy()
    if args.output.suffix == ".png":
        if run.image_shape is None:
            raise AAEError("this run's data are not images; write .npy instead")
        cols = int(np.ceil(np.sqrt(args.n)))
        plots.save_image_grid(args.output, x, int(np.ceil(args.n / cols)), cols, run.image_shape)
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


def cmd_data(args) -> int:
    from aae import data

    if args.data_command == "download":
        return _data_download(args.name, args.data_dir)
    verify = args.data_command == "verify"
    where = [f"{args.data_dir} (--data-dir)"] if args.data_dir else []
    if os.environ.get("AAE_DATA"):
        where.append(f"{os.environ['AAE_DATA']} ($AAE_DATA)")
    where.append(f"{data.cache_dir()} (cache; downloads go here)")
    print("looked in, in order: " + ", ".join(where))
    reports = data.inspect_files(args.data_dir, verify, getattr(args, "name", None) or None)
    for r in reports:
        size = _human_bytes(r.path.stat().st_size) if r.path else "-"
        where = str(r.path) if r.path else _how_to_get(r.dataset, r.filename)
        print(f"{r.dataset:<14}{r.filename:<28}{size:>10}  {r.status:<32}{where}")
    if not verify:
        print("licences:")
        for name, terms in data.LICENCES.items():
            print(f"  {name:<14}{terms}")
    bad = [str(r.path) for r in reports if not r.ok]
    if bad:
        raise AAEError(f"{len(bad)} file(s) are not the upstream files: {', '.join(bad)}")
    return 0


def _data_download(name: str, data_dir: str | None) -> int:
    from aae import data

    if name == "tfd":
        raise AAEError(data.TFD_HOW_TO_GET)
    folder, files = data.DOWNLOADS[name]
    # with --data-dir the files go there, so only that folder counts as already having them
    search = [Path(data_dir)] if data_dir else None
    for filename in files:
        path = data.find_file(folder, filename, data_dir, download_dir=data_dir, search=search, progress=None)
        print(f"{folder}/{filename}: {path} (verified)")
    return 0


def _how_to_get(dataset: str, filename: str) -> str:
    from aae.data.catalog import download_name

    name = download_name(dataset, filename)
    return f"aae data download {name}" if name else f"on request only: put it in <data-dir>/{dataset}/"


def _human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.2f} GiB"


def cmd_eval(args) -> int:
    from aae.runs import evaluate, load_run, parzen_run, run_splits, update_summary

    if args.n_samples < 1:
        raise AAEError(f"--n-samples must be >= 1, got {args.n_samples}")
    run = load_run(args.run)
    splits = run_splits(run, args.data_dir)
    results = evaluate(run, splits, args.seed)
    if args.parzen:
        results.update(parzen_run(run, splits, args.n_samples, args.seed))
    update_summary(run.path, results)
    for k, v in results.items():
        print(f"  {k}: {v:.6g}" if isinstance(v, float) else f"  {k}: {v}")
    print(f"updated {run.path / 'summary.json'}")
    return 0


def cmd_report(args) -> int:
    from aae.runs.report import write_report

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
    "encode": cmd_encode,
    "sample": cmd_sample,
    "classify": cmd_classify,
    "plot": cmd_plot,
    "eval": cmd_eval,
    "report": cmd_report,
    "data": cmd_data,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code = _run(args)
    if launched_by_torchrun():
        exit_now(code)  # see exit_now: gloo's threads can abort a normal interpreter exit
    return code


def _run(args: argparse.Namespace) -> int:
    try:
        return COMMANDS[args.command](args)
    except AAEError as e:
        print(f"error: {e}", file=sys.stderr)
        return getattr(e, "exit_code", 2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
