"""The package's shape, read from the source: one process runner, no import cycle, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "resolver"
MODULES = sorted(PKG.glob("*.py"))
# Scripts that run in another interpreter, standard library only: they are not torchpin code paths.
STANDALONE = {"verify_script.py", "nvml_probe.py"}
MAX_LINES = 320  # "about 300": one concept per module


def _imports(path: Path) -> set[str]:
    """torchpin modules this one imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torchpin."):
            found.add((node.module or "").split(".")[1])
    return found


def test_every_process_starts_in_proc() -> None:
    users = [
        p.name
        for p in MODULES
        if p.name not in {"proc.py", *STANDALONE}
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(n in ("subprocess", "multiprocessing") for n in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]))
    ]  # fmt: skip
    assert users == []


def test_no_import_cycle() -> None:
    graph = {p.stem: _imports(p) & {m.stem for m in MODULES} for p in MODULES}
    path: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(node) :], node]))
        if node in done:
            return
        path.append(node)
        for nxt in sorted(graph[node]):
            visit(nxt)
        path.pop()
        done.add(node)

    for module in sorted(graph):
        visit(module)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines; split it by concept"


def test_the_cycle_check_sees_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from .b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import y\n")
    assert _imports(tmp_path / "a.py") == {"b"} and _imports(tmp_path / "b.py") == {"a"}
