"""MkDocs hooks for this site.

- ``on_files``: every figure under the repository's ``results/`` (``results/<benchmark>/*.png``)
  joins the site at the same path, so the pages link to the figures the benchmarks write
  (``../results/core/gaussian-2d-latent.png``) without a copy of them in ``docs/``.
- ``on_page_content``: the docstrings cross-reference names with Sphinx roles
  (``:class:`~aae.networks.Standardize```, ``:func:`aae.data.as_float```), which mkdocstrings
  prints as they are. Each role becomes plain code: ``Standardize``, ``aae.data.as_float``
  (a leading ``~`` keeps the last dotted part only, as in Sphinx). The hook runs on the
  rendered HTML, after mkdocstrings and before the search index is built, so neither the
  pages nor the search show the roles.
- ``on_page_markdown``: a page holding the marker ``<!-- aae-cli-reference -->`` (the
  command-line page) gets, in its place, the ``--help`` of ``aae`` and of every subcommand,
  rendered from ``aae.cli.build_parser()`` when the site is built, so the reference cannot
  drift from the parser.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"

CLI_MARKER = "<!-- aae-cli-reference -->"
HELP_COLUMNS = 100  # the width argparse wraps the help to

ROLES = r"(?::py)?:(?:class|func|meth|attr|mod|data|exc|obj|const|type|ref)"
# as rendered by Markdown (the backticks became <code>) and as left in code or plain text
ROLE_HTML = re.compile(ROLES + r":<code>([^<]*)</code>")
ROLE_RAW = re.compile(ROLES + r":`([^`]*)`")


def on_files(files, config):
    for png in sorted(RESULTS.rglob("*.png")):
        files.append(
            File(
                png.relative_to(ROOT).as_posix(),
                src_dir=str(ROOT),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


def role_text(target: str) -> str:
    """What Sphinx would show for a role's target: ``~a.b.C`` -> ``C``, ``title <a.b.C>`` -> ``title``."""
    target = html.unescape(target).strip()
    titled = re.fullmatch(r"(.+?)\s*<([^<>]+)>", target)
    if titled:
        return titled.group(1)
    target = target.lstrip("!")
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return target


def plain_roles(text: str) -> str:
    """``text`` with every Sphinx cross-reference role replaced by ``<code>`` of its name."""
    text = ROLE_HTML.sub(lambda m: f"<code>{html.escape(role_text(m.group(1)), quote=False)}</code>", text)
    return ROLE_RAW.sub(lambda m: f"<code>{html.escape(role_text(m.group(1)), quote=False)}</code>", text)


def on_page_content(html_text, page, config, files):
    return plain_roles(html_text)


def _subcommands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser``'s subcommand parsers, depth first (``aae data`` before ``aae data list``)."""
    found = []
    for action in parser._actions:  # argparse keeps its subparsers here, and nowhere public
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += [sub, *_subcommands(sub)]
    return found


def cli_reference(level: int = 3) -> str:
    """Markdown: one heading (``###``) and one ``text`` block of ``--help`` per command of ``aae``."""
    try:
        from aae.cli import build_parser
    except ImportError:  # building from a checkout that is not installed
        sys.path.insert(0, str(ROOT / "src"))
        from aae.cli import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_COLUMNS)
    try:
        parser = build_parser()
        parts = []
        for p in [parser, *_subcommands(parser)]:
            parts.append(f"{'#' * level} `{p.prog}`\n\n```text\n{p.format_help().rstrip()}\n```\n")
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(parts)


def on_page_markdown(markdown, page, config, files):
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return markdown
