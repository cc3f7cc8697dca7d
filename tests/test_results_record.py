"""The research record under results/ holds together (no training, only the files).

- results/README.md's table names every folder of results/, and every script it says wrote one
  exists;
- every ``results/...`` path that README.md, docs/ or the attempts table cites exists;
- the run folders under results/reproduce/runs/ follow the naming rule results/README.md states:
  ``<preset>-s<seed>`` (``<preset>-noshift-s<seed>``) for the runs ``benchmarks/reproduce.py``
  recorded, ``<table>-<N>-s<seed>[-suffix]`` for the run of row N of the attempts table's section
  ``<table>``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aae.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
README = RESULTS / "README.md"
ATTEMPTS = RESULTS / "reproduce" / "attempts.md"
RUNS = RESULTS / "reproduce" / "runs"

# results/README.md, "Notes": benchmarks/tfd_parzen.py writes here, and has no results yet
NOT_WRITTEN_YET = ("results/tfd_parzen",)

# the attempts table's sections (by the start of their heading) and the prefix of their run folders
SECTIONS = {
    "Components alone": "components",
    "Table 2, 100 labels": "table2",
    "Table 2, 1000 labels": "table2-1000",
    "Table 2, all labels": "table2-all",
    "Table 3": "table3",
    "Fig. 11": "fig11",
    "Table 1": "table1",
    "Fig. 7a": "fig7",
}

RUN_NAME = re.compile(r"^[a-z0-9-]+-s\d+(-[a-z0-9]+)?$")
# `runs/NAME`, not after `--out `, `--resume ` or `aae sweep run/show ` (where a command writes)
SHORT_RUN = re.compile(r"(?<![\w/.-])(?<!--out )(?<!--resume )(?<!sweep run )(?<!sweep show )runs/([A-Za-z0-9-]+)")


def _cells(line: str) -> list[str]:
    """The cells of one Markdown table row (``\\|`` inside a cell is not a separator)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def _folder_table() -> list[list[str]]:
    """The rows of results/README.md's table: folder | holds | written by | command | script exists?"""
    lines = README.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| folder |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    assert rows and all(len(r) == 5 for r in rows), "results/README.md: a table row without its 5 cells"
    return rows


def _placeholder(path: str) -> bool:
    """``results/<benchmark>/``, ``NAME.md``, ``{md,json}``, ``...``: a pattern, not a path."""
    return bool(re.search(r"[<>{}]|\.\.\.|[A-Z]{3,}", path))


def _exists(path: str) -> bool:
    """``path`` (relative to the repository) exists; ``*`` and a seed written ``-sS`` must match one."""
    pattern = re.sub(r"-sS(?=[/-]|$)", "-s[0-9]*", path.rstrip("/"))
    if any(ch in pattern for ch in "*?["):
        return any(ROOT.glob(pattern))
    return (ROOT / pattern).exists()


def _cited_results_paths(text: str) -> set[str]:
    """Every ``results/...`` path in ``text`` (``../results/...`` in a page's links as well)."""
    found = set()
    for m in re.finditer(r"(?<![\w/.-])(?:\.\./)*(results/[^\s`'\"()\[\]|,;:]*)", text):
        path = m.group(1).rstrip(".")
        if path != "results/" and not _placeholder(path):
            found.add(path)
    return found


def _attempt_rows() -> dict[str, set[int]]:
    """Run-folder prefix -> the row numbers of its section of the attempts table."""
    rows: dict[str, set[int]] = {}
    prefix = None
    for line in ATTEMPTS.read_text().splitlines():
        if line.startswith("## "):
            heading = line[3:]
            prefix = next((p for h, p in SECTIONS.items() if heading.startswith(h)), None)
            assert prefix is not None, f"attempts.md: a section this test does not know: {heading!r}"
            rows.setdefault(prefix, set())
        elif prefix and (m := re.match(r"\| (\d+) \|", line)):
            rows[prefix].add(int(m.group(1)))
    return rows


def test_every_results_folder_is_in_the_readme_table_and_only_those():
    folders = {p.name for p in RESULTS.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    listed = {r[0].strip("`").rstrip("/") for r in _folder_table()}
    assert folders - listed == set(), "folders of results/ that results/README.md's table does not name"
    assert listed - folders == set(), "rows of results/README.md's table for folders that are not there"


def test_every_script_the_readme_table_names_exists():
    missing = []
    for row in _folder_table():
        folder, written_by, exists = row[0], row[2], row[4]
        targets = [t for t in re.findall(r"\]\(([^)]+)\)", written_by) if not _placeholder(t)]
        missing += [f"{folder}: {t}" for t in targets if not (RESULTS / t).resolve().exists()]
        for name in re.findall(r"`([^`\s]+\.(?:py|sh|toml))`", written_by):
            if _placeholder(name):
                continue
            if name.startswith("benchmarks/"):
                found = (ROOT / name).exists()
            elif "/" in name:
                found = (ROOT / "benchmarks" / name).exists()
            else:
                found = any((ROOT / "benchmarks").rglob(name))
            if not found:
                missing.append(f"{folder}: {name}")
        if exists.lower().startswith("no") or "removed" in exists:
            missing.append(f"{folder}: written by a script that does not exist ({exists})")
    assert missing == []


@pytest.mark.parametrize(
    "page", ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))]
)
def test_every_results_path_a_page_cites_exists(page):
    cited = _cited_results_paths((ROOT / page).read_text())
    missing = sorted(p for p in cited if not _exists(p) and not p.startswith(NOT_WRITTEN_YET))
    assert missing == [], f"{page} cites results that are not in the repository"


def test_every_run_folder_the_attempts_table_cites_exists():
    text = ATTEMPTS.read_text()
    cited = {p for p in _cited_results_paths(text) if not p.startswith(NOT_WRITTEN_YET)}
    # the table also writes them short, as `runs/NAME/` (but `--out runs/...`, `runs/reproduce/...`
    # and `runs/sweep-...` are where a command trains, not results)
    for m in SHORT_RUN.finditer(text):
        name = m.group(1)
        if name != "reproduce" and not name.startswith("sweep-") and not _placeholder(name):
            cited.add(f"results/reproduce/runs/{name}")
    # and as the rest of a list: (`results/reproduce/runs/A/`, `B/`, `C/`)
    for m in re.finditer(r"`results/reproduce/runs/[A-Za-z0-9-]+/`((?:, `[A-Za-z0-9-]+/`)+)", text):
        cited.update(f"results/reproduce/runs/{n}" for n in re.findall(r"`([A-Za-z0-9-]+)/`", m.group(1)))
    assert sorted(p for p in cited if not _exists(p)) == []


def test_run_folders_follow_the_naming_rule():
    rows = _attempt_rows()
    prefixes = sorted(rows, key=len, reverse=True)  # table2-1000 before table2
    wrong = []
    for run in sorted(p for p in RUNS.iterdir() if p.is_dir()):
        name = run.name
        if not RUN_NAME.match(name):
            wrong.append(f"{name}: not <name>-s<seed>[-suffix]")
            continue
        preset = re.fullmatch(r"(.+?)(?:-noshift)?-s(\d+)", name)
        attempt = next(
            (m for p in prefixes if (m := re.fullmatch(rf"({re.escape(p)})-(\d+)-s(\d+)(?:-[a-z0-9]+)?", name))),
            None,
        )
        if attempt:
            if int(attempt.group(2)) not in rows[attempt.group(1)]:
                wrong.append(f"{name}: attempts.md has no row {attempt.group(2)} in its {attempt.group(1)} section")
            seed = int(attempt.group(3))
        elif preset and preset.group(1) in PRESETS:
            seed = int(preset.group(2))
        else:
            wrong.append(f"{name}: neither <preset>-s<seed> nor <table>-<N>-s<seed>")
            continue
        config = run / "config.json"
        if config.is_file() and json.loads(config.read_text()).get("seed") != seed:
            wrong.append(f"{name}: its config.json has another seed")
    assert wrong == []
