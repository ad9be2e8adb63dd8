"""URL rules (pure and cheap to import): the scheme/host policy, origins, credential handling.

Credentials are split off a URL where the user hands it in (``split_credentials``) and travel
apart from it from then on, so no lock line, cache key or message can carry them. ``mask``
and ``scrub`` are the second line of defence for text that still might.
"""

from __future__ import annotations

import binascii
import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from torchpin.errors import IndexUnavailable, UsageError

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


class PolicyRefused(IndexUnavailable):
    """The index pointed torchpin at a URL the scheme/host policy forbids (a redirect or a link)."""


class DeadlineExceeded(IndexUnavailable):
    """A whole operation ran past its deadline (a dripping or stalled server)."""


class TlsFailure(IndexUnavailable):
    """The server's certificate could not be verified: not transient, never retried."""


@dataclass(frozen=True)
class NetPolicy:
    """Everything a request depends on besides its URL; built once per command."""

    trusted_hosts: tuple[str, ...] = ()
    cert: str | None = None
    credentials: tuple[Credential, ...] = ()
    netrc: bool = True
    timeout: float = 10.0
    max_redirects: int = 10
    # The command's environment (the CLI hands it in): CA variables and NETRC are read from it.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def check(self, url: str, *, via: str | None = None) -> None:
        """Refuse a hop the policy forbids: exit 4, since the index (not the user) chose it."""
        why = allowed(url, self.trusted_hosts)
        if why is not None:
            where = f"{mask(via)} led to {mask(url)}" if via and via != url else mask(url)
            raise PolicyRefused(f"{where}: {why}; refused", hint="use an https mirror, or --trusted-host for http")

    def ca_bundle(self) -> tuple[str | None, str]:
        """(CA file, where that choice came from): --cert, then pip's and requests' variables."""
        if self.cert:
            return self.cert, "--cert"
        for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE"):
            if self.environ.get(name):
                return self.environ[name], name
        for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
            if self.environ.get(name):
                return None, name
        return None, "certifi"

    def ca_hint(self) -> str:
        cafile, source = self.ca_bundle()
        bundle = f"{cafile} (from {source})" if cafile else f"the default CAs ({source})"
        return f"verified against {bundle}; give the index's CA with --cert"

    def authorization(self, url: str) -> str | None:
        """The Basic header for this URL's origin: a credential given for it, else netrc's entry."""
        here = origin(url)
        for cred in self.credentials:
            if cred.origin == here:
                return _basic(cred.username, cred.password)
        if self.netrc:
            found = _netrc_lookup(self.environ, here)
            if found:
                return _basic(*found)
        return None

    def secrets(self) -> list[str]:
        """Every secret this policy could send, for scrubbing and for the tests' secret scans."""
        return [s for c in self.credentials for s in c.secrets]


def _basic(user: str, password: str) -> str:
    # binascii, not base64: base64's own imports cost a millisecond on every offline lock.
    return "Basic " + binascii.b2a_base64(f"{user}:{password}".encode(), newline=False).decode("ascii")


def _netrc_lookup(environ: Mapping[str, str], here: Origin) -> tuple[str, str] | None:
    path = environ.get("NETRC") or str(Path.home() / ".netrc")
    entries = _netrc_entries(path)
    return entries.get(here.host) or entries.get("default")  # netrc's own fallback, as authenticators() does


@functools.lru_cache(maxsize=4)
def _netrc_entries(path: str) -> dict[str, tuple[str, str]]:
    """host -> (login, password) from a netrc file, read once per command, not once per request."""
    import netrc

    try:
        parsed = netrc.netrc(path)
    except (OSError, netrc.NetrcParseError):  # no netrc, or a broken one: no credentials
        return {}
    return {host: (login or "", password or "") for host, (login, _account, password) in parsed.hosts.items()}
