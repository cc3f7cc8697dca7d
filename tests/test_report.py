import base64
import io
import json
import re

import pytest

from aae.cli import main
from aae.errors import AAEError
from aae.runs.report import build_report, write_report
from conftest import TINY, train_args

IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def test_report_embeds_everything(tiny_npz, tmp_path):
    out = tmp_path / "run"
    assert main(train_args(tiny_npz, out, 2, TINY)) == 0
    path = write_report(out)
    assert path == out / "report.html"
    page = path.read_text()
    images = IMG.findall(page)
    n_figures = len(list((out / "figures").glob("*.png")))
    assert n_figures == 4 and len(images) == n_figures + 1  # + the training curves
    assert all(base64.b64decode(b).startswith(b"\x89PNG\r\n\x1a\n") for b in images)
    # viewable offline: no reference to anything outside the file
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page and "<link" not in page
    summary = json.loads((out / "summary.json").read_text())
    assert f"{summary['recon_mse']:.6g}" in page
    assert page.count("<tr>") >= 1 + 2  # the per-epoch table's header and one row per epoch
    assert '"hidden": [' in page  # the config


def test_report_of_an_unfinished_run_and_escaping(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"name": "<script>alert(1)</script>"}))
    page = build_report(run)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "has not finished" in page and "No metrics.jsonl" in page and "No figures" in page


def test_report_errors_are_clear(tmp_path):
    with pytest.raises(AAEError, match="does not exist"):
        build_report(tmp_path / "missing")
    with pytest.raises(AAEError, match="not a run directory"):
        build_report(tmp_path)
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(AAEError, match="not valid JSON"):
        build_report(tmp_path)


def figure_texts(fig) -> dict:
    """The words a reader sees on a matplotlib figure: titles, axis labels, tick labels, legend entries."""
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    boxes = [ax.get_legend() for ax in axes if ax.get_legend()] + list(fig.legends)
    legends = [t.get_text() for box in boxes for t in box.get_texts()]
    ticks = [t.get_text() for ax in axes for t in ax.get_xticklabels() + ax.get_yticklabels()]
    return {
        "title": " ".join(ax.get_title() for ax in axes) + (fig._suptitle.get_text() if fig._suptitle else ""),
        "labels": " ".join(ax.get_xlabel() + " " + ax.get_ylabel() for ax in axes),
        "ticks": ticks,
        "xticks": [t.get_text() for t in axes[-1].get_xticklabels()],
        "legend": legends,
    }


@pytest.fixture
def drawn(monkeypatch):
    """Every figure saved while the test runs: file name -> its texts."""
    from matplotlib.figure import Figure

    seen = {}
    original = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        result = original(self, fname, *args, **kwargs)  # drawn: the tick labels are set
        seen[getattr(fname, "name", "curves")] = figure_texts(self)
        return result

    monkeypatch.setattr(Figure, "savefig", savefig)
    return seen


@pytest.mark.parametrize("model", ["aae", "autoencoder"])
def test_every_figure_stands_on_its_own(tiny_npz, tmp_path, drawn, model):
    out = tmp_path / "g2d"
    assert main(train_args(tiny_npz, out, 2, [*TINY, f"model={model}"])) == 0
    assert set(drawn) == {"latent.png", "samples.png", "reconstructions.png", "manifold.png"}
    for name, texts in drawn.items():
        assert f"run g2d (mnist-gaussian-2d), model {model}" in texts["title"], name
    legend = " ".join(drawn["latent.png"]["legend"])
    assert "samples of the prior" in legend and "test codes" in legend
    assert ("no regularization" in drawn["latent.png"]["title"]) == (model == "autoencoder")
    assert drawn["latent.png"]["labels"].split() == ["z[0]", "z[1]"]
    assert drawn["manifold.png"]["labels"].split()[:1] == ["z[0]"] and "z[1]" in drawn["manifold.png"]["labels"]
    assert "1.96" in drawn["manifold.png"]["ticks"] and "-1.96" in drawn["manifold.png"]["ticks"]
    assert drawn["reconstructions.png"]["ticks"][:2] == ["original", "reconstruction"]
    for name in ("samples.png", "reconstructions.png", "manifold.png"):
        from PIL import Image

        with Image.open(out / "figures" / name) as im:
            assert min(im.size) >= 560, (name, im.size)


def test_report_layout_curves_full_width_and_config_folded(tiny_npz, tmp_path, drawn):
    out = tmp_path / "run"
    assert main(train_args(tiny_npz, out, 3, TINY)) == 0
    page = build_report(out)
    curves = drawn["curves"]
    assert "model aae" in curves["title"] and "training curves" in curves["title"]
    assert curves["labels"].split().count("epoch") == 1  # shared, under the last panel
    assert {"recon_loss", "disc_loss", "gen_loss", "disc_acc"} <= set(curves["labels"].split())
    epochs = [t for t in curves["xticks"] if t]
    assert epochs and all(t.isdigit() for t in epochs), epochs  # whole epochs only
    wide = re.search(r'<figure class="wide"><img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(wide.group(1)))) as im:
        assert im.size[0] >= 1000 and im.size[1] >= 4 * 150  # full width, one readable panel per metric
    config = page[page.index("<h2>Config</h2>") :]
    assert config.index("<details>") < config.index('"hidden": [') < config.index("</details>")


def test_report_shows_a_classifiers_confusion_matrix(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "semisupervised", "epochs": 1}))
    counts = [[5, 1, 0], [0, 4, 2], [1, 0, 7]]
    (run / "summary.json").write_text(json.dumps({"test_error": 20.0, "test_confusion": counts}))
    page = write_report(run).read_text()
    assert "<h2>Confusion matrix</h2>" in page and "<b>7</b>" in page  # the diagonal in bold
    assert "<td>33.3</td>" in page  # class 1: 2 of 6 wrong
    assert "[[5, 1, 0]" not in page  # not dumped into the metrics table
