"""Package index pages → wheel links (pure): PEP 503 HTML, PEP 691 JSON, flat listings.

Parsing never raises anything but ``IndexFormatError`` (the fuzz test holds it to that).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import InvalidWheelFilename

from torchpin.errors import IndexFormatError

from .wheels import wheel_parts

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class Link:
    """One file on an index page."""

    filename: str
    url: str  # absolute, without the #fragment
    sha256: str | None = None
    requires_python: str | None = None
    metadata_sha256: str | None = None  # PEP 658/714: a .metadata sidecar exists
    has_metadata: bool = False
    yanked: str | None = None  # the reason, "" when yanked without one
    upload_time: str | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


def parse_page(body: bytes, content_type: str, url: str, *, dropped: list[str] | None = None) -> list[Link]:
    """Pick the parser from what the server says it sent, not from what was asked for.

    Links that can't be trusted (see ``_checked_name``) are left out and described in ``dropped``.
    """
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in (JSON_TYPE, "application/json"):
        return parse_json(body, url, dropped=dropped)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise IndexFormatError(url, "page is not UTF-8 text") from None
    return parse_html(text, url, dropped=dropped)


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], list[str]]] = []
        self.closed = False
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._text = []
            self.anchors.append((dict(attrs), self._text))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._text = None
        elif tag in ("html", "body"):
            self.closed = True

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def parse_html(text: str, url: str, *, flat: bool = False, dropped: list[str] | None = None) -> list[Link]:
    """A PEP 503 project page, or (``flat``) a directory listing of wheels (find-links mirrors).

    A page that never closes ``</body>`` or ``</html>`` was cut off in transit: every index
    torchpin knows writes them, and a silently shortened file list would be worse than an error.
    """
    parser = _Anchors()
    try:
        parser.feed(text)
        parser.close()
    except Exception as e:  # HTMLParser raises assorted errors on hostile input
        raise IndexFormatError(url, f"unreadable HTML ({type(e).__name__})") from None
    if not parser.closed:
        raise IndexFormatError(url, "page ends early (no </body> or </html>): truncated?")
    links = []
    sink = [] if dropped is None else dropped
    for attrs, text_parts in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        link = _link(url, href, "".join(text_parts).strip(), attrs, sink)
        if link and (not flat or link.is_wheel):
            links.append(link)
    return links


def parse_json(body: bytes | str, url: str, *, dropped: list[str] | None = None) -> list[Link]:
    """A PEP 691 project page."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: a bomb of nested brackets
        raise IndexFormatError(url, "JSON page is not valid JSON") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, list):
        raise IndexFormatError(url, "JSON page has no 'files' list")
    links = []
    sink = [] if dropped is None else dropped
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise IndexFormatError(url, "a JSON file entry has no 'url'")
        where = _absolute(url, entry["url"])
        absolute = where.url
        claimed = entry.get("filename")
        filename = _checked_name(where, claimed if isinstance(claimed, str) else None, sink)
        if filename is None:
            continue
        hashes = entry["hashes"] if isinstance(entry.get("hashes"), dict) else {}
        meta = entry.get("core-metadata", entry.get("dist-info-metadata"))
        yanked = entry.get("yanked")
        links.append(
            Link(
                filename=filename,
                url=absolute,
                sha256=_hex(hashes.get("sha256")),
                requires_python=_str(entry.get("requires-python")),
                metadata_sha256=_hex(meta.get("sha256")) if isinstance(meta, dict) else None,
                has_metadata=bool(meta),
                yanked=(yanked if isinstance(yanked, str) else "") if yanked else None,
                upload_time=_str(entry.get("upload-time")),
            )
        )
    return links


def _link(page_url: str, href: str, text: str, attrs: dict[str, str | None], dropped: list[str]) -> Link | None:
    where = _absolute(page_url, href)
    absolute, fragment = where.url, where.fragment
    filename = _checked_name(where, text if text.endswith(ARCHIVES) else None, dropped)
    if not filename:
        return None
    sha256 = None
    if fragment.startswith("sha256="):
        sha256 = _hex(fragment[len("sha256=") :])
    meta = attrs.get("data-core-metadata") or attrs.get("data-dist-info-metadata")
    yanked = attrs.get("data-yanked")
    return Link(
        filename=filename,
        url=absolute,
        sha256=sha256,
        requires_python=attrs.get("data-requires-python") or None,
        metadata_sha256=_hex(meta[len("sha256=") :]) if meta and meta.startswith("sha256=") else None,
        has_metadata=meta is not None and meta != "false",
        yanked=(yanked or "") if "data-yanked" in attrs else None,
        upload_time=attrs.get("data-upload-time"),
    )


ARCHIVES = (".whl", ".tar.gz", ".zip")


def _checked_name(where: _Url, claimed: str | None, dropped: list[str]) -> str | None:
    """The file name a link really points at: its URL path's last segment, decoded once.

    The link text (or JSON 'filename') is only a claim: one that disagrees with the URL means
    the page lies about what would be installed. Names that could escape a directory, and
    wheel names that don't parse, are dropped too; each drop is described in ``dropped``.
    """
    # Which schemes and hosts may be fetched is the URL policy's to say (net.urls.allowed), for
    # every link of every page at once: the parser judges names only.
    name = _basename(where.path)
    if name.endswith("/"):  # a folder (root and variant listings)
        return name if _safe(name[:-1]) else None
    if not name:
        return None
    if claimed is not None and claimed != name:
        dropped.append(f"link text {claimed[:80]!r} but the URL's file is {name[:80]!r}")
        return None
    if not _safe(name):
        dropped.append(f"unsafe file name {name[:80]!r}")
        return None
    if name.endswith(".whl"):
        try:
            wheel_parts(name)
        except (InvalidWheelFilename, ValueError):
            dropped.append(f"not a valid wheel name {name[:80]!r}")
            return None
    return name


def _safe(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\0") and name.isprintable()


class _Url(NamedTuple):
    url: str  # absolute, no fragment, no userinfo
    fragment: str
    path: str


def _absolute(page_url: str, href: str) -> _Url:
    """Resolve against the page (links may point at another host) and split off the fragment;
    the URL is parsed once.

    Userinfo in a link is dropped: credentials come from the user, never from a page.
    """
    try:
        full = urljoin(page_url, href.strip())
        parts = urlsplit(full)
    except ValueError:  # an unparseable netloc ('http://[x')
        return _Url("invalid:", "", "")
    netloc = parts.netloc.rpartition("@")[2]
    return _Url(parts._replace(netloc=netloc, fragment="").geturl(), parts.fragment, parts.path)


def _basename(path: str) -> str:
    """The file name in a URL path; a folder link keeps its trailing slash (``cu126/``)."""
    # '+' arrives as %2B (S3) or &#43; (already unescaped by the parser).
    if path.endswith("/") and path.strip("/"):
        return unquote(path.rstrip("/").rsplit("/", 1)[-1]) + "/"
    return unquote(path.rsplit("/", 1)[-1])


def _hex(value: Any) -> str | None:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
