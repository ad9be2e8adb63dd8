"""TARGET flags → Target (pure), including every kind of bad input."""

from __future__ import annotations

import pytest
from packaging.version import Version

from torchpin.decide.platforms import parse_python_platform
from torchpin.decide.targets import (
    TargetFlags,
    build_target,
    parse_backend,
    parse_cc,
    parse_python_version,
    parse_requirement,
)
from torchpin.errors import UsageError
from torchpin.models import Accelerator, DriverVersion, Gpu, PlatformTarget, PythonTarget, Target

KNOWN = ["cpu", "cu118", "cu126", "cu128", "cu130", "rocm6.4", "xpu"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.12", PythonTarget(3, 12)),
        ("3.14t", PythonTarget(3, 14, True)),  # free-threaded
        ("cp311", PythonTarget(3, 11)),  # the wheel-tag spelling
        (" 3.9 ", PythonTarget(3, 9)),
    ],
)
def test_parse_python_version(text: str, expected: PythonTarget) -> None:
    assert parse_python_version(text) == expected


@pytest.mark.parametrize(("text", "fragment"), [("2.7", "CPython 3 only"), ("3", "not a Python"), ("py3.12", "not a")])
def test_parse_python_version_rejects(text: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_python_version(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux", PlatformTarget("linux", "x86_64")),  # uv's alias for x86_64-unknown-linux-gnu
        ("windows", PlatformTarget("windows", "x86_64")),
        ("macos", PlatformTarget("macos", "aarch64")),  # uv's alias for aarch64-apple-darwin
        ("x86_64-manylinux_2_28", PlatformTarget("linux", "x86_64", glibc=Version("2.28"))),
        ("aarch64-manylinux_2_17", PlatformTarget("linux", "aarch64", glibc=Version("2.17"))),
        ("aarch64-unknown-linux-gnu", PlatformTarget("linux", "aarch64")),
        ("x86_64-unknown-linux-musl", PlatformTarget("linux", "x86_64", musl=True)),
        ("x86_64-pc-windows-msvc", PlatformTarget("windows", "x86_64")),
        ("x86_64-apple-darwin", PlatformTarget("macos", "x86_64")),
        ("arm64-apple-darwin", PlatformTarget("macos", "aarch64")),
    ],
)
def test_parse_python_platform(text: str, expected: PlatformTarget) -> None:
    assert parse_python_platform(text) == expected


def test_parse_python_platform_suggests() -> None:
    with pytest.raises(UsageError) as err:
        parse_python_platform("x86_64-manylinux")
    assert "did you mean" in str(err.value)


@pytest.mark.parametrize(("text", "cc"), [("8.6", (8, 6)), ("sm_86", (8, 6)), ("12.0", (12, 0)), ("sm_120", (12, 0))])
def test_parse_cc(text: str, cc: tuple[int, int]) -> None:
    assert parse_cc(text) == cc


@pytest.mark.parametrize("bad", ["86", "8", "eight", "0.5", "8.6.1"])
def test_parse_cc_rejects(bad: str) -> None:
    with pytest.raises(UsageError, match="compute capability"):
        parse_cc(bad)


def test_parse_backend() -> None:
    assert parse_backend("auto", KNOWN) is None
    b = parse_backend("cu128", KNOWN)
    assert b is not None and b.name == "cu128"
    with pytest.raises(UsageError, match="did you mean cu128"):
        parse_backend("cu1288", KNOWN)
    with pytest.raises(UsageError, match="unknown backend 'cu999'"):
        parse_backend("cu999", KNOWN)  # well-formed but never published


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("numpy>=2", "not one of them"),
        ("torch[opt-einsum]", "extras are not locked"),  # the lock line would drop them
        ("torch @ https://example.org/torch.whl", "direct URL can't be locked"),  # torchpin picks the file
        ("torch>=>2", "bad requirement"),
        ("torch; os_name ==", "bad requirement"),  # a broken marker
    ],
)
def test_parse_requirement_rejects(text: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_requirement(text)


def test_parse_requirement_canonicalises() -> None:
    req = parse_requirement("TorchVision>=0.20")
    assert req.project == "torchvision" and str(req.specifier) == ">=0.20"


HOST = Target(
    PythonTarget(3, 11),
    PlatformTarget("linux", "x86_64", glibc=Version("2.36")),
    Accelerator("cuda", DriverVersion("580.65.06"), (Gpu(cc=(8, 6)),)),
)


def test_flags_override_the_host() -> None:
    t = build_target(TargetFlags(python_version="3.12", gpu_cc=("12.0",), driver="570.86.15"), HOST, KNOWN)
    assert t.python == PythonTarget(3, 12)
    assert t.platform.glibc == Version("2.36")  # not given: the host's
    assert t.accelerator == Accelerator("cuda", DriverVersion("570.86.15"), (Gpu(cc=(12, 0)),))


def test_each_flag_overrides_only_its_part() -> None:
    gpus_only = build_target(TargetFlags(gpu_cc=("12.0",)), HOST, KNOWN)
    assert gpus_only.accelerator.driver == DriverVersion("580.65.06")  # the detected driver stays
    assert gpus_only.accelerator.gpus == (Gpu(cc=(12, 0)),)
    driver_only = build_target(TargetFlags(driver="570.86.15"), HOST, KNOWN)
    assert driver_only.accelerator.gpus == HOST.accelerator.gpus  # the detected GPUs stay
    image = Target(HOST.python, HOST.platform, Accelerator("cuda", None, (), cuda_max=(12, 8)))
    assert build_target(TargetFlags(gpu_cc=("8.6",)), image, KNOWN).accelerator.cuda_max == (12, 8)


def test_another_os_never_inherits_the_hosts_gpu() -> None:
    t = build_target(TargetFlags(python_platform="windows"), HOST, KNOWN)
    assert t.accelerator.kind == "none"
    mac = build_target(TargetFlags(python_platform="macos"), HOST, KNOWN)
    assert mac.accelerator.kind == "mps"  # Apple silicon runs the MPS build from PyPI


def test_same_os_keeps_the_hosts_gpu_and_no_detect_drops_it() -> None:
    assert (
        build_target(TargetFlags(python_platform="x86_64-manylinux_2_28"), HOST, KNOWN).accelerator == HOST.accelerator
    )
    assert build_target(TargetFlags(no_detect=True), HOST, KNOWN).accelerator.kind == "none"


def test_nvidia_and_amd_flags_together_are_refused() -> None:
    with pytest.raises(UsageError, match="different machines"):
        build_target(TargetFlags(gpu_cc=("8.6",), amd_gfx=("gfx1100",)), HOST, KNOWN)


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (TargetFlags(glibc="2"), "needs a minor version"),
        (TargetFlags(macos_version="sonoma"), "not a version"),
        (TargetFlags(driver="5.1"), "not an NVIDIA driver"),
        (TargetFlags(amd_gfx=("navi31",)), "not an AMD GPU"),
    ],
)
def test_bad_flags(flags: TargetFlags, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        build_target(flags, HOST, KNOWN)
