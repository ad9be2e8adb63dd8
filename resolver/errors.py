"""The one error tree; every error carries the exit code the CLI contract gives it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Rejection


class TorchpinError(Exception):
    """Base of every error torchpin reports; ``exit_code`` follows the CLI contract."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(TorchpinError):
    """A flag, requirement or file the user gave is malformed or impossible."""

    exit_code = 2


class SnapshotError(TorchpinError):
    """The embedded wheel index is missing or does not match its schema."""

    exit_code = 4


class NoCompatibleBuild(TorchpinError):
    """No release/variant satisfies the requirements on the target; ``rejections`` are what
    ``--explain`` lists (``models.Rejection``, newest first)."""

    exit_code = 3
    rejections: tuple[Rejection, ...] = ()


class IndexUnavailable(TorchpinError):
    """The package index could not be reached or served a malformed page."""

    exit_code = 4


class IndexLacksPages(IndexUnavailable):
    """The index answered, without the pages the decision needs: a lock from the snapshot would
    name those very pages, so this is never a reason to fall back."""


class IndexFormatError(TorchpinError):
    """A page the index served is not a package page torchpin can read."""

    exit_code = 4

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"{url}: {detail}", hint="check --index-url / --find-links, or use --offline")
        self.url = url


class InstallFailed(TorchpinError):
    """The installer failed; the message says what is and isn't installed."""

    exit_code = 5


class VerifyFailed(TorchpinError):
    """At least one verification check failed."""

    exit_code = 6


class LockStale(TorchpinError):
    """``lock --check``: the lock is not what torchpin decides now (a newer build, a file gone or
    changed), or was edited since torchpin wrote it."""

    exit_code = 7


class Interrupted(BaseException):
    """SIGTERM (or another signal the CLI turns into an exit): not an Exception, so no ``except
    Exception`` on the way out swallows it, and every ``finally`` runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
