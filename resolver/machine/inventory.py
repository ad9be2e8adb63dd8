"""Another machine's facts, read back from its ``torchpin detect --json`` (pure): the inverse of
``host.host_json``, so a fleet lock decides each node from what its own probes found, by the
same ``host.decide`` a lock on that node would use.

An inventory comes from another machine: every field is checked, and a bad one is a one-line
``UsageError`` naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from packaging.version import InvalidVersion, Version

from torchpin.errors import UsageError
from torchpin.models import OS, Arch, PlatformTarget, PythonTarget

from .host import AmdInfo, GpuInfo, Host, NvidiaInfo

_T = TypeVar("_T")
_HINT = "give the file `torchpin detect --json` printed on that node, unedited"


class _Doc:
    """Typed access to one inventory, each failure naming ``where`` and the field's path."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, path: str, what: str) -> UsageError:
        return UsageError(f"{self.where}: {path} {what}; not a `torchpin detect --json` inventory", hint=_HINT)

    def get(self, obj: Mapping[str, Any], key: str, kind: type[_T], path: str, *, null: bool = False) -> _T:
        if key not in obj:
            raise self.fail(f"{path}{key}", "is missing")
        value = obj[key]
        if value is None and null:
            return cast(_T, value)
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            raise self.fail(f"{path}{key}", f"is {type(value).__name__}, not {kind.__name__}")
        return value

    def text(self, obj: Mapping[str, Any], key: str, path: str) -> str | None:
        value = self.get(obj, key, str, path, null=True)
        if value is not None and (len(value) > 200 or not value.isprintable()):
            raise self.fail(f"{path}{key}", "is not a short printable text")
        return value

    def version(self, obj: Mapping[str, Any], key: str, path: str) -> Version | None:
        text = self.text(obj, key, path)
        try:
            return Version(text) if text else None
        except InvalidVersion:
            raise self.fail(f"{path}{key}", f"{text[:40]!r} is not a version") from None  # type: ignore[index]


def host_from_json(doc: object, where: str) -> Host:
    """The ``Host`` a detect document describes; ``where`` names it in errors (a file, a line)."""
    d = _Doc(where)
    if not isinstance(doc, dict):
        raise d.fail("the document", f"is a JSON {type(doc).__name__}, not an object")
    if doc.get("schema") != 1:
        raise d.fail("schema", f"is {str(doc.get('schema'))[:20]!r}, not 1 (made by another torchpin?)")
    py = d.get(doc, "python", dict, "")
    version = d.text(py, "version", "python.") or ""
    major, _, minor = version.rstrip("t").partition(".")
    if not (major.isdigit() and minor.isdigit() and len(minor) <= 2):
        raise d.fail("python.version", f"{version[:20]!r} is not X.Y")
    python = PythonTarget(int(major), int(minor), version.endswith("t"))
    plat = d.get(doc, "platform", dict, "")
    os_name, arch = d.text(plat, "os", "platform."), d.text(plat, "arch", "platform.")
    if os_name not in ("linux", "windows", "macos"):
        raise d.fail("platform.os", f"{str(os_name)[:20]!r} is not linux, windows or macos")
    if arch not in ("x86_64", "aarch64"):
        raise d.fail("platform.arch", f"{str(arch)[:20]!r} is not x86_64 or aarch64")
    platform = PlatformTarget(
        cast(OS, os_name),
        cast(Arch, arch),
        glibc=d.version(plat, "glibc", "platform."),
        macos=d.version(plat, "macos", "platform."),
        musl=d.get(plat, "musl", bool, "platform."),
    )
    jetson = d.get(doc, "jetson", dict, "", null=True)
    hint = d.get(doc, "build_hint", dict, "", null=True)
    return Host(
        python=python,
        implementation=d.text(py, "implementation", "python.") or "",
        bits=d.get(py, "bits", int, "python."),
        executable=d.text(py, "executable", "python.") or "",
        platform=platform,
        rosetta=d.get(plat, "rosetta", bool, "platform."),
        wsl=d.get(plat, "wsl", bool, "platform."),
        container=d.text(plat, "container", "platform."),
        jetson=d.text(jetson, "l4t", "jetson.") if jetson else None,
        jetson_cc=_cc(d, jetson["cc"], "jetson.cc") if jetson and jetson.get("cc") not in (None, "?") else None,
        nvidia=_nvidia(d, d.get(doc, "nvidia", dict, "", null=True)),
        amd=_amd(d, d.get(doc, "amd", dict, "", null=True)),
        intel=tuple(_texts(d, d.get(doc, "intel", list, ""), "intel")),
        cuda_hint=_cc(d, hint["cuda"], "build_hint.cuda") if hint else None,
        cuda_hint_source=d.text(hint, "source", "build_hint.") if hint else None,
        notes=tuple(_texts(d, d.get(doc, "notes", list, ""), "notes")),
        hostname=d.text(doc, "hostname", "") if "hostname" in doc else None,
        x86_64_level=_level(d, plat),
    )


def _level(d: _Doc, plat: dict[str, Any]) -> str | None:
    level = d.text(plat, "x86_64_level", "platform.") if "x86_64_level" in plat else None
    if level is not None and level not in ("v1", "v2", "v3", "v4"):
        raise d.fail("platform.x86_64_level", f"{level[:20]!r} is not v1, v2, v3 or v4")
    return level


def _texts(d: _Doc, items: list[Any], path: str) -> list[str]:
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise d.fail(f"{path}[{i}]", "is not a text")
        out.append(item)
    return out


def _cc(d: _Doc, text: object, path: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    if not (isinstance(text, str) and major.isdigit() and minor.isdigit() and len(major) <= 2 and len(minor) == 1):
        raise d.fail(path, f"{str(text)[:20]!r} is not a compute capability X.Y")
    return int(major), int(minor)


def _nvidia(d: _Doc, nv: dict[str, Any] | None) -> NvidiaInfo | None:
    if nv is None:
        return None
    gpus = []
    for i, g in enumerate(d.get(nv, "gpus", list, "nvidia.")):
        path = f"nvidia.gpus[{i}]."
        if not isinstance(g, dict):
            raise d.fail(path.rstrip("."), "is not an object")
        cc = d.text(g, "cc", path)
        gpus.append(
            GpuInfo(
                index=d.get(g, "index", int, path),
                name=d.text(g, "name", path),
                cc=_cc(d, cc, f"{path}cc") if cc else None,
                memory_mib=d.get(g, "memory_mib", int, path, null=True),
                uuid=d.text(g, "uuid", path),
                source=d.text(g, "source", path) or "",
            )
        )
    visible = d.get(nv, "visible", list, "nvidia.")
    driver = d.text(nv, "driver", "nvidia.")
    if driver is not None and not all(part.isdigit() for part in driver.split(".")):
        raise d.fail("nvidia.driver", f"{driver[:20]!r} is not an NVIDIA driver version")
    cuda_max = d.text(nv, "cuda_max", "nvidia.")
    if cuda_max is not None:
        _cc(d, cuda_max if len(cuda_max.partition(".")[2]) == 1 else "?", "nvidia.cuda_max")
    return NvidiaInfo(
        driver=driver,
        driver_source=d.text(nv, "driver_source", "nvidia."),
        kernel_module=d.text(nv, "kernel_module", "nvidia."),
        cuda_max=cuda_max,
        gpus=tuple(gpus),
        visible=tuple(g for g in gpus if g.index in visible),
    )


def _amd(d: _Doc, amd: dict[str, Any] | None) -> AmdInfo | None:
    if amd is None:
        return None
    gfx = _texts(d, d.get(amd, "gfx", list, "amd."), "amd.gfx")
    bad = next((g for g in gfx if not (g.startswith("gfx") and g[3:].isalnum() and len(g) <= 8)), None)
    if bad is not None:
        raise d.fail("amd.gfx", f"{bad[:20]!r} is not an AMD GPU architecture")
    return AmdInfo(tuple(gfx), d.text(amd, "rocm_version", "amd."), d.text(amd, "source", "amd.") or "")
