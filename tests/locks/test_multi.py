"""Multi-target locks: the --target grammar, each target decided as a single lock decides it, and
one requirements / constraints / JSON / pyproject lock that the real clients read per machine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.cli import lock
from torchpin.decide.specs import parse_spec
from torchpin.decide.targets import TargetFlags
from torchpin.errors import UsageError
from torchpin.locks.read import read_lock
from torchpin.models import Requirement


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ("linux-x86_64-cu126", {"python_platform": "x86_64-unknown-linux-gnu", "backend": "cu126"}),
        ("linux-aarch64", {"python_platform": "aarch64-unknown-linux-gnu", "backend": "auto"}),
        ("macos-arm64", {"python_platform": "aarch64-apple-darwin"}),
        ("macos", {"python_platform": "aarch64-apple-darwin"}),
        ("windows-cu128", {"python_platform": "x86_64-pc-windows-msvc", "backend": "cu128"}),
        ("linux-rocm6.4:amd-gfx=gfx1100", {"backend": "rocm6.4", "amd_gfx": ("gfx1100",)}),
        ("linux:driver=560.35.03,gpu-cc=6.1,gpu-cc=8.9", {"driver": "560.35.03", "gpu_cc": ("6.1", "8.9")}),
        ("linux-cpu:python-version=3.10,glibc=2.28", {"python_version": "3.10", "glibc": "2.28"}),
    ],
)
def test_spec_grammar(spec: str, fields: dict[str, Any]) -> None:
    named = parse_spec(spec, TargetFlags(python_version="3.12"))
    assert named.flags.no_detect  # a named target is another machine: nothing is detected for it
    for name, value in fields.items():
        assert getattr(named.flags, name) == value
    if "python_version" not in fields:
        assert named.flags.python_version == "3.12"  # the options beside --target apply to it


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("freebsd-x86_64", "unknown OS 'freebsd'"),
        ("linux-cu12", "'cu12' is not an arch or a backend"),
        ("linux:gpu=8.6", "'gpu=8.6' is not KEY=VALUE"),
        ("linux:driver", "'driver' is not KEY=VALUE"),
        ("linux:no-detect=1", "is not KEY=VALUE"),
    ],
)
def test_bad_specs_name_the_part(spec: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(")):
        parse_spec(spec, TargetFlags())


# Each row: three targets, and the single-lock options that describe each of them.
ROWS = [
    [
        (
            "linux-x86_64:driver=550.54.15,gpu-cc=8.6",
            ["--python-platform", "linux", "--driver", "550.54.15", "--gpu-cc", "8.6"],
        ),
        ("macos-arm64", ["--python-platform", "macos"]),
        ("windows:driver=560.94,gpu-cc=8.9", ["--python-platform", "windows", "--driver", "560.94", "--gpu-cc", "8.9"]),
    ],
    [
        (
            "linux:driver=580.65.06,gpu-cc=6.1",
            ["--python-platform", "linux", "--driver", "580.65.06", "--gpu-cc", "6.1"],
        ),
        ("linux-aarch64-cpu", ["--python-platform", "aarch64-unknown-linux-gnu", "--backend", "cpu"]),
        ("windows-cpu", ["--python-platform", "windows", "--backend", "cpu"]),
    ],
    [
        (
            "linux:driver=570.86.15,gpu-cc=12.0",
            ["--python-platform", "linux", "--driver", "570.86.15", "--gpu-cc", "12.0"],
        ),
        (
            "linux-aarch64:driver=580.65.06,gpu-cc=9.0",
            ["--python-platform", "aarch64-unknown-linux-gnu", "--driver", "580.65.06", "--gpu-cc", "9.0"],
        ),
        ("macos-x86_64", ["--python-platform", "x86_64-apple-darwin"]),
    ],
    [
        ("linux:amd-gfx=gfx1100", ["--python-platform", "linux", "--amd-gfx", "gfx1100"]),
        (
            "linux-aarch64:driver=580.65.06,gpu-cc=10.0",
            ["--python-platform", "aarch64-unknown-linux-gnu", "--driver", "580.65.06", "--gpu-cc", "10.0"],
        ),
        ("windows:driver=535.54,gpu-cc=8.0", ["--python-platform", "windows", "--driver", "535.54", "--gpu-cc", "8.0"]),
    ],
]


def single_flags(argv: list[str]) -> TargetFlags:
    keys = {"--python-platform": "python_platform", "--driver": "driver", "--backend": "backend"}
    fields: dict[str, Any] = {"no_detect": True, "python_version": "3.12"}
    for flag, value in zip(argv[::2], argv[1::2], strict=True):
        if flag in ("--gpu-cc", "--amd-gfx"):
            key = flag.removeprefix("--").replace("-", "_")
            fields[key] = (*fields.get(key, ()), value)
        else:
            fields[keys[flag]] = value
    return TargetFlags(**fields)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: "+".join(spec.split(":")[0] for spec, _ in row))
@pytest.mark.parametrize("reqs", [(), ("torch", "torchvision")], ids=["trio", "pair"])
def test_each_target_gets_the_build_a_single_lock_gives_it(
    row: list[tuple[str, list[str]]], reqs: tuple[str, ...]
) -> None:
    requirements = [Requirement(r) for r in reqs]
    text = lock(requirements, TargetFlags(python_version="3.12"), fmt="json", targets=[spec for spec, _ in row])
    entries = json.loads(text)["targets"]
    assert [e["label"] for e in entries] == [spec.split(":")[0] for spec, _ in row]
    for entry, (_, argv) in zip(entries, row, strict=True):
        alone = lock(requirements, single_flags(argv), fmt="json")
        single = json.loads(alone)
        assert (entry["backend"], entry["packages"]) == (single["backend"], single["packages"])
        assert entry["target"] == single["target"]


def test_requirements_lines_carry_each_targets_marker() -> None:
    text = lock(
        [], TargetFlags(python_version="3.12"), fmt="requirements", targets=["linux-aarch64-cpu", "windows-cpu"]
    )
    # Both from the cpu index: one index list, plain pins behind markers.
    linux = read_lock(text, {"sys_platform": "linux", "platform_machine": "aarch64"})
    windows = read_lock(text, {"sys_platform": "win32", "platform_machine": "AMD64"})
    assert linux.pins["torch"].endswith("+cpu") and windows.pins["torch"].endswith("+cpu")
    assert set(linux.pins) == set(windows.pins) == {"torch", "torchvision", "torchaudio"}
    assert read_lock(text, {"sys_platform": "darwin", "platform_machine": "arm64"}).pins == {}
    assert text.count("--find-links https://download.pytorch.org/whl/cpu/torch/") == 1


def test_targets_pip_cant_tell_apart_are_refused() -> None:
    with pytest.raises(UsageError, match="same platform to pip and uv"):
        lock([], TargetFlags(), fmt="json", targets=["linux-cu126", "linux-cpu"])


def test_pythons_that_differ_go_into_the_markers() -> None:
    text = lock(
        [], TargetFlags(), fmt="json", targets=["linux-cpu:python-version=3.10", "linux-cpu:python-version=3.12"]
    )
    markers = [e["marker"] for e in json.loads(text)["targets"]]
    assert markers[0].endswith('python_version == "3.10"') and markers[1].endswith('python_version == "3.12"')


def test_gpu_options_beside_target_are_refused() -> None:
    with pytest.raises(UsageError, match="with --target give them per target"):
        lock([], TargetFlags(driver="550.54.15"), fmt="json", targets=["linux", "macos"])


def test_offline_url_form_says_what_to_do() -> None:
    with pytest.raises(UsageError, match="without --offline"):
        lock([], TargetFlags(python_version="3.12"), fmt="requirements", targets=["linux-cu126", "windows-cu128"])


def test_full_is_single_target() -> None:
    with pytest.raises(UsageError, match="--full resolves one target"):
        lock([], TargetFlags(), fmt="requirements", full=[], targets=["linux-cpu", "macos"])


LINUX_ENV = {"sys_platform": "linux", "platform_machine": "x86_64"}
WINDOWS_ENV = {"sys_platform": "win32", "platform_machine": "AMD64"}


def test_read_lock_picks_this_machines_entry_in_every_format() -> None:
    from torchpin.locks.read import kind_of

    targets = ["linux-cpu", "windows-cu126:driver=560.94,gpu-cc=8.9"]
    flags = TargetFlags(python_version="3.12")
    as_json = lock([], flags, fmt="json", targets=targets)
    constraints = lock([], flags, fmt="constraints", targets=targets)
    project = '[project]\nname = "demo"\nversion = "0"\ndependencies = []\n'
    pyproject = lock([], flags, fmt="pyproject", targets=targets, existing=project)
    for text, kind in ((as_json, "json"), (constraints, "constraints"), (pyproject, "pyproject")):
        assert kind_of(text) == kind
        linux, windows = read_lock(text, LINUX_ENV), read_lock(text, WINDOWS_ENV)
        assert linux.variant == "cpu" and windows.variant == "cu126", kind
        assert str(linux.index_url).endswith("/cpu") and str(windows.index_url).endswith("/cu126"), kind
    # The JSON and constraints locks carry the pins and each target's index options.
    for text in (as_json, constraints):
        assert read_lock(text, WINDOWS_ENV).pins["torch"].endswith("+cu126")
        options = read_lock(text, WINDOWS_ENV).index_lines
        assert ("--find-links", "https://download.pytorch.org/whl/cu126/torch/") in options
    with pytest.raises(UsageError, match="no target of this multi-target lock matches"):
        read_lock(as_json, {"sys_platform": "darwin", "platform_machine": "arm64"})


def test_read_lock_reads_a_pylock_by_marker() -> None:
    text = """\
lock-version = "1.0"
created-by = "torchpin"

[[packages]]
name = "torch"
version = "2.15.0+cpu"
marker = "sys_platform == 'linux'"
wheels = [{url = "https://example.invalid/whl/cpu/torch-2.15.0%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl", hashes = {sha256 = "00"}}]

[[packages]]
name = "torch"
version = "2.14.1+cu126"
marker = "sys_platform == 'win32'"
wheels = [{url = "https://example.invalid/whl/cu126/torch-2.14.1%2Bcu126-cp312-cp312-win_amd64.whl", hashes = {sha256 = "00"}}]

[[packages]]
name = "filelock"
version = "3.16.1"
wheels = [{url = "https://example.invalid/filelock-3.16.1-py3-none-any.whl", hashes = {sha256 = "00"}}]
"""  # noqa: E501
    windows = read_lock(text, WINDOWS_ENV)
    assert windows.kind == "pylock" and windows.pins == {"torch": "2.14.1+cu126"} and windows.variant == "cu126"
    assert windows.index_url == "https://example.invalid/whl/cu126"
    assert read_lock(text, LINUX_ENV).pins == {"torch": "2.15.0+cpu"}
