"""URL rules (pure and cheap to import): the scheme/host policy, origins, credential handling.

Credentials are split off a URL where the user hands it in (``split_credentials``) and travel
apart from it from then on, so no lock line, cache key or message can carry them. ``mask``
and ``scrub`` are the second line of defence for text that still might.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from torchpin.errors import UsageError

_DEFAULT_PORTS = {"http": 80, "https": 443}
# scheme://userinfo@ anywhere in a text: userinfo is everything up to the last '@' before the
# host, and may itself hold ':' (user:password) or be a bare token.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#\s@]*@)+")


# NamedTuples, not dataclasses: this module is on the offline lock's path, where each
# dataclass costs half a millisecond to create.
class Origin(NamedTuple):
    """Scheme, host and port: what a credential is given for (RFC 6454)."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


class Credential(NamedTuple):
    """A user name (possibly a token) and an optional password for one origin; never printed."""

    origin: Origin
    username: str
    password: str = ""

    def __repr__(self) -> str:  # a traceback with locals must not show the secret either
        return f"Credential({self.origin}, ****)"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.username, self.password) if s)


def origin(url: str) -> Origin:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return Origin(scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0))


def mask(url: str) -> str:
    """The URL with any userinfo (user, user:password or token) replaced, fit for messages."""
    return scrub(url)


def scrub(text: str) -> str:
    """Every ``scheme://userinfo@`` in a text masked: a token as user name is as secret as a password."""
    return _USERINFO.sub(lambda m: m["scheme"] + "****@", text)


def strip_credentials(url: str) -> str:
    """The URL without userinfo: locks never carry secrets (pip and uv read netrc / keyring)."""
    return split_credentials(url)[0]


def split_credentials(url: str) -> tuple[str, Credential | None]:
    """(URL without userinfo, the credential it carried for its origin)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    if not user and not password:
        return clean, None
    return clean, Credential(origin(clean), unquote(user), unquote(password))


def with_credential(url: str, credential: Credential | None) -> str:
    """The URL with the credential put back, for an installer's environment only (never argv or a file)."""
    if credential is None or origin(url) != credential.origin:
        return url

    parts = urlsplit(url)
    userinfo = quote(credential.username, safe="")
    if credential.password:
        userinfo += ":" + quote(credential.password, safe="")
    return urlunsplit((parts.scheme, f"{userinfo}@{parts.netloc}", parts.path, parts.query, parts.fragment))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_URL_HINT = "expected https://host[:port]/path"


def validate_url(url: str, what: str) -> str:
    """A URL the user gave: parseable, http(s), with a host and a valid port; else exit 2."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UsageError(f"{what} {mask(url)!r} is not a valid URL ({e})", hint=_URL_HINT) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{what} {mask(url)!r} is not an http(s) URL", hint=_URL_HINT)
    if port == 0:
        raise UsageError(f"{what} {mask(url)!r} has port 0", hint="give a port from 1 to 65535")
    return url


def allowed(url: str, trusted_hosts: Sequence[str]) -> str | None:
    """None when the policy lets torchpin fetch ``url``; otherwise why not.

    HTTPS anywhere; plain http only to loopback or a --trusted-host; nothing else.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return f"{scheme or 'scheme-less'} URLs are never fetched"
    host = (parts.hostname or "").lower()
    if not host:
        return "no host"
    if scheme == "https":
        return None
    if is_loopback(host) or host in {h.lower() for h in trusted_hosts}:
        return None  # plain http, allowed
    return f"plain http to {host} (not loopback, not a --trusted-host)"


def refusal_hint(url: str, where: str = "") -> str:
    """The way out of a refusal by ``allowed``: https, or trusting a plain-http host."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "http" and parts.hostname:
        return f"use https, or pass --trusted-host {parts.hostname}{where}"
    return "use https"


def plain_http_hosts(urls: Sequence[str]) -> set[str]:
    """The hosts reached over plain http (which ``allowed`` let through): pip must be told to trust them."""
    return {h for u in urls if urlsplit(u).scheme.lower() == "http" and (h := urlsplit(u).hostname)}


def check_all(urls: Sequence[str], trusted_hosts: Sequence[str], what: str, where: str = "") -> None:
    """``allowed`` for URLs leaving torchpin (into a lock, to pip or uv): exit 2 naming the first
    refused; ``where`` says which command's --trusted-host would let it through."""
    for url in urls:
        if why := allowed(url, trusted_hosts):
            raise UsageError(f"{what} {mask(url)[:200]}: {why}; refused", hint=refusal_hint(url, where))


def refusals(urls: Sequence[str], trusted_hosts: Sequence[str]) -> list[str | None]:
    """``allowed`` for many URLs (a page's links): the policy looks at scheme and host only, so
    each origin is judged once."""
    seen: dict[str, str | None] = {}
    out = []
    for url in urls:
        head = "/".join(url.split("/", 3)[:3])
        if head not in seen:
            seen[head] = allowed(head + "/", trusted_hosts)
        out.append(seen[head])
    return out


def check_scheme(url: str, trusted_hosts: Sequence[str]) -> None:
    """The policy for a URL the user gave: exit 2 with the fix when it is refused."""
    why = allowed(url, trusted_hosts)
    if why is None:
        return
    scheme = urlsplit(url).scheme.lower()
    host = urlsplit(url).hostname or ""
    raise UsageError(
        f"{mask(url)}: {why}; refused",
        hint=f"use https://, or allow the host with --trusted-host {host}" if scheme == "http" else "use https://",
    )
