"""The network policy of one command (edge): trusted hosts, CA bundle, credentials by origin, netrc,
timeouts, and the errors of a refused or stalled request. ``urls.allowed`` is the one rule each
URL meets; ``NetPolicy.check`` applies it to a hop. Loaded only by a command that talks to an
index or hands URLs to an installer (a dataclass costs its creation on every import).
"""

from __future__ import annotations

import binascii
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from torchpin.errors import IndexUnavailable

from .urls import Credential, Origin, allowed, mask, origin


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
