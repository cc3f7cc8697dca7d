"""The one exception type for user errors: bad input, bad config, bad files.

The CLI prints its message without a traceback and exits with status 2; anything
else that escapes is a bug in aae.
"""

import sys
from typing import NoReturn


class AAEError(Exception):
    """A problem the user can fix (a path, a shape, a value); the message names it. The CLI exits
    with ``exit_code``: 2, or 128 + signal number for training stopped by a signal."""

    exit_code: int = 2


def exit_on_error(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with status 2, as the CLI does; for scripts
    (the benchmarks) that refuse their input the same way."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)
