"""The package's shape, read from the source: the sub-packages are the architecture.

Each sub-package imports only those below it; the pure ones (facts, decide, locks) import no
edge package, no I/O library and no environment; one module starts processes, one imports httpx,
one reads the environment (besides the two standalone scripts); no cycle between modules or
packages; no module over ~400 lines; imports live at the top, or at a face, save a few that
each buy a measured millisecond.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "resolver"
MODULES = sorted(PKG.rglob("*.py"))
# Scripts that run in another interpreter, standard library only: not torchpin code paths.
STANDALONE = {"envs/verify_script.py", "envs/verify_extensions.py", "machine/nvml_probe.py"}
# Bottom to top; a package may import its own modules and those of packages below it.
LAYERS = ("", "facts", "decide", "locks", "machine", "fleet", "net", "envs", "commands", "cli")
PURE = {"facts", "decide", "locks"}
EDGE_LIBRARIES = {"httpx", "subprocess", "multiprocessing", "click", "rich", "socket", "asyncio"}
MAX_LINES = 400
MAX_FUNCTION_IMPORTS = 40
ROOT_MODULES_AT_MOST = 8


def _name(path: Path) -> str:
    return path.relative_to(PKG).as_posix()


def _package(module: str) -> str:
    """``facts/wheels.py`` → ``facts``; a ground-floor module → ``""``."""
    return module.split("/")[0] if "/" in module else ""


def _resolve(path: Path, node: ast.ImportFrom) -> list[str]:
    """The torchpin modules (as ``pkg/mod.py`` names, where they exist) an import names."""
    if node.level:
        base = path.parent
        for _ in range(node.level - 1):
            base = base.parent
        parts = list(base.relative_to(PKG).parts)
    elif (node.module or "").split(".")[0] == "torchpin":
        parts = []
    else:
        return []
    module = [p for p in (node.module or "").split(".") if p]
    if not node.level:
        module = module[1:]
    found = []
    for alias in node.names or []:
        for candidate in ([*parts, *module, alias.name], [*parts, *module]):
            file, package = PKG.joinpath(*candidate).with_suffix(".py"), PKG.joinpath(*candidate, "__init__.py")
            if candidate and file.exists():
                found.append(_name(file))
                break
            if package.exists():
                found.append(_name(package))
                break
    return found


def _imports(path: Path, *, typing: bool = True) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import of a module (without ``typing``: none under ``if TYPE_CHECKING``), and whether it
    sits inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def within(kind: type[ast.AST] | tuple[type[ast.AST], ...], test: bool = False) -> set[int]:
        return {
            id(sub)
            for node in ast.walk(tree)
            if isinstance(node, kind)
            and (not test or (isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"))
            for sub in ast.walk(node)
        }

    inner = within((ast.FunctionDef, ast.AsyncFunctionDef))
    typed = set() if typing else within(ast.If, test=True)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in typed:
            yield node, id(node) in inner


@functools.cache
def _graph(*, typing: bool = True) -> dict[str, set[str]]:
    """Module → the torchpin modules it imports (``typing=False``: what runs, not what mypy reads)."""
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        deps: set[str] = set()
        for node, _ in _imports(path, typing=typing):
            if isinstance(node, ast.ImportFrom):
                deps.update(_resolve(path, node))
        graph[_name(path)] = deps - {_name(path)}
    return graph


def _libraries(path: Path) -> set[str]:
    names: set[str] = set()
    for node, _ in _imports(path):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif not node.level:
            names.add((node.module or "").split(".")[0])
    return names


def _reads_environ(path: Path) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    )


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    path: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if found := visit(nxt):
                return found
        path.pop()
        done.add(node)
        return None

    for module in sorted(graph):
        if found := visit(module):
            return found
    return None


def test_the_root_holds_only_the_ground_floor() -> None:
    root = sorted(p.name for p in PKG.glob("*.py"))
    assert len(root) <= ROOT_MODULES_AT_MOST, root
    assert {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(LAYERS) - {""}


@pytest.mark.parametrize("module", sorted(_graph()), ids=str)
def test_each_package_imports_only_those_below_it(module: str) -> None:
    if module == "__main__.py" or module in STANDALONE:
        return
    rank = LAYERS.index(_package(module))
    above = sorted(d for d in _graph()[module] if LAYERS.index(_package(d)) > rank)
    assert above == [], f"{module} imports a higher package: {above}"


@pytest.mark.parametrize("path", [p for p in MODULES if _package(_name(p)) in PURE], ids=_name)
def test_pure_packages_do_no_io(path: Path) -> None:
    assert _libraries(path) & EDGE_LIBRARIES == set()
    assert not _reads_environ(path)


def test_one_module_each_starts_processes_and_imports_httpx() -> None:
    users = {lib: sorted(_name(p) for p in MODULES if lib in _libraries(p)) for lib in ("subprocess", "httpx")}
    assert users == {"subprocess": ["proc.py"], "httpx": ["net/http.py"]}
    assert not any("multiprocessing" in _libraries(p) for p in MODULES)


def test_only_the_cli_reads_the_environment() -> None:
    readers = sorted(_name(p) for p in MODULES if _reads_environ(p))
    assert readers == ["cli/app.py", "envs/verify_script.py", "machine/nvml_probe.py"]


def test_standalone_scripts_import_nothing_of_torchpin() -> None:
    for module in STANDALONE:
        assert _graph()[module] == set(), module


def test_no_import_cycle_between_modules_or_packages() -> None:
    graph = _graph(typing=False)
    assert _cycle(graph) is None
    packages: dict[str, set[str]] = {}
    for module, deps in graph.items():
        if module == "__main__.py":
            continue
        packages.setdefault(_package(module), set()).update(
            _package(d) for d in deps if _package(d) != _package(module)
        )
    assert _cycle(packages) is None, packages


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines; split it by concept"


def test_imports_live_at_the_top_or_at_a_face() -> None:
    inner = [
        f"{_name(p)}:{node.lineno}"
        for p in MODULES
        if _name(p) not in STANDALONE
        for node, nested in _imports(p)
        if nested
    ]
    assert len(inner) <= MAX_FUNCTION_IMPORTS, inner


def test_the_checks_see_what_they_forbid(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import os\nfrom .b import x\nx = os.environ\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import y\n")
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert _reads_environ(tmp_path / "a.py")
    assert [nested for _, nested in _imports(tmp_path / "b.py")] == [True]


@pytest.mark.parametrize("package", [p for p in LAYERS if p], ids=str)
def test_each_face_member_loads_and_none_shadows_a_module(package: str) -> None:
    import importlib

    face = importlib.import_module(f"torchpin.{package}")
    members: dict[str, str] = getattr(getattr(face, "__getattr__", None), "members", {})
    for name, module in members.items():
        assert (PKG / package / f"{module}.py").exists(), (package, name, module)
        # Importing a submodule sets the attribute of its name: a member of that name must be it,
        # and then no function in it may share the name (mypy would read the one, Python the other).
        assert not (PKG / package / f"{name}.py").exists() or module == name, (package, name)
        if name == module:
            assert not hasattr(importlib.import_module(f"torchpin.{package}.{module}"), name), (package, name)
        assert getattr(face, name) is not None
    assert set(members) <= set(getattr(face, "__all__", ())), package


def test_no_format_skips() -> None:
    """ruff format decides the layout everywhere; a skip that squeezes lines is not kept."""
    root = PKG.parent
    found = [
        f"{p.relative_to(root)}:{n}"
        for p in [*PKG.rglob("*.py"), *(root / "tests").rglob("*.py"), *(root / "scripts").glob("*.py")]
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if line.rstrip().endswith("# fmt: " + "skip")
    ]
    assert found == []
