"""net (edge): every URL torchpin fetches, and the rules each one meets.

``urls`` is the URL policy (https; plain http only to loopback or a --trusted-host; credentials
only to their origin) and is light; ``http`` is the one HTTP client (the only importer of
httpx), ``index`` reads pages through ``pagecache``, ``fetch`` is its request side. The heavy
members load on first use.
"""

from typing import TYPE_CHECKING

from torchpin import face

from .urls import (
    Credential,
    allowed,
    check_all,
    check_scheme,
    mask,
    plain_http_hosts,
    refusal_hint,
    scrub,
    split_credentials,
    strip_credentials,
    validate_url,
)

if TYPE_CHECKING:
    from .fetch import ABSENT, fetch_bodies, fetch_pages, hash_files
    from .http import (
        ConnectError,
        HTTPError,
        ResetErrors,
        TimeoutException,
        TransportErrors,
        client,
        describe,
        fetch_bytes,
        is_tls_failure,
        open_url,
        read_body,
        run_within,
        within,
    )
    from .index import IndexClient, IndexConfig, listed_variants
    from .pagecache import default_cache_dir
    from .policy import DeadlineExceeded, NetPolicy, PolicyRefused, TlsFailure

_HTTP = (
    "ConnectError",
    "HTTPError",
    "ResetErrors",
    "TimeoutException",
    "TransportErrors",
    "client",
    "describe",
    "fetch_bytes",
    "is_tls_failure",
    "open_url",
    "plain_http_hosts",
    "read_body",
    "refusal_hint",
    "run_within",
    "within",
)
__getattr__ = face(
    __name__,
    {
        "DeadlineExceeded": "policy",
        "NetPolicy": "policy",
        "PolicyRefused": "policy",
        "TlsFailure": "policy",
        **dict.fromkeys(_HTTP, "http"),
        "fetch_pages": "fetch",
        "fetch_bodies": "fetch",
        "hash_files": "fetch",
        "ABSENT": "fetch",
        "IndexClient": "index",
        "IndexConfig": "index",
        "listed_variants": "index",
        "default_cache_dir": "pagecache",
    },
)
__all__ = [
    "ABSENT",
    "ConnectError",
    "Credential",
    "DeadlineExceeded",
    "HTTPError",
    "IndexClient",
    "IndexConfig",
    "NetPolicy",
    "PolicyRefused",
    "ResetErrors",
    "TimeoutException",
    "TlsFailure",
    "TransportErrors",
    "allowed",
    "check_all",
    "check_scheme",
    "client",
    "default_cache_dir",
    "describe",
    "fetch_bodies",
    "fetch_bytes",
    "fetch_pages",
    "hash_files",
    "is_tls_failure",
    "listed_variants",
    "mask",
    "open_url",
    "plain_http_hosts",
    "read_body",
    "refusal_hint",
    "run_within",
    "scrub",
    "split_credentials",
    "strip_credentials",
    "validate_url",
    "within",
]
