"""Where the CLI's words go (edge): the lock to stdout or nowhere, one masked line to stderr, and
signals turned into a clean exit."""

from __future__ import annotations

import contextlib
import os
import sys

import click

from torchpin.errors import Interrupted, UsageError
from torchpin.net.urls import scrub


class OutputError(UsageError):
    """The lock could not be written where the user sent it: never exit 0."""


def write_stdout(text: str) -> None:
    """The lock to stdout, or an error: a closed or broken stdout must not pass for success."""
    stream = sys.stdout
    if stream is None:  # started with stdout closed (`torchpin lock >&-`)
        raise OutputError("cannot write the lock: stdout is closed", hint="redirect it to a file, or use -o FILE")
    try:
        stream.write(text)
        stream.flush()
    except OSError as e:
        silence_stdout()
        raise OutputError(
            f"cannot write the lock to stdout: {e.strerror or type(e).__name__}", hint="use -o FILE"
        ) from None


def silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def on_signal(signum: int, _frame: object) -> None:
    # Raised in the main thread, so every `finally` and atomic-write cleanup runs on the way out.
    raise Interrupted(signum)


def say(text: str) -> None:
    """One line to stderr with any URL credentials masked; never fails (stderr may be closed too)."""
    echo_err(text + "\n")


def echo_err(text: str) -> None:
    """Text to stderr as it is (the caller ends its lines), credentials masked; never fails."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        click.echo(scrub(text), err=True, nl=False)


def usage_line(e: click.UsageError) -> str:
    hint = f" (try '{e.ctx.command_path} --help')" if e.ctx else ""
    return f"torchpin: error: {e.format_message()}{hint}"
