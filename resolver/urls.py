"""Index URL rules (pure and cheap to import): https-only, loopback, credential masking."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from .errors import UsageError

DEFAULT_INDEX = "https://download.pytorch.org/whl"


def mask(url: str) -> str:
    """The URL with any password replaced, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}:****@{host}{port}", parts.path, parts.query, parts.fragment))


def strip_credentials(url: str) -> str:
    """The URL without userinfo: locks never carry secrets (pip and uv read netrc / keyring)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, host + port, parts.path, parts.query, parts.fragment))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_scheme(url: str, trusted_hosts: Sequence[str]) -> None:
    """HTTPS only, unless the host is loopback or named with --trusted-host."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and (is_loopback(host) or host in trusted_hosts):
        return
    raise UsageError(
        f"{mask(url)}: plain {parts.scheme or 'scheme-less'} URL refused",
        hint=f"use https://, or allow the host with --trusted-host {host}"
        if parts.scheme == "http"
        else "use https://",
    )
