"""The one exception type for user errors: bad input, bad config, bad files.

The CLI prints its message without a traceback and exits with status 2; anything
else that escapes is a bug in aae.
"""


class AAEError(Exception):
    """A problem the user can fix (a path, a shape, a value); the message names it."""
