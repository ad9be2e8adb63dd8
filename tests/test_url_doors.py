"""One function decides every URL (issue 16): ``net.urls.allowed``.

Read from the source: no other module judges a URL's scheme or host, every door a URL leaves
torchpin by (its own requests and their redirects, links read off a page, URLs the user gives,
index options handed to pip or uv, a lock handed to them, ``-r`` lines handed to uv, what uv
resolved, and every lock written) calls the policy, each policy entry point comes down to
``allowed``, and the commands that open those doors go through them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "resolver"
POLICY = "net/urls.py"
# The names that judge by ``allowed``: itself, and the entry points built on it.
JUDGES = {"allowed", "check", "check_all", "check_scheme", "refusals"}
SCHEME_WORDS = {"http", "https", "http:", "https:", "http://", "https://", "file", "file:", "file://"}

# (module, function): the doors, each with what leaves by it.
DOORS = [
    ("net/http.py", "open_url"),  # torchpin's own requests, every redirect hop
    ("net/index.py", "_parse"),  # links read off an index page
    ("commands/context.py", "_endpoints"),  # the index and PyPI URLs the user gives
    ("envs/install.py", "installer_index_args"),  # index options handed to pip and uv
    ("commands/lockinstall.py", "check_urls"),  # a lock handed to pip or uv
    ("commands/lock.py", "_check_others"),  # -r lines handed to uv
    ("commands/lock.py", "_check_resolved"),  # what uv resolved
    ("commands/lock.py", "_check_written"),  # every URL written into any lock
]
# (module, function, door it must call): the commands that open the doors go through them.
USES = [
    ("commands/lock.py", "run_lock", "_check_written"),
    ("commands/lock.py", "_pylock", "_check_resolved"),
    ("commands/lock.py", "_compile", "_check_others"),
    ("commands/lock.py", "_guess", "_check_others"),  # the resolution started on the snapshot's plan
    ("commands/install.py", "run_install", "installer_index_args"),
    ("commands/install.py", "run_install_lock", "check_urls"),
    ("envs/uv.py", "_inputs", "installer_index_args"),  # every uv pip compile's options
    ("commands/plan.py", "_live_catalog", "IndexClient"),
]


def _tree(module: str) -> ast.Module:
    return ast.parse((PKG / module).read_text())


def _function(module: str, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    raise AssertionError(f"{module} has no function {name}: update the door table")


def _calls(node: ast.AST) -> set[str]:
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            names.add(f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else "")
    return names


def _judgements(tree: ast.AST) -> list[int]:
    """Lines that judge a URL's scheme or host by themselves: a ``.scheme`` read, a comparison or
    ``startswith`` with a scheme word, a loopback test."""
    found = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and n.attr == "scheme":
            found.append(n.lineno)
        elif isinstance(n, ast.Compare | ast.Call):
            if isinstance(n, ast.Call):
                f = n.func
                name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
                if name == "is_loopback":
                    found.append(n.lineno)
                if name not in ("startswith", "endswith", "removeprefix"):
                    continue
            words = {c.value for c in ast.walk(n) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
            if words & SCHEME_WORDS:
                found.append(n.lineno)
    return found


def _modules() -> list[str]:
    return sorted(p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("module", [m for m in _modules() if m != POLICY])
def test_no_module_but_the_policy_judges_a_url(module: str) -> None:
    assert _judgements(_tree(module)) == [], f"{module} decides about URLs itself: call net.urls.allowed"


@pytest.mark.parametrize(("module", "function"), DOORS, ids=[f"{m}:{f}" for m, f in DOORS])
def test_every_door_calls_the_policy(module: str, function: str) -> None:
    assert _calls(_function(module, function)) & JUDGES, f"{module}:{function} lets URLs out unjudged"


@pytest.mark.parametrize(
    ("module", "function"),
    [(POLICY, "check_all"), (POLICY, "check_scheme"), (POLICY, "refusals"), ("net/policy.py", "check")],
)
def test_each_judge_comes_down_to_allowed(module: str, function: str) -> None:
    assert "allowed" in _calls(_function(module, function))


@pytest.mark.parametrize(("module", "function", "door"), USES, ids=[f"{m}:{f}" for m, f, _ in USES])
def test_the_commands_go_through_the_doors(module: str, function: str, door: str) -> None:
    assert door in _calls(_function(module, function)), f"{module}:{function} no longer passes {door}"


def test_only_open_url_sends_a_request() -> None:
    """httpx is imported by net/http.py alone (test_layout); in it, only open_url sends."""
    senders = [
        n.name
        for n in ast.walk(_tree("net/http.py"))
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and {"send", "stream", "request"} & _calls(n)
    ]
    assert senders == ["open_url"]


def test_the_lint_sees_a_judgement(tmp_path: Path) -> None:
    code = 'def f(u):\n    return u.startswith("http:") or urlsplit(u).scheme == "x" or is_loopback(u)\n'
    assert _judgements(ast.parse(code)) == [2, 2, 2]
