"""Fetch index pages (edge): concurrent, cached with revalidation, retried, size-capped.

Only this module talks HTTP. Every URL in a message goes through ``mask`` first.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import IndexFormatError, IndexUnavailable, UsageError
from .files import write_atomic_bytes
from .simple import Link, parse_html, parse_page
from .urls import DEFAULT_INDEX, check_scheme, mask

if TYPE_CHECKING:
    import ssl

    import httpx
ACCEPT = "application/vnd.pypi.simple.v1+json;q=0.5, text/html;q=0.9"  # the real index ignores it


@dataclass(frozen=True)
class IndexConfig:
    """Where pages come from and how hard to try."""

    base_url: str = DEFAULT_INDEX
    find_links: str | None = None  # flat mirror root: <find_links>/<variant>/ lists wheels
    trusted_hosts: tuple[str, ...] = ()
    cert: str | None = None
    cache_dir: Path | None = None
    refresh: bool = False
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.2
    max_bytes: int = 32 * 1024 * 1024

    def page_url(self, variant: str, project: str) -> str:
        if self.find_links:
            return f"{self.find_links.rstrip('/')}/{variant}/"
        return f"{self.base_url.rstrip('/')}/{variant}/{project}/"


@dataclass(frozen=True)
class Page:
    """One fetched page: its wheel links, or None when the index has no such page (403/404)."""

    url: str
    links: tuple[Link, ...] | None
    cached: bool = False  # answered 304: the cached body was used


@dataclass
class FetchStats:
    requests: int = 0
    full: int = 0
    not_modified: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)


def default_cache_dir(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    if "TORCHPIN_CACHE_DIR" in env:
        return Path(env["TORCHPIN_CACHE_DIR"])
    if os.name == "nt":
        return Path(env.get("LOCALAPPDATA", Path.home())) / "torchpin" / "Cache"
    if (Path.home() / "Library" / "Caches").is_dir():
        return Path.home() / "Library" / "Caches" / "torchpin"
    return Path(env.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "torchpin"


class IndexClient:
    """Fetches many pages at once; one instance per command."""

    def __init__(self, config: IndexConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.transport = transport
        self.stats = FetchStats()

    def fetch(self, urls: Sequence[str]) -> dict[str, Page]:
        """Fetch every URL concurrently; raise IndexUnavailable / IndexFormatError on the first failure."""
        import asyncio  # only a live lock pays for asyncio (~30 ms)

        for url in urls:
            check_scheme(url, self.config.trusted_hosts)
        return asyncio.run(self._fetch_all(list(dict.fromkeys(urls))))

    async def _fetch_all(self, urls: list[str]) -> dict[str, Page]:
        import asyncio

        import httpx

        timeout = httpx.Timeout(self.config.timeout, connect=min(self.config.timeout, 10.0))
        async with httpx.AsyncClient(
            timeout=timeout,
            verify=self._verify(),
            transport=self.transport,
            follow_redirects=True,
            auth=_netrc_auth(),
            limits=httpx.Limits(max_connections=32),
            headers={"Accept": ACCEPT, "User-Agent": "torchpin"},
        ) as client:
            pages = await asyncio.gather(*(self._fetch_one(client, u) for u in urls))
        return dict(zip(urls, pages, strict=True))

    def _verify(self) -> ssl.SSLContext | bool:
        import ssl

        cafile = self.config.cert or os.environ.get("PIP_CERT") or os.environ.get("REQUESTS_CA_BUNDLE")
        if not cafile:
            return True  # httpx: certifi, or SSL_CERT_FILE / SSL_CERT_DIR
        try:
            return ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as e:
            raise UsageError(
                f"cannot load the CA bundle {cafile}: {e}", hint="fix --cert / PIP_CERT / REQUESTS_CA_BUNDLE"
            ) from None

    async def _fetch_one(self, client: httpx.AsyncClient, url: str) -> Page:
        import asyncio

        import httpx

        cache = _Cache(self.config.cache_dir, url) if self.config.cache_dir else None
        cached = None if (cache is None or self.config.refresh) else cache.load()
        last = "no answer"
        for attempt in range(self.config.retries + 1):
            if attempt:
                self.stats.retries += 1
                await asyncio.sleep(min(self.config.backoff * 2 ** (attempt - 1), 2.0))
            headers = {}
            if cached:
                if cached["etag"]:
                    headers["If-None-Match"] = cached["etag"]
                if cached["last_modified"]:
                    headers["If-Modified-Since"] = cached["last_modified"]
            try:
                self.stats.requests += 1
                async with client.stream("GET", url, headers=headers) as response:
                    if response.status_code == 304 and cached and cache:
                        self.stats.not_modified += 1
                        return Page(url, tuple(self._parse(cache.body(), cached["content_type"], url)), cached=True)
                    if response.status_code in (403, 404):
                        return Page(url, None)
                    if response.status_code >= 500 or response.status_code == 429:
                        last = f"HTTP {response.status_code}"
                        continue
                    if response.status_code != 200:
                        raise IndexUnavailable(f"{mask(url)}: HTTP {response.status_code}")
                    body = await self._read_capped(response, url)
                    ctype = response.headers.get("content-type", "text/html")
                    self.stats.full += 1
                    try:
                        links = self._parse(body, ctype, url)
                    except IndexFormatError as e:
                        if "truncated" in e.message:
                            last = "the page was cut off"
                            continue  # a cut transfer is worth another try; a bad page is not
                        raise
                    if cache:
                        cache.save(body, response.headers.get("etag"), response.headers.get("last-modified"), ctype)
                    return Page(url, tuple(links))
            except httpx.ConnectError as e:
                last = _reason(e)
                if "resolve" in last:
                    break  # DNS failures do not heal in a second
            except httpx.TimeoutException:
                last = f"no answer within {self.config.timeout:g} s"
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
                last = "the connection was reset or closed early"
            except httpx.TransportError as e:
                last = _reason(e)
        tries = attempt + 1
        raise IndexUnavailable(f"{mask(url)}: {last} ({tries} {'try' if tries == 1 else 'tries'})")

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.config.max_bytes:
                raise IndexFormatError(mask(url), f"page is larger than {self.config.max_bytes // (1024 * 1024)} MiB")
            chunks.append(chunk)
        return b"".join(chunks)

    def _parse(self, body: bytes, ctype: str, url: str) -> list[Link]:
        if self.config.find_links:
            return parse_html(body.decode("utf-8", "replace"), mask(url), flat=True)
        return parse_page(body, ctype, mask(url))


def _reason(e: Exception) -> str:
    text = str(e) or type(e).__name__
    low = text.lower()
    if (
        "name or service not known" in low
        or "nodename nor servname" in low
        or "getaddrinfo" in low
        or "name resolution" in low
    ):
        return "cannot resolve the host name"
    if "refused" in low:
        return "connection refused"
    return text.splitlines()[0][:160]


def _netrc_auth() -> httpx.Auth | None:
    import httpx

    netrc = os.environ.get("NETRC") or str(Path.home() / ".netrc")
    if Path(netrc).is_file():
        try:
            return httpx.NetRCAuth(netrc)
        except Exception:  # a broken netrc must not stop a lock
            return None
    return None


class _Cache:
    """One cached page: body plus validators, each file written atomically."""

    def __init__(self, root: Path, url: str) -> None:
        key = hashlib.sha256(url.encode()).hexdigest()[:32]
        self.meta_path = root / "pages" / f"{key}.json"
        self.body_path = root / "pages" / f"{key}.body"
        self.url = url

    def load(self) -> dict[str, Any] | None:
        try:
            meta: dict[str, Any] = json.loads(self.meta_path.read_text())
            if meta.get("url") != self.url or not self.body_path.exists():
                return None
            return meta
        except (OSError, ValueError):
            return None

    def body(self) -> bytes:
        return self.body_path.read_bytes()

    def save(self, body: bytes, etag: str | None, last_modified: str | None, ctype: str) -> None:
        if not (etag or last_modified):
            return  # nothing to revalidate with
        try:
            self.meta_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic_bytes(self.body_path, body)
            meta = {"url": self.url, "etag": etag, "last_modified": last_modified, "content_type": ctype}
            write_atomic_bytes(self.meta_path, json.dumps(meta).encode())
        except OSError:
            pass  # a read-only cache only costs speed


def listed_variants(client: IndexClient) -> list[str]:
    """Variant folders the mirror's root page lists, for 'this mirror has …' messages."""
    import re

    root = (client.config.find_links or client.config.base_url).rstrip("/") + "/"
    try:
        links = client.fetch([root])[root].links or ()
    except (IndexUnavailable, IndexFormatError):
        return []
    names = {link.url.rstrip("/").rsplit("/", 1)[-1] for link in links}
    return sorted(n for n in names if re.fullmatch(r"cu\d{3,4}|rocm\d+(\.\d+){1,2}|cpu|xpu", n))
