import base64
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
    with pytest.raises(AAEError, match="run directory not found"):
        build_report(tmp_path / "missing")
    with pytest.raises(AAEError, match="not a run directory"):
        build_report(tmp_path)
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(AAEError, match="not valid JSON"):
        build_report(tmp_path)
