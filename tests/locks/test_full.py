"""--full's body (pure): the family's hashes added, the user's --hash values binding."""

from __future__ import annotations

import pytest

from torchpin.errors import UsageError
from torchpin.locks import bind_hashes, user_hashes

A, B, C = "a" * 64, "b" * 64, "c" * 64
RESOLVED = (
    "--index-url https://pypi.org/simple\n\n"
    f"numpy==2.1.0 \\\n    --hash=sha256:{A} \\\n    --hash=sha256:{B}\n    # via -r requirements.in\n"
    f"Pillow==11.0.0 \\\n    --hash=sha256:{C}\n    # via -r requirements.in\n"
)


def test_user_hashes_are_read_per_project() -> None:
    got = user_hashes([f"numpy==2.1.0 --hash=sha256:{A.upper()}", "rich", f"pillow --hash=sha256:{C}", "http://x/y"])
    assert got == {"numpy": {A}, "pillow": {C}}


def test_only_the_files_the_user_allows_stay() -> None:
    out = bind_hashes(RESOLVED, {"numpy": {B}})
    assert f"numpy==2.1.0 \\\n    --hash=sha256:{B}\n    # via" in out and A not in out
    assert f"--hash=sha256:{C}" in out  # unhashed by the user: uv's hashes stand


def test_the_last_hash_dropped_leaves_no_dangling_continuation() -> None:
    out = bind_hashes(RESOLVED, {"numpy": {A}})
    assert f"    --hash=sha256:{A}\n    # via" in out and f"{A} \\" not in out


@pytest.mark.parametrize("name", ["numpy", "pillow"])
def test_no_allowed_file_is_refused_naming_the_project(name: str) -> None:
    with pytest.raises(UsageError, match=f"uv resolved {name} .*none of its files has a sha256 your --hash"):
        bind_hashes(RESOLVED, {name: {"d" * 64}})


def test_no_user_hashes_change_nothing() -> None:
    assert bind_hashes(RESOLVED, {}) == RESOLVED
