"""Where the embedded snapshot is, read by the commands and by shell completion."""

from __future__ import annotations

from pathlib import Path

from torchpin.errors import SnapshotError


def snapshot_bytes() -> bytes:
    # A path beside the package, not importlib.resources (+10 ms of imports): torchpin is never
    # run from a zip. Installed, the snapshot is torchpin/data/; in a checkout (an editable
    # install), the package is resolver/ and the snapshot data/ beside it.
    package = Path(__file__).parents[1]
    error: OSError | None = None
    for path in (package / "data" / "wheel_index.json", package.parent / "data" / "wheel_index.json"):
        try:
            return path.read_bytes()
        except OSError as e:
            error = error or e
    why = error.strerror if error else "not found"
    raise SnapshotError(f"the embedded snapshot is missing ({why})", hint="reinstall torchpin")
