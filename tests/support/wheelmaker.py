"""Build tiny but valid wheels (METADATA, WHEEL, RECORD) so real pip and uv can resolve them."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel_bytes(
    name: str,
    version: str,
    tag: str = "py3-none-any",
    requires: tuple[str, ...] = (),
    requires_python: str | None = None,
    build: str | None = None,
) -> bytes:
    """The bytes of a minimal valid wheel, built in memory; ``build`` (a variant such as cu126)
    goes into the package as ``__build__``, so two builds of one name differ."""
    import io

    buf = io.BytesIO()
    _write(buf, name, version, tag, requires, requires_python, build, {})
    return buf.getvalue()


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    tag: str = "py3-none-any",
    requires: tuple[str, ...] = (),
    requires_python: str | None = None,
    files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write ``{name}-{version}-{tag}.whl`` into ``directory`` and return its path; ``files`` adds
    members or replaces the package's ``__init__.py`` (a stand-in's behaviour), kept in RECORD."""
    path = directory / f"{name.replace('-', '_')}-{version}-{tag}.whl"
    directory.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        _write(f, name, version, tag, requires, requires_python, None, files or {})
    return path


def _write(
    out: BinaryIO,
    name: str,
    version: str,
    tag: str,
    requires: tuple[str, ...],
    requires_python: str | None,
    build: str | None,
    extra: Mapping[str, bytes],
) -> None:
    dist = f"{name.replace('-', '_')}-{version}"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        meta.append(f"Requires-Python: {requires_python}")
    meta += [f"Requires-Dist: {r}" for r in requires]
    files = {
        f"{name.replace('-', '_')}/__init__.py": (
            f"__version__ = {version!r}\n" + (f"__build__ = {build!r}\n" if build else "")
        ).encode(),
        f"{dist}.dist-info/METADATA": ("\n".join(meta) + "\n").encode(),
        f"{dist}.dist-info/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: torchpin-tests\nRoot-Is-Purelib: false\nTag: {tag}\n"
        ).encode(),
        **extra,
    }
    record = "".join(f"{path},{_digest(data)},{len(data)}\n" for path, data in files.items())
    record += f"{dist}.dist-info/RECORD,,\n"
    # A fixed timestamp: the same wheel has the same bytes, so its sha256 is stable.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in [*files.items(), (f"{dist}.dist-info/RECORD", record.encode())]:
            zf.writestr(zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0)), data)
