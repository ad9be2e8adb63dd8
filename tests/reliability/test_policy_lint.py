"""The network policy has one door: only ``net/http.py`` builds an HTTP client or talks HTTP.

Read from the source with ``ast``, so a new module that builds its own client (and would skip
the per-hop scheme/host check and the origin-scoped credentials) fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "resolver").rglob("*.py"), *(ROOT / "scripts").glob("*.py")])
DOOR = ROOT / "resolver" / "net" / "http.py"
# Anything that can send a request by itself.
CLIENT_CALLS = {
    "Client",
    "AsyncClient",
    "get",
    "post",
    "put",
    "head",
    "stream",
    "request",
    "HTTPTransport",
    "AsyncHTTPTransport",
    "urlopen",
    "HTTPConnection",
    "HTTPSConnection",
    "create_connection",
}
NETWORK_MODULES = {"urllib.request", "http.client", "requests", "aiohttp", "urllib3", "socket"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (
                isinstance(owner, ast.Name)
                and owner.id in ("httpx", "urllib", "socket")
                and node.func.attr in CLIENT_CALLS
            ):
                found.append(f"{path.name}:{node.lineno}: {owner.id}.{node.func.attr}(…)")
        if (
            isinstance(node, ast.keyword)
            and node.arg == "follow_redirects"
            and not (isinstance(node.value, ast.Constant) and node.value.value is False)
        ):
            found.append(f"{path.name}:{node.lineno}: follow_redirects that is not False")
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{path.name}:{node.lineno}: imports {n}" for n in names if n in NETWORK_MODULES]
    return found


@pytest.mark.parametrize("path", [p for p in SOURCES if p != DOOR], ids=lambda p: str(p.relative_to(ROOT)))
def test_only_net_talks_http(path: Path) -> None:
    assert _violations(path) == []


def test_the_lint_sees_a_client_built_elsewhere(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import httpx\nimport urllib.request\nc = httpx.AsyncClient(follow_redirects=True)\n")
    assert len(_violations(bad)) == 3
