"""One Context per command: the catalog parsed once, endpoints validated once, words to its sink."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.cli import context
from torchpin.commands import IndexOptions, run_lock
from torchpin.decide.targets import TargetFlags
from torchpin.errors import UsageError
from torchpin.facts import snapshot
from torchpin.locks import LockFormat

# Eight machines pip can tell apart (platform, arch or Python differ).
SPECS = [
    "linux-cu126:driver=560.35.03,gpu-cc=8.9,python-version=3.10",
    "linux-cu128:driver=570.86.15,gpu-cc=12.0,python-version=3.11",
    "linux-cpu:python-version=3.12",
    "linux-cpu:python-version=3.13",
    "linux-aarch64-cpu:python-version=3.12",
    "macos-arm64:python-version=3.12",
    "windows-cpu:python-version=3.12",
    "windows-cu126:driver=560.94,gpu-cc=8.9,python-version=3.13",
]


def test_eight_targets_parse_the_snapshot_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = snapshot.load_catalog

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("torchpin.commands.context.load_catalog", counting)
    ctx, _ = context()
    text = run_lock(ctx, [], TargetFlags(), IndexOptions(offline=True), fmt=LockFormat.JSON, targets=SPECS)
    assert text.count('"label"') == 8
    assert calls == [1]


def test_endpoints_are_validated_once_and_kept() -> None:
    ctx, _ = context({"TORCHPIN_PYPI_URL": "https://user:secret@pypi.example/simple"})
    index = IndexOptions(index_url="https://mirror.example/whl/")
    first = ctx.endpoints(index)
    assert first is ctx.endpoints(index)
    assert first.sources.pytorch == "https://mirror.example/whl"
    assert first.sources.pypi == "https://pypi.example/simple"  # the credential travels apart
    assert [c.username for c in first.credentials] == ["user"]
    with pytest.raises(UsageError, match="plain http"):
        ctx.endpoints(IndexOptions(index_url="http://mirror.example/whl"))


def test_notes_wait_for_success_and_are_said_once() -> None:
    ctx, said = context()
    ctx.note("a\n")
    ctx.note("a\n")
    ctx.say("now\n")
    assert said == ["now\n"]
    ctx.flush()
    assert said == ["now\n", "a\n"]


def test_commands_read_the_contexts_environment_not_the_process() -> None:
    ctx, _ = context({"TORCHPIN_CACHE_MAX_AGE": "12"})
    assert ctx.cache_max_age() == 12.0
    with pytest.raises(UsageError, match="TORCHPIN_CACHE_MAX_AGE"):
        context({"TORCHPIN_CACHE_MAX_AGE": "soon"})[0].cache_max_age()


def test_an_offline_lock_loads_no_http_stack_nor_tomlkit_nor_the_fleet() -> None:
    heavy = ("httpx", "asyncio", "tomlkit", "rich", "torchpin.fleet.plan", "torchpin.commands.fleet")
    code = (
        "import sys; from torchpin.cli import main; sys.argv = ['torchpin', 'lock', '--offline', '--no-detect'];"
        f"import atexit; atexit.register(lambda: print(sorted(m for m in {heavy!r}"
        " if m in sys.modules), file=sys.stderr)); main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_help_loads_no_decision_module() -> None:
    # `torchpin --help` and each command's help are click and the option tables, nothing more:
    # the snapshot, the models and packaging load only for a command that runs.
    heavy = ("torchpin.models", "torchpin.facts.snapshot", "torchpin.commands.context", "packaging", "httpx")
    for args in (["--help"], ["lock", "--help"], ["install", "--help"]):
        code = (
            f"import sys; from torchpin.cli import main; sys.argv = ['torchpin', *{args!r}];"
            f"import atexit; atexit.register(lambda: print(sorted(m for m in {heavy!r}"
            " if m in sys.modules), file=sys.stderr)); main()"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert "Usage: torchpin" in done.stdout
        assert done.stderr.strip().splitlines()[-1] == "[]", args
