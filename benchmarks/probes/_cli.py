"""What the probes' command lines share: parse the arguments, run, and end an ``AAEError`` with one
``error:`` line and exit status 2, as ``aae`` does."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from aae.errors import AAEError, exit_on_error


def run(ap: argparse.ArgumentParser, report: Callable[[argparse.Namespace], None]) -> None:
    args = ap.parse_args()
    try:
        report(args)
    except AAEError as e:
        exit_on_error(str(e))
