"""A fake download.pytorch.org, generated from the embedded snapshot and served for real.

Pages look like the real ones (see the index-format notes in the design): 4-space indented
PEP 503 HTML with ``<h1>Links for …</h1>``, ``%2B`` in hrefs, ``#sha256=`` fragments,
absolute links to a second host (the "CDN") for torch-family files, PEP 658/714 metadata
attributes with ``.metadata`` sidecars, a ``<!--TIMESTAMP …-->`` trailer, and 403 for
projects that do not exist. Wheels are tiny real wheels made on demand; the real local
``torch-2.13.0+cpu`` wheel is served in its place when it is on disk.

Knobs (``Knobs``) add latency, 5xx bursts, connection resets, truncated and malformed bodies.

    python -m tests.support.fake_index --port 8000 --latency-ms 50
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.server
import io
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from torchpin.facts.flash_attn import parse_wheel_name
from torchpin.facts.pyg import local_tag
from torchpin.facts.snapshot import Catalog, load_catalog
from torchpin.facts.wheels import platform_key
from torchpin.models import BRINGS, ECOSYSTEM, WheelFile, triton_build

from .wheelmaker import wheel_bytes

ROOT = Path(__file__).resolve().parents[2]
REAL_TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
FOUNDATION = ("torch", "torchvision", "torchaudio", "torchcodec")
# Every variant page also carries copies of torch's dependencies' pages, older than PyPI's (the
# "hybrid index"): a resolver that takes them from here gets stale versions.
# Every dependency of the trio has a copy there, older than PyPI's. setuptools: 70.2.0 was the
# newest copy in June 2026 (vllm-project/vllm#45412); torch 2.13 (July 2026) declares
# setuptools>=77.0.3 and the official `pip install torch --index-url <variant>` works, so a
# copy that satisfies it was added: 77.0.3 is assumed, the lowest that does.
DEPENDENCY_COPIES = {
    "filelock": ("3.13.1", "3.16.1"),
    "fsspec": ("2024.6.1",),
    "jinja2": ("3.1.4",),
    "markupsafe": ("2.1.5",),
    "mpmath": ("1.3.0",),
    "networkx": ("3.3",),
    "numpy": ("2.1.2",),
    "pillow": ("11.0.0",),
    "setuptools": ("70.2.0", "77.0.3"),
    "sympy": ("1.13.3",),
    "typing-extensions": ("4.12.2",),
}
# Their own Requires-Dist, so a resolver walking the copies meets what the real files declare.
DEPENDENCY_REQUIRES = {"sympy": ("mpmath<1.4,>=1.1.0",), "jinja2": ("MarkupSafe>=2.0",)}
# The triton release each torch pins (Requires-Dist of the PyPI torch wheels; 2.14 and 2.15 pin
# ~=3.8.0 / ~=3.9.0: their .0 is served). A ROCm or XPU torch requires its own build of it,
# published on that variant's page only, renamed at 3.6 (pytorch-triton-rocm → triton-rocm).
TRITON_OF = {
    "2.4": "3.0.0",
    "2.5": "3.1.0",
    "2.6": "3.2.0",
    "2.7.0": "3.3.0",
    "2.7.1": "3.3.1",
    "2.8": "3.4.0",
    "2.9.0": "3.5.0",
    "2.9.1": "3.5.1",
    "2.10": "3.6.0",
    "2.11": "3.6.0",
    "2.12.0": "3.7.0",
    "2.12.1": "3.7.1",
    "2.13": "3.7.1",
    "2.14": "3.8.0",
    "2.15": "3.9.0",
}
TRITON = ("rocm", "xpu")
# Ecosystem releases only the variant index has, as their files were seen there (ecosystem.md §1.1).
VARIANT_ONLY = {("flash-attn-3", "3.0.0"): ("flash_attn_3-3.0.0-cp39-abi3-manylinux_2_28_x86_64.whl",)}

# data.pyg.org: pyg-lib's releases and the torch minors each was built for (its CHANGELOG, ecosystem
# facts §4); a page keeps the older releases' wheels. The rusty1s extensions: one release each,
# one wheel per CPython. torch 2.13's page has pyg-lib only; 2.14 and 2.15 have none yet (403).
PYG_LIB = {
    "0.5.0": ("2.4", "2.5", "2.6", "2.7", "2.8"),
    "0.6.0": ("2.8", "2.9", "2.10", "2.11"),
    "0.7.0": ("2.9", "2.10", "2.11", "2.12"),
    "0.8.0": ("2.10", "2.11", "2.12", "2.13"),
}
PYG_PYTHONS = ("cp310", "cp311", "cp312", "cp313")


# GitHub's release-asset layout: /OWNER/REPO/releases/download/vVERSION/FILE answers 302 to another
# host (release-assets.githubusercontent.com) for an asset the release has, 404 otherwise.
FLASH_ATTN_RELEASES = "/Dao-AILab/flash-attention/releases/download"
ASSETS_PATH = "/github-production-release-asset"


def pyg_page_files(catalog: Catalog) -> dict[str, list[str]]:
    """``torch-X.Y.0+VARIANT`` → the wheel names data.pyg.org's page of that name lists."""
    out: dict[str, list[str]] = {}
    for (minor, variant), page in catalog.pyg.items():
        local = local_tag(minor, variant)
        plats = ["linux_x86_64", "win_amd64"] + (["macosx_11_0_arm64"] if variant == "cpu" else [])
        names = []
        for version, minors in PYG_LIB.items():
            if minor not in minors:
                continue
            if version == "0.8.0":  # one abi3 wheel per platform, manylinux_2_28, aarch64 too
                abi3 = ["manylinux_2_28_x86_64", "manylinux_2_28_aarch64", *plats[1:]]
                names += [f"pyg_lib-{version}+{local}-cp310-abi3-{plat}.whl" for plat in abi3]
            else:
                names += [f"pyg_lib-{version}+{local}-{py}-{py}-{plat}.whl" for py in PYG_PYTHONS for plat in plats]
        for project, build in page.recorded.items():
            if project == "pyg-lib":
                continue
            stem = f"{project.replace('-', '_')}-{build.version}+{local}"
            names += [f"{stem}-{py}-{py}-{plat}.whl" for py in PYG_PYTHONS for plat in plats]
        out[f"torch-{minor}.0+{variant}"] = sorted(names)
    return out


def triton_of(torch: Version) -> tuple[str, str] | None:
    """(family, version) → the triton a ROCm or XPU torch release requires, or None."""
    family = next((f for f in TRITON if torch.local and torch.local.startswith(f)), None)
    minor = f"{torch.major}.{torch.minor}"
    version = TRITON_OF.get(str(torch.public)) or TRITON_OF.get(minor)
    if family is None or version is None:
        return None
    return triton_build(family, str(torch.public), "linux_x86_64") or "", version


@dataclass
class Knobs:
    """Faults to inject; each ``*_first`` counts requests per path before behaving normally."""

    latency_s: float = 0.0
    fail_first: int = 0  # answer 503 this many times per path
    reset_first: int = 0  # close the connection without an answer
    truncate_first: int = 0  # send half the body, then close
    malformed: set[str] = field(default_factory=set)  # paths answered 200 with garbage
    missing_variants: set[str] = field(default_factory=lambda: {"cu134"})  # not published
    unlisted: set[str] = field(default_factory=set)  # torch releases a partial mirror lacks (their companions too)
    etag: bool = True
    # File names served with other bytes than their hash: still a valid zip (a byte appended after
    # the archive), as a tampered file would be, so only the hash tells.
    corrupt: set[str] = field(default_factory=set)
    files: dict[str, Path] = field(
        default_factory=dict
    )  # file name → a wheel on disk served as it (a GB-size stand-in)
    torch_requires: tuple[str, ...] = ()  # Requires-Dist added to the made-up torch wheels
    companion_requires: dict[str, tuple[str, ...]] = field(default_factory=dict)  # beside their torch pin
    auth: str | None = None  # "user:password": the index host answers 401 without it (a private mirror)
    cdn: bool = True  # False: file links stay on the index host, as private mirrors serve them
    cache_control: str = "max-age=600, public, must-revalidate"  # prod pages; nightly: no-cache,no-store,...
    # (variant, "torch-X-variants.json") → its bytes: listed on that variant's torch page (PEP 825).
    variants_json: dict[tuple[str, str], bytes] = field(default_factory=dict)


def _platform_tag(release: Version, platform: str, pypi_tags: list[str]) -> str:
    """The platform tag download.pytorch.org uses for a variant wheel."""
    if platform == "linux_x86_64":
        return "linux_x86_64" if release < Version("2.7") else "manylinux_2_28_x86_64"
    if platform == "linux_aarch64":
        return "manylinux2014_aarch64" if release < Version("2.6") else "manylinux_2_28_aarch64"
    if platform == "win_amd64":
        return "win_amd64"
    return pypi_tags[0]


class FakePytorchIndex:
    """The file lists of every variant page, from the snapshot's facts."""

    def __init__(self, catalog: Catalog | None = None, knobs: Knobs | None = None) -> None:
        self.catalog = catalog or load_catalog((ROOT / "data" / "wheel_index.json").read_bytes())
        self.knobs = knobs or Knobs()
        self._bytes: dict[str, bytes] = {}
        self._meta: dict[str, bytes] = {}
        self._sha: dict[int, tuple[bytes, str]] = {}
        self._pages: dict[tuple[str, str, str], str | None] = {}
        self.lock = threading.Lock()

    @cached_property
    def files(self) -> dict[tuple[str, str], list[str]]:
        """(variant, project) → wheel filenames on that page."""
        pages: dict[tuple[str, str], set[str]] = {}
        for release in self.catalog.releases:
            if str(release.version) in self.knobs.unlisted:
                continue
            for build in release.builds:
                if build.variant.name in self.knobs.missing_variants:
                    continue
                self._add(
                    pages, release.version, build.variant.name, build.platform, "torch", str(release.version), release
                )
                for pair in release.companions.values():
                    base = self.catalog.release(pair.built_with)
                    if base and (
                        base.build(build.variant.name, build.platform) or build.variant.name in pair.extra_variants
                    ):
                        self._add(
                            pages,
                            release.version,
                            build.variant.name,
                            build.platform,
                            pair.project,
                            pair.version,
                            release,
                        )
        # PyTorch lists its macOS wheels (PyPI's, untagged) on every variant page of the release,
        # not only on cpu's: one requirements file then serves a CUDA Linux box and a Mac.
        for release in self.catalog.releases:
            macs = [b for b in release.builds if b.platform.startswith("macos_")]
            variants = {b.variant.name for b in release.builds} - set(self.knobs.missing_variants)
            for mac in macs:
                for variant in sorted(variants - {mac.variant.name}):
                    self._add(
                        pages,
                        release.version,
                        variant,
                        mac.platform,
                        "torch",
                        str(release.version),
                        release,
                        untagged=True,
                    )
                    for pair in release.companions.values():
                        self._add(
                            pages,
                            release.version,
                            variant,
                            mac.platform,
                            pair.project,
                            pair.version,
                            release,
                            untagged=True,
                        )
        self._add_ecosystem(pages)
        for variant in {v for v, _ in pages}:
            for project, versions in DEPENDENCY_COPIES.items():
                pages[(variant, project)] = {f"{project.replace('-', '_')}-{v}-py3-none-any.whl" for v in versions}
            for name in pages.get((variant, "torch"), set()).copy():
                torch = parse_wheel_filename(name)[1]
                if "-cp" not in name or (triton := triton_of(torch)) is None:
                    continue
                project, version = triton
                t = name.split("-")[-3]
                wheel = f"{project.replace('-', '_')}-{version}-{t}-{t}-manylinux_2_28_x86_64.whl"
                pages.setdefault((variant, project), set()).add(wheel)
        return {k: sorted(v) for k, v in pages.items()}

    def _add_ecosystem(self, pages: dict[tuple[str, str], set[str]]) -> None:
        """Ecosystem releases on every variant page their publisher uploads to. Untagged ones
        (xformers) under PyPI's own file names, a different build on each page (``wheel``);
        tagged ones (torchao, fbgemm-gpu, torchrec) as ``+variant`` of PyPI's files: on a GPU page
        the platform builds only where PyPI has any (torchao's none-any file is its CPU build)."""
        published = {(b.variant.name, b.platform) for r in self.catalog.releases for b in r.builds}
        for project in ECOSYSTEM:
            for release in self.catalog.projects.get(project, {}).values():
                if release.builds is None:
                    continue
                files = release.files()
                built = [f for f in files if not f.filename.endswith("-any.whl")] or list(files)
                for variant in sorted(release.builds.variants - set(self.knobs.missing_variants)):
                    # A release PyPI doesn't have (flash-attn-3): the file names seen on the index.
                    recorded = [
                        WheelFile(name, None, None) for name in VARIANT_ONLY.get((project, release.version), ())
                    ]
                    for f in recorded or (files if variant == "cpu" or not release.builds.tagged else built):
                        tags = parse_wheel_filename(f.filename)[3]
                        plats = {platform_key(t.platform) for t in tags}
                        # A none-any wheel installs wherever the variant's torch does.
                        if not any((variant, p) in published for p in plats) and not any(
                            t.platform == "any" for t in tags
                        ):
                            continue
                        name = f.filename
                        if release.builds.tagged:
                            stem, version, rest = f.filename.split("-", 2)
                            name = f"{stem}-{version}+{variant}-{rest}"
                        pages.setdefault((variant, project), set()).add(name)

    @cached_property
    def pyg_files(self) -> dict[str, list[str]]:
        return pyg_page_files(self.catalog)

    def pyg_page(self, name: str) -> str | None:
        """data.pyg.org's page ``name`` (``torch-2.11.0+cu128``) as its upload script writes it:
        relative links with '+' as %2B, the wheel name as the text, no hashes."""
        files = self.pyg_files.get(name)
        if files is None:
            return None
        folder = urllib.parse.quote(name)
        rows = "\n".join(f'  <a href="{folder}/{urllib.parse.quote(f)}">{f}</a><br/>' for f in files)
        return f"<!DOCTYPE html>\n<html>\n<body>\n{rows}\n</body>\n</html>"

    def pyg_wheel(self, filename: str) -> bytes:
        """A stand-in of one of PyG's wheels: it declares nothing, as the real ones don't."""
        with self.lock:
            if filename not in self._bytes:
                name, version, _, _ = parse_wheel_filename(filename)
                tag = filename[len(f"{name.replace('-', '_')}-{version}-") : -len(".whl")]
                self._bytes[filename] = wheel_bytes(str(name), str(version), tag)
            return self._bytes[filename]

    def flash_attn_asset(self, version: str, filename: str) -> bytes | None:
        """flash-attn ``version``'s release asset ``filename``, when its build matrix made it (2.8.3.post1:
        only the files seen there). It requires torch and einops unpinned, as the real one does."""
        release = self.catalog.flash_attn.releases.get(version)
        parsed = parse_wheel_name(filename)
        if release is None or parsed is None or parsed[0] != version:
            return None
        asset = parsed[1]
        if not release.builds(asset) or (release.seen is not None and asset.local not in release.seen):
            return None
        with self.lock:
            if filename not in self._bytes:
                tag = f"{asset.python.tag}-{asset.python.tag}-linux_x86_64"
                # As the real ones: publish.yml renames the built wheel, so the local tag is in the
                # file name only; METADATA says "flash-attn" and the public version (flash-attention#730).
                # __build__ tells the tests which file was installed.
                self._bytes[filename] = wheel_bytes("flash-attn", version, tag, ("torch", "einops"), build=asset.local)
            return self._bytes[filename]

    def build_of(self, filename: str, variant: str | None) -> str | None:
        """Which variant's build an untagged ecosystem file is: the page's, or on PyPI the one its
        publisher uploaded there (None: the file's name says it)."""
        name, version, _, _ = parse_wheel_filename(filename)
        if str(name) not in ECOSYSTEM or version.local:
            return None
        release = self.catalog.project(str(name), str(version))
        if release is None or release.builds is None:
            return None
        return variant or release.builds.pypi_build

    def _add(
        self,
        pages: dict[tuple[str, str], set[str]],
        rel: Version,
        variant: str,
        plat: str,
        project: str,
        version: str,
        release: Any,
        *,
        untagged: bool = False,
    ) -> None:
        pypi = self.catalog.project(project, version)
        if pypi is None:
            return
        untagged = untagged or (variant == "cpu" and plat in release.untagged_cpu)
        local = version if untagged else f"{version}+{variant}"
        arm = plat == "macos_arm64"
        pypi_platform_tags = sorted(
            t.platform
            for f in pypi.raw_files
            for t in parse_wheel_filename(f["filename"])[3]
            if t.platform.startswith("macosx") and ("arm64" in t.platform) == arm
        )
        tag_platform = _platform_tag(rel, plat, pypi_platform_tags or ["any"])
        for pytag in sorted(pypi.python_tags(plat)):
            pages.setdefault((variant, project), set()).add(f"{project}-{local}-{pytag}-{tag_platform}.whl")

    def wheel(self, filename: str, variant: str | None = None) -> bytes:
        """The bytes of ``filename`` as the ``variant`` page serves it."""
        build = self.build_of(filename, variant)
        key = f"{build}/{filename}" if build else filename
        with self.lock:
            if key not in self._bytes:
                if filename in self.knobs.files:
                    self._bytes[key] = self.knobs.files[filename].read_bytes()
                elif filename == REAL_TORCH.name and REAL_TORCH.exists():
                    self._bytes[key] = REAL_TORCH.read_bytes()
                else:
                    self._bytes[key] = self.stand_in(filename, self.knobs.torch_requires, build=build)
            return self._bytes[key]

    def stand_in(self, filename: str, torch_requires: tuple[str, ...] = (), build: str | None = None) -> bytes:
        """A tiny real wheel for ``filename``: companions and ecosystem packages declare what the
        real one declares on torch; torch itself declares ``torch_requires``. An untagged ecosystem
        file is the ``build`` of that variant (default: the build PyPI got), and says so."""
        name, version, _, _ = parse_wheel_filename(filename)
        requires = torch_requires
        if name == "torch" and (triton := triton_of(version)) is not None:  # as the real ROCm/XPU wheels do
            requires = (*requires, f'{triton[0]}=={triton[1]}; platform_system == "Linux"')
        build = build or self.build_of(filename, None)
        if name not in FOUNDATION and name not in ECOSYSTEM:
            requires = DEPENDENCY_REQUIRES.get(str(name), ())
        elif name in BRINGS:  # torchrec: fbgemm-gpu unpinned, no torch
            requires = BRINGS[str(name)]
        elif name != "torch":
            declared = self.torch_requirement(str(name), version.public)
            requires = ((declared,) if declared else ()) + self.knobs.companion_requires.get(str(name), ())
        tag = filename[len(f"{name}-{version}-") : -len(".whl")]
        return wheel_bytes(str(name), str(version), tag, requires=requires, build=build)

    def torch_requirement(self, project: str, version: str) -> str | None:
        """What the real companion wheel declares on torch: its recorded Requires-Dist (a range such as
        ``torch>=2.14.0`` for the newest), else the exact pin older releases carried."""
        known = self.catalog.project(project, version)
        if known is not None:  # recorded from the real metadata: torchaudio 2.11.0 declares nothing
            return f"torch{known.requires_torch}" if known.requires_torch is not None else None
        for release in self.catalog.releases:
            pair = release.companions.get(project)
            if pair is not None and pair.version == version:
                return f"torch=={pair.built_with}"
        return "torch"

    def sha256(self, filename: str, variant: str | None = None) -> str:
        return self.digest(self.wheel(filename, variant))

    def digest(self, body: bytes) -> str:
        """sha256 of served bytes, once per wheel (the bytes are cached): a GB-size stand-in takes
        seconds to hash, which every request would otherwise pay in its ETag."""
        if len(body) < 1 << 20:
            return hashlib.sha256(body).hexdigest()
        with self.lock:
            known = self._sha.get(id(body))
            if known is None or known[0] is not body:
                known = self._sha[id(body)] = (body, hashlib.sha256(body).hexdigest())
            return known[1]

    def metadata(self, filename: str) -> bytes:
        """The wheel's own METADATA (PEP 658 sidecar), read out of the served bytes (every build
        of a name declares the same)."""
        with self.lock:
            if filename in self._meta:
                return self._meta[filename]
        with zipfile.ZipFile(io.BytesIO(self.wheel(filename))) as zf:
            member = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            data = zf.read(member)
        with self.lock:
            self._meta[filename] = data
        return data

    def page(self, variant: str, project: str, cdn: str) -> str | None:
        key = (variant, project, cdn)
        if key not in self._pages:
            self._pages[key] = self._render(variant, project, cdn)
        return self._pages[key]

    def _render(self, variant: str, project: str, cdn: str) -> str | None:
        names = self.files.get((variant, project))
        if names is None:
            return None
        lines = ["<!DOCTYPE html>", "<html>", "  <body>", f"    <h1>Links for {project}</h1>"]
        for name in names:
            href = urllib.parse.quote(name)  # '+' → %2B, as S3 keys are stored
            prefix = f"{cdn}/whl/{variant}" if project in FOUNDATION and self.knobs.cdn else f"/whl/{variant}"
            meta, sha = hashlib.sha256(self.metadata(name)).hexdigest(), self.sha256(name, variant)
            lines.append(
                f'    <a href="{prefix}/{href}#sha256={sha}" data-dist-info-metadata="sha256={meta}"'
                f' data-core-metadata="sha256={meta}">{name}</a><br/>'
            )
        for (on, name), body in sorted(self.knobs.variants_json.items()) if project == "torch" else ():
            if on == variant:
                sha = hashlib.sha256(body).hexdigest()
                lines.append(f'    <a href="/whl/{variant}/{name}#sha256={sha}">{name}</a><br/>')
        lines += ["  </body>", "</html>", "<!--TIMESTAMP 1763700000-->", ""]
        return "\n".join(lines)

    def flat(self, variant: str) -> str | None:
        """A directory listing of every wheel of a variant, as flat mirrors serve (``&#43;`` for '+')."""
        names = sorted(n for (v, _), ns in self.files.items() if v == variant for n in ns)
        if not names:
            return None
        rows = "\n".join(f'<a href="{n.replace("+", "&#43;")}">{n}</a>  2026-01-01 00:00  1M' for n in names)
        return f"<html><head><title>Index of /{variant}/</title></head><body><pre>\n{rows}\n</pre></body></html>\n"

    def variants_page(self) -> str:
        names = sorted({v for v, _ in self.files})
        rows = "\n".join(f'<a href="{n}/">{n}/</a>' for n in names)
        return f"<html><body><pre>\n{rows}\n</pre></body></html>\n"

    def root(self, variant: str) -> str | None:
        projects = sorted({p for v, p in self.files if v == variant})
        if not projects:
            return None
        body = "\n".join(f'    <a href="{p}/">{p}</a><br/>' for p in projects)
        return f"<!DOCTYPE html>\n<html>\n  <body>\n{body}\n  </body>\n</html>\n<!--TIMESTAMP 1763700000-->\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        # uv probes flat-mirror wheels with HEAD (to try range requests for their metadata).
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if not self._authorized() or self._github(path):
            return
        body, ctype = self._body(path)
        if body is None:
            self._send(403, b"", "application/xml")
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()

    def _authorized(self) -> bool:
        """Record what credentials came; on the index host of a private mirror, demand them."""
        srv = self.server
        sent = self.headers.get("Authorization")
        with srv.state_lock:
            srv.auth_seen.append(sent)
        wanted = srv.index.knobs.auth
        if wanted is None or srv.is_cdn:
            return True
        import base64

        if sent == "Basic " + base64.b64encode(wanted.encode()).decode():
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="mirror"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self) -> None:
        srv = self.server
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        with srv.state_lock:
            srv.hits[path] += 1
            count = srv.hits[path]
        if not self._authorized() or self._github(path):
            return
        knobs = srv.index.knobs
        if knobs.latency_s:
            time.sleep(knobs.latency_s)
        if count <= knobs.reset_first:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return
        if count <= knobs.fail_first:
            self._send(503, b"Service Unavailable", "text/plain")
            return
        body, ctype = self._body(path)
        if body is None:
            # S3 answers 403 AccessDenied for keys that do not exist, projects it lacks included
            # (uv stops at a 403 from any host but download.pytorch.org itself).
            self._send(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
            return
        if path in knobs.malformed:
            body = b"\x00\xff<<not an index page"
        etag = '"' + srv.index.digest(body)[:16] + '"'
        if knobs.etag and self.headers.get("If-None-Match") == etag:
            with srv.state_lock:
                srv.not_modified[path] += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with srv.state_lock:
            srv.full[path] += 1
        if count <= knobs.fail_first + knobs.reset_first + knobs.truncate_first and knobs.truncate_first:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.end_headers()  # no Content-Length: the cut only shows in the content
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        # Production's Cache-Control is set on the index pages it uploads (test-infra #6188); the
        # wheels and sidecars are S3 objects stored without one.
        page = ctype == "text/html"
        self._send(200, body, ctype, etag=etag if knobs.etag else None, cache=page)

    def _body(self, path: str) -> tuple[bytes | None, str]:
        idx = self.server.index
        parts = [p for p in path.split("/") if p]
        if self.server.role == "pyg":
            return self._pyg(parts)
        if len(parts) == 3 and "/" + parts[0] == ASSETS_PATH:  # the asset host GitHub redirects to
            return idx.flash_attn_asset(parts[1].removeprefix("v"), parts[2]), "application/octet-stream"
        if len(parts) == 3 and parts[0] == "whl":  # /whl/<variant>/<project>/ or /whl/<variant>/<file>
            variant, leaf = parts[1], parts[2]
            if (variant, leaf) in idx.knobs.variants_json:
                return idx.knobs.variants_json[(variant, leaf)], "application/json"
            if leaf.endswith(".whl.metadata"):
                return idx.metadata(leaf[: -len(".metadata")]), "application/octet-stream"
            if leaf.endswith(".whl"):
                try:
                    project = str(parse_wheel_filename(leaf)[0])
                except InvalidWheelFilename:
                    return None, ""
                if leaf not in idx.files.get((variant, project), []):
                    return None, ""
                if leaf in idx.knobs.corrupt:
                    return idx.wheel(leaf, variant) + b"\0", "application/octet-stream"
                return idx.wheel(leaf, variant), "application/octet-stream"
            page = idx.page(variant, leaf, self.server.cdn_url)
            return (page.encode() if page else None), "text/html"
        if len(parts) == 2 and parts[0] == "whl":
            root = idx.root(parts[1])
            return (root.encode() if root else None), "text/html"
        if parts in (["whl"], ["flat"]):
            return idx.variants_page().encode(), "text/html"
        if len(parts) == 2 and parts[0] == "flat":
            flat = idx.flat(parts[1])
            return (flat.encode() if flat else None), "text/html"
        if len(parts) == 3 and parts[0] == "flat" and parts[2].endswith(".whl"):
            return idx.wheel(parts[2], parts[1]), "application/octet-stream"
        return None, ""

    def _github(self, path: str) -> bool:
        """GitHub's release download URL: a redirect to the asset host, or 404 (answered: True)."""
        if self.server.role != "github":
            return False
        version, _, filename = path.removeprefix(FLASH_ATTN_RELEASES + "/v").partition("/")
        if path.startswith(FLASH_ATTN_RELEASES + "/v") and self.server.index.flash_attn_asset(version, filename):
            where = f"{self.server.assets_url}{ASSETS_PATH}/v{version}/{urllib.parse.quote(filename)}?sp=r&sig=x"
            self.send_response(302)
            self.send_header("Location", where)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        self._send(404, b"Not Found", "text/plain")
        return True

    def _pyg(self, parts: list[str]) -> tuple[bytes | None, str]:
        """data.pyg.org: /whl/torch-X.Y.0+V.html, and each wheel under /whl/torch-X.Y.0+V/."""
        idx = self.server.index
        if len(parts) == 2 and parts[0] == "whl" and parts[1].endswith(".html"):
            page = idx.pyg_page(parts[1][: -len(".html")])
            return (page.encode() if page else None), "text/html"
        if len(parts) == 3 and parts[0] == "whl" and parts[2] in idx.pyg_files.get(parts[1], ()):
            return idx.pyg_wheel(parts[2]), "application/octet-stream"
        return None, ""

    def _send(self, code: int, body: bytes, ctype: str, etag: str | None = None, cache: bool = False) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if cache:
            self.send_header("Cache-Control", self.server.index.knobs.cache_control)
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops the SYNs of a client opening many connections: 1 s stalls
    index: FakePytorchIndex
    cdn_url: str

    def __init__(self, addr: tuple[str, int], index: FakePytorchIndex) -> None:
        super().__init__(addr, _Handler)
        self.index = index
        self.hits: Counter[str] = Counter()
        self.full: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.auth_seen: list[str | None] = []  # the Authorization header of each request
        self.is_cdn = False
        self.role = "index"  # or "pyg": data.pyg.org's pages and files; or "github": release downloads
        self.assets_url = ""  # where "github" redirects to: the CDN host, as GitHub's asset host
        self.state_lock = threading.Lock()

    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[Any, Any]:
        # Headers and body go out as separate writes; without NODELAY, Nagle and the peer's
        # delayed ACK add ~40 ms to every answer, which no real index does.
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:  # the handshake runs in the connection's own thread (finish_request)
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        # A real server shakes hands with many clients at once: doing it in accept() would make
        # every new connection wait for the ones before it.
        if self.tls is not None:
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that drop the connection (a refused certificate, a deadline) are what the
        # fault tests provoke; anything else is printed as usual.
        import sys as _sys

        if not isinstance(_sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


class FakeIndexServer:
    """Two real servers on 127.0.0.1: the index, and a second host the file links point at."""

    def __init__(
        self,
        index: FakePytorchIndex | None = None,
        *,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.index = index or FakePytorchIndex()
        self.main = _Server((host, port), self.index)
        self.cdn = _Server((host, 0), self.index)
        self.cdn.is_cdn = True
        self.pyg = _Server((host, 0), self.index)
        self.pyg.is_cdn = True  # public, whatever the index demands
        self.pyg.role = "pyg"
        self.github = _Server((host, 0), self.index)
        self.github.is_cdn = True
        self.github.role = "github"
        scheme = "https" if tls else "http"
        if tls:
            for srv in self.servers:
                srv.tls = tls
        # "localhost" for the CDN so the file host differs from the index host by name too
        self.url = f"{scheme}://{host}:{self.main.server_address[1]}"
        self.cdn_url = f"{scheme}://localhost:{self.cdn.server_address[1]}"
        self.main.cdn_url = self.cdn.cdn_url = self.pyg.cdn_url = self.cdn_url
        self.pyg_url = f"{scheme}://{host}:{self.pyg.server_address[1]}/whl"  # TORCHPIN_PYG_URL
        self.github.assets_url = self.cdn_url
        # TORCHPIN_FLASH_ATTN_URL
        self.flash_attn_url = f"{scheme}://{host}:{self.github.server_address[1]}{FLASH_ATTN_RELEASES}"
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in self.servers]

    @property
    def servers(self) -> tuple[_Server, ...]:
        return (self.main, self.cdn, self.pyg, self.github)

    @property
    def base(self) -> str:
        return f"{self.url}/whl"

    def __enter__(self) -> FakeIndexServer:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()

    def hits(self) -> Counter[str]:
        return self.main.hits + self.cdn.hits + self.pyg.hits + self.github.hits


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Serve a fake download.pytorch.org on 127.0.0.1.")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--latency-ms", type=float, default=0)
    ap.add_argument("--fail-first", type=int, default=0, help="503 this many times per path first")
    args = ap.parse_args(argv)
    server = FakeIndexServer(
        FakePytorchIndex(knobs=Knobs(latency_s=args.latency_ms / 1000, fail_first=args.fail_first)), port=args.port
    )
    with server:
        print(
            f"serving {server.base} (files on {server.cdn_url}; PyG's pages on {server.pyg_url};"
            f" flash-attn's releases at {server.flash_attn_url}); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
