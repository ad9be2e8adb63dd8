"""The page cache (edge): one file pair per URL, keyed by the credential-free URL, private to the user.

Bodies and validators are written atomically (a concurrent run sees a whole entry or none);
anything wrong with an entry (a directory in its place, a read-only cache) only costs speed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .files import write_atomic_bytes
from .urls import strip_credentials


def default_cache_dir(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    if "TORCHPIN_CACHE_DIR" in env:
        return Path(env["TORCHPIN_CACHE_DIR"])
    if os.name == "nt":
        return Path(env.get("LOCALAPPDATA", Path.home())) / "torchpin" / "Cache"
    if (Path.home() / "Library" / "Caches").is_dir():
        return Path.home() / "Library" / "Caches" / "torchpin"
    return Path(env.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "torchpin"


class PageCache:
    """One cached page: body plus validators, each file written atomically and private (0600)."""

    def __init__(self, root: Path, url: str) -> None:
        url = strip_credentials(url)  # no secret in a key or a file, whatever the caller passed
        key = hashlib.sha256(url.encode()).hexdigest()[:32]
        self.root = root
        self.meta_path = root / "pages" / f"{key}.json"
        self.body_path = root / "pages" / f"{key}.body"
        self.url = url

    def load(self) -> dict[str, Any] | None:
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(meta, dict) or meta.get("url") != self.url or not self.body_path.is_file():
            return None
        return meta

    def body(self) -> bytes | None:
        try:
            return self.body_path.read_bytes()
        except OSError:
            return None

    def discard(self) -> None:
        for path in (self.meta_path, self.body_path):
            # A directory squatting on the name stays: save() then fails quietly, load() misses.
            with contextlib.suppress(OSError):
                path.unlink()

    def save(self, body: bytes, etag: str | None, last_modified: str | None, ctype: str) -> None:
        if not (etag or last_modified):
            return  # nothing to revalidate with
        try:
            _private_dir(self.root)
            _private_dir(self.meta_path.parent)
            write_atomic_bytes(self.body_path, body, mode=0o600)
            meta = {"url": self.url, "etag": etag, "last_modified": last_modified, "content_type": ctype}
            write_atomic_bytes(self.meta_path, json.dumps(meta).encode(), mode=0o600)
        except OSError:
            pass  # a read-only cache only costs speed


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
