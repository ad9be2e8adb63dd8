"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError


def write_atomic(path: Path, text: str) -> None:
    """Write text to a temp file beside ``path``, fsync, then rename over it."""
    write_atomic_bytes(path, text.encode("utf-8"))


def write_atomic_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write bytes to a temp file beside ``path``, fsync, then rename over it.

    ``mode`` fixes the permissions (the cache's 0600); otherwise an existing file keeps its
    mode and a new one gets the umask's.
    """
    import tempfile  # with shutil, random and the compressors: ~8 ms a run that writes nothing needn't pay

    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            tmp.chmod(mode)
        elif path.exists():
            tmp.chmod(path.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o666 & ~umask)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_user_file(path: Path, text: str) -> Path:
    """Write a file the user named with ``-o``: atomically, through a symlink, errors naming their path.

    A symlink is written through (its target is replaced), as editors do, so a link into a
    dotfiles repository stays a link. A device, FIFO or pipe (``/dev/stdout``, itself a link to
    ``/proc/self/fd/1``) is written into, never renamed over. Returns the path really written.
    """
    given = Path(path)
    if given.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory", hint="give a file name with -o")
    special = given.exists() and not given.is_file()
    # A pipe's /proc link resolves to no path ("pipe:[…]"): open the name given, the kernel follows it.
    real = given if special or not given.is_symlink() else Path(os.path.realpath(given))
    try:
        if special:
            with given.open("w", encoding="utf-8") as f:
                f.write(text)
        else:
            write_atomic(real, text)
    except OSError as e:
        # strerror, not str(e): the latter names the temp file, which the user never chose.
        why = e.strerror or type(e).__name__
        if e.filename and Path(e.filename) != real and Path(e.filename).parent == real.parent and real.parent.is_dir():
            why = f"{real.parent} takes no new file ({why}): a lock is written beside its target, then renamed"
        raise UsageError(
            f"cannot write {path}: {why}",
            hint="check that its directory exists and is writable; nothing was written",
        ) from None
    return real
