"""The page cache (edge): one file pair per URL, keyed by the credential-free URL, private to the user.

Bodies and validators are written atomically (a concurrent run sees a whole entry or none);
anything wrong with an entry (a directory in its place, a read-only cache) only costs speed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import astuple
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchpin.files import write_atomic_bytes

from .urls import strip_credentials

if TYPE_CHECKING:
    from collections.abc import Sequence

    from torchpin.facts.simple import Link


def _write_private(path: Path, data: bytes) -> None:
    write_atomic_bytes(path, data, mode=0o600)


def default_cache_dir(env: Mapping[str, str]) -> Path:
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
        self.parsed_path = root / "pages" / f"{key}.links"
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

    def parsed(self, body: bytes) -> tuple[list[Link], list[str]] | None:
        """The kept parse of exactly this body (links before any policy filter, and the notes)."""
        from torchpin.facts.simple import Link

        try:
            doc = json.loads(self.parsed_path.read_bytes())
            if doc.get("digest") != hashlib.sha256(body).hexdigest():
                return None
            return [Link(*row) for row in doc["links"]], [str(d) for d in doc["dropped"]]
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None

    def keep_parsed(self, body: bytes, links: Sequence[Link], dropped: Sequence[str]) -> None:

        doc = {
            "digest": hashlib.sha256(body).hexdigest(),
            "links": [astuple(link) for link in links],
            "dropped": list(dropped),
        }
        with contextlib.suppress(OSError):
            _write_private(self.parsed_path, json.dumps(doc).encode())

    def discard(self) -> None:
        for path in (self.meta_path, self.body_path, self.parsed_path):
            # A directory squatting on the name stays: save() then fails quietly, load() misses.
            with contextlib.suppress(OSError):
                path.unlink()

    def save(
        self,
        body: bytes,
        etag: str | None,
        last_modified: str | None,
        ctype: str,
        *,
        max_age: float | None = None,
        absent: bool = False,
    ) -> None:
        """Store a page (or, with ``absent``, the index's answer that there is none) with the time it
        was fetched and the server's max-age, if it gave one."""
        if not (etag or last_modified or max_age or absent):
            return  # nothing to revalidate with, and the server said nothing about freshness
        try:
            _private_dir(self.root)
            _private_dir(self.meta_path.parent)
            _write_private(self.body_path, body)
            meta = {
                "url": self.url,
                "etag": etag,
                "last_modified": last_modified,
                "content_type": ctype,
                "fetched": time.time(),
                "max_age": max_age,
                "absent": absent,
            }
            _write_private(self.meta_path, json.dumps(meta).encode())
        except OSError:
            pass  # a read-only cache only costs speed

    def touch(self, meta: dict[str, Any]) -> None:
        """The index confirmed the copy (304): it is fresh again from now."""
        with contextlib.suppress(OSError):
            _write_private(self.meta_path, json.dumps({**meta, "fetched": time.time()}).encode())


def fresh(meta: dict[str, Any], default_max_age: float, now: float | None = None) -> bool:
    """May the copy be used without asking the index? Up to ``default_max_age`` (the user's limit),
    and never past the server's own max-age when it gave one (``no-cache`` is 0). A clock set
    back makes nothing fresh."""
    fetched, server = meta.get("fetched"), meta.get("max_age")
    if not isinstance(fetched, int | float) or isinstance(fetched, bool):
        return False
    said = isinstance(server, int | float) and not isinstance(server, bool)
    limit = min(float(server), default_max_age) if said and server is not None else default_max_age
    age = (time.time() if now is None else now) - fetched
    return 0 <= age < limit


def max_age(cache_control: str | None) -> float | None:
    """Seconds a response may be reused by its Cache-Control (None: it doesn't say; 0: revalidate)."""
    if not cache_control:
        return None
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if any(d in ("no-cache", "no-store") or d.startswith("no-cache=") for d in directives):
        return 0.0
    for d in directives:
        if d.startswith("max-age="):
            try:
                return max(0.0, float(d.split("=", 1)[1].strip('"')))
            except ValueError:
                return 0.0
    return None


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
