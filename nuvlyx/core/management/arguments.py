"""argparse types shared by the operator commands: a bad value is refused before the command runs.

Called from the shell, argparse prints `manage.py <cmd>: error: argument --x: …` on stderr and exits
2; through call_command it raises CommandError with the same message. Nothing has been written yet.
"""

import argparse
from collections.abc import Callable

# PostgreSQL `integer` (Django's IntegerField / PositiveIntegerField): the largest value a column holds.
PG_INTEGER_MAX = 2_147_483_647


def bounded_int(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse `type`: an integer in [minimum, maximum], or a one-line error naming the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between {minimum} and {maximum}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in some messages
    return parse
