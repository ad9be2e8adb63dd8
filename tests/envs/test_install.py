"""`torchpin install` and `verify` for real: fresh venvs, real pip and uv, the real CPU torch
wheel served by the fake index, and failures midway. Dependencies of the real torch come
from PyPI (a registry this machine reaches); those tests skip, saying so, when it doesn't."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from tests.conftest import target
from tests.support.cli import run as run_cli
from tests.support.fake_index import REAL_TORCH, FakeIndexServer, FakePytorchIndex
from tests.support.venvs import new_venv
from torchpin.decide.select import select
from torchpin.envs.install import index_args, install_argv, stale_family, uninstall_argv
from torchpin.facts.snapshot import Catalog
from torchpin.locks.read import read_lock
from torchpin.models import Requirement


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "TORCHPIN_", "VIRTUAL_ENV"))}
    out.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return out


def torchpin(*args: str, environ: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=environ, timeout=timeout)


def venv(path: Path) -> Path:
    return new_venv(path)


def pypi_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/filelock/", timeout=10).close()
        return True
    except OSError:
        return False


# ---- pure parts


def test_argv_builders(catalog: Catalog) -> None:
    plan = select(target("3.12"), catalog, [])
    pages = [
        part
        for name in ("torch", "torchvision", "torchaudio")
        for part in ("--find-links", f"{plan.index_url}/{name}/")
    ]
    assert index_args(plan) == ["--index-url", "https://pypi.org/simple", *pages]
    assert install_argv("pip", "/v/bin/python", None, ["--index-url", "X"], ["torch==1"]) == [
        "/v/bin/python",
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--index-url",
        "X",
        "torch==1",
    ]
    assert install_argv("uv", "/v/bin/python", "/u/uv", [], ["t.whl"]) == [
        "/u/uv",
        "pip",
        "install",
        "--python",
        "/v/bin/python",
        "t.whl",
    ]
    assert uninstall_argv("pip", "/p", None, ["torchaudio"]) == [
        "/p",
        "-m",
        "pip",
        "uninstall",
        "-y",
        "--disable-pip-version-check",
        "torchaudio",
    ]
    assert uninstall_argv("uv", "/p", "/u/uv", ["torchaudio"]) == [
        "/u/uv",
        "pip",
        "uninstall",
        "--python",
        "/p",
        "torchaudio",
    ]


def test_stale_family_is_what_would_be_left_mixed(catalog: Catalog) -> None:
    plan = select(target("3.12"), catalog, [])  # the cpu trio
    torch_only = select(target("3.12"), catalog, [Requirement("torch")])
    installed = {
        "torch": "2.13.0+cu126",
        "torchaudio": "2.11.0+cu126",
        "torchvision": "0.29.1+cpu",
        "torchcodec": "0.16.0",
    }
    assert stale_family(installed, plan) == ["torchcodec"]  # pinned ones are replaced by the installer
    assert stale_family(installed, torch_only) == ["torchaudio", "torchcodec"]  # another build, not in the lock


def test_a_pyg_extension_is_stale_beside_another_torch_minor_only(catalog: Catalog) -> None:
    plan = select(target("3.12"), catalog, [Requirement("torch", SpecifierSet("==2.12.1"))])  # 2.12.1+cpu
    assert stale_family({"torch-scatter": "2.1.2+pt212cpu", "pyg-lib": "0.8.0+pt212cpu"}, plan) == []
    assert stale_family({"torch-scatter": "2.1.2+pt211cpu", "torch-cluster": "1.6.3+pt212cu126"}, plan) == [
        "torch-cluster",
        "torch-scatter",
    ]


# ---- real installs


@pytest.fixture(scope="module")
def index() -> Iterator[FakeIndexServer]:
    with FakeIndexServer(FakePytorchIndex()) as srv:
        yield srv


@pytest.fixture(scope="module")
def installed(index: FakeIndexServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """torch 2.13.0+cpu installed with pip and with uv into fresh venvs; lock paths kept."""
    if not REAL_TORCH.exists():
        pytest.skip(f"the real CPU torch wheel is not on this machine ({REAL_TORCH})")
    if not pypi_reachable():
        pytest.skip("PyPI is unreachable: the real torch's dependencies (filelock, sympy, ...) come from it")
    out = {}
    for installer in ("pip", "uv"):
        tmp = tmp_path_factory.mktemp(f"install-{installer}")
        python = venv(tmp / "venv")
        lock = tmp / "torchpin.lock.txt"
        r = torchpin(
            "install",
            "--backend",
            "cpu",
            "torch==2.13.0",
            "--installer",
            installer,
            "--python",
            str(python),
            "--index-url",
            index.base,
            "--no-fallback",
            "-o",
            str(lock),
            environ=env(TORCHPIN_CACHE_DIR=str(tmp / "cache"), UV_CACHE_DIR=str(tmp / "uvc")),
        )
        assert r.returncode == 0, r.stderr[-3000:]
        # pip gets the file torchpin read and checked; uv checks torch's sha256 as it downloads it
        assert ("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl: 191.8 MB, sha256 ok" in r.stderr) is (
            installer == "pip"
        )
        assert f"installing with {installer}" in r.stderr
        out[installer] = (python, lock)
    return out


@pytest.mark.slow
def test_verify_against_a_full_lock_reads_the_torch_family_only(installed: dict[str, tuple[Path, Path]]) -> None:
    # A --full lock pins torch's dependencies too; the smoke test reads the torch family, so
    # those pins are not "locked but not installed" (issue 16, item 6).
    python, lock = installed["pip"]
    full = lock.parent / "full.txt"
    sha = "0" * 64
    full.write_text(
        "# Generated by torchpin 0.1.0: torch 2.13.0, backend cpu.\n"
        "--index-url https://pypi.org/simple\n--extra-index-url https://download.pytorch.org/whl/cpu\n"
        f"filelock==3.16.1 \\\n    --hash=sha256:{sha}\n"
        f"torch==2.13.0+cpu \\\n    --hash=sha256:{sha}\n"
        f"sympy==1.14.0 \\\n    --hash=sha256:{sha}\n"
    )
    assert read_lock(full.read_text()).hashed
    r = torchpin("verify", "--python", str(python), "--lock", str(full), "--json", environ=env())
    status = {c["id"]: c["status"] for c in json.loads(r.stdout)["checks"]}
    assert r.returncode == 0 and status["installed-set"] == "pass", r.stdout + r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_install_then_verify_passes_every_cpu_check(installed: dict[str, tuple[Path, Path]], installer: str) -> None:
    python, lock = installed[installer]
    assert read_lock(lock.read_text()).pins == {"torch": "2.13.0+cpu"}
    r = torchpin("verify", "--python", str(python), "--lock", str(lock), "--json", environ=env())
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    status = {c["id"]: c["status"] for c in report["checks"]}
    assert report["ok"] is True
    assert status["installed-set"] == "pass" and status["build-identity"] == "pass"
    assert status["import"] in ("pass", "warn")  # warn: NumPy is not a torch dependency
    assert status["cpu-half"] == "warn"  # stft in half precision fails on CPU in 2.13: advise float32
    for gpu_check in ("arch-coverage", "gpu-half", "cudnn-rnn", "gpu-compute"):
        assert status[gpu_check] == "skip"
    assert [c["id"] for c in report["checks"]] == [
        "interpreter",
        "installed-set",
        "import",
        "build-identity",
        "arch-coverage",
        "companions",
        "ecosystem",
        "audio-io",
        "cpu-half",
        "gpu-half",
        "cudnn-rnn",
        "gpu-compute",
    ]


@pytest.mark.slow
def test_pypi_torchvision_beside_cpu_torch_is_diagnosed(
    installed: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    python, lock = installed["pip"]
    wheels = tmp_path / "wheels"
    got = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.11",
            "--platform",
            "manylinux_2_28_x86_64",
            "-d",
            str(wheels),
            "torchvision==0.28.0",
        ],
        capture_output=True,
        text=True,
        env=env(),
        timeout=600,
        check=False,
    )
    if got.returncode != 0:
        pytest.skip(f"cannot download torchvision 0.28.0 from PyPI: {got.stderr.strip()[-200:]}")
    (wheel,) = wheels.glob("torchvision-0.28.0-*.whl")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, env=env(), timeout=600
    )
    try:
        verify = torchpin("verify", "--python", str(python), "--lock", str(lock), "--json", environ=env())
        assert verify.returncode == 6
        checks = {c["id"]: c for c in json.loads(verify.stdout)["checks"]}
        assert checks["installed-set"]["status"] == "fail"
        assert (
            "torchvision 0.28.0 is a cu130 build but torch 2.13.0+cpu is a cpu build [FM-04]"
            in checks["installed-set"]["detail"]
        )
        assert checks["companions"]["status"] == "fail"
        assert "operator torchvision::nms does not exist" in checks["companions"]["detail"]
        doctor = torchpin("doctor", "--python", str(python), environ=env())
        assert doctor.returncode == 6
        last = doctor.stderr.strip().splitlines()[-1]
        assert "to fix: torchpin install torch==2.13.0+cpu torchvision==0.28.0+cpu --backend cpu" in last
    finally:
        subprocess.run(
            [str(python), "-m", "pip", "uninstall", "-y", "-q", "torchvision"], check=True, env=env(), timeout=300
        )


# What xformers says when it loads against another torch (its C extension), as users report it.
XFORMERS_ABI = (
    "ImportError: /v/site-packages/xformers/_C.so: undefined symbol: "
    "_ZN3c104cuda9SetDeviceEab"  # c10::cuda::SetDevice(signed char, bool): a symbol 2.13 doesn't have
)


@pytest.mark.parametrize("broken", [False, True], ids=["imports", "abi-mismatch"])
@pytest.mark.slow
def test_verify_and_doctor_check_an_installed_xformers(
    installed: dict[str, tuple[Path, Path]], tmp_path: Path, broken: bool
) -> None:
    """verify imports xformers beside the real torch; an ABI failure names xformers, and the fix
    pairs it with the installed torch again."""
    from tests.support.wheelmaker import make_wheel

    python, _ = installed["pip"]
    # the real failure is the dynamic loader's; the broken stand-in raises its exact text
    code = f"raise ImportError({XFORMERS_ABI.split(': ', 1)[1]!r})\n" if broken else ""
    init = {"xformers/__init__.py": f"__version__ = '0.0.35'\n{code}".encode()}
    wheel = make_wheel(tmp_path, "xformers", "0.0.35", "py39-none-manylinux_2_28_x86_64", files=init)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "-q", "--no-compile", str(wheel)],
        check=True,
        env=env(),
        timeout=600,
    )
    try:
        verify = torchpin("verify", "--python", str(python), "--json", environ=env())
        checks = {c["id"]: c for c in json.loads(verify.stdout)["checks"]}
        got = checks["ecosystem"]
        if not broken:
            assert verify.returncode == 0, verify.stdout
            assert (
                got["status"] == "skip" and "xformers 0.0.35 imports" in got["detail"] and "CUDA GPU" in got["detail"]
            )
            return
        assert verify.returncode == 6
        assert got["status"] == "fail" and "undefined symbol" in got["detail"] and "[FM-04]" in got["detail"]
        assert got["fix"] == "torchpin install torch==2.13.0+cpu xformers --backend cpu"
        doctor = torchpin("doctor", "--python", str(python), environ=env())
        assert doctor.returncode == 6 and "xformers" in doctor.stderr
    finally:
        subprocess.run(
            [str(python), "-m", "pip", "uninstall", "-y", "-q", "xformers"], check=True, env=env(), timeout=300
        )


# torchao's own words when its C++ ops don't match the torch (torchao/__init__.py, <=0.16).
TORCHAO_SKIP = (
    "Skipping import of cpp extensions due to incompatible torch version 2.13.0+cpu for torchao version 0.16.0"
    " Please see https://github.com/pytorch/ao/issues/2919 for more info"
)
# What xformers logs at import when its extension was built for another torch (_cpp_lib.py, 0.0.34).
XFORMERS_SAYS = (
    "WARNING[XFORMERS]: xFormers can't load C++/CUDA extensions. xFormers was built for:\n"
    "    PyTorch 2.10.0+cu128 with CUDA 1208 (you have 2.13.0+cpu)\n"
    "    Python  3.11.7 (you have 3.11.7)"
)
# A stand-in fbgemm_gpu registering the one CPU kernel verify runs, as the real library does.
FBGEMM_OPS = """
import torch
_lib = torch.library.Library("fbgemm", "DEF")
_lib.define("asynchronous_complete_cumsum(Tensor t) -> Tensor")
_lib.impl("asynchronous_complete_cumsum", lambda t: torch.cat([t.new_zeros(1), t.cumsum(0)]), "CPU")
"""


@pytest.mark.parametrize(
    ("dist", "version", "code", "status"),
    [
        ("torchao", "0.16.0", f"import warnings\nwarnings.warn({TORCHAO_SKIP!r})\n", "fail"),
        ("fbgemm-gpu", "1.6.0", FBGEMM_OPS, "pass"),
        ("xformers", "0.0.34", f"import sys\nprint({XFORMERS_SAYS!r}, file=sys.stderr)\n", "fail"),
    ],
    ids=["torchao-skips-its-ops", "fbgemm-cpu-kernel", "xformers-prints-its-mismatch"],
)
@pytest.mark.slow
def test_verify_runs_the_table_paired_packages(
    installed: dict[str, tuple[Path, Path]], tmp_path: Path, dist: str, version: str, code: str, status: str
) -> None:
    """torchao's import-time warning is an ABI mismatch with the fix; fbgemm-gpu runs a CPU kernel."""
    from tests.support.wheelmaker import make_wheel

    python, _ = installed["pip"]
    module = dist.replace("-", "_")
    init = {f"{module}/__init__.py": f"__version__ = {version!r}\n{code}".encode()}
    patched = make_wheel(tmp_path, dist, version, "py3-none-any", files=init)
    pip = [str(python), "-m", "pip"]
    subprocess.run(
        [*pip, "install", "--no-deps", "-q", "--no-compile", str(patched)], check=True, env=env(), timeout=600
    )
    try:
        verify = torchpin("verify", "--python", str(python), "--json", environ=env())
        got = {c["id"]: c for c in json.loads(verify.stdout)["checks"]}["ecosystem"]
        assert got["status"] == status, got
        if status == "pass":
            assert (
                verify.returncode == 0 and "asynchronous_complete_cumsum on the CPU gave [0, 1, 3, 6]" in got["detail"]
            )
            return
        assert verify.returncode == 6 and "[FM-04]" in got["detail"] and dist in got["detail"]
        assert got["fix"] == f"torchpin install torch==2.13.0+cpu {dist} --backend cpu"
    finally:
        subprocess.run([*pip, "uninstall", "-y", "-q", dist], check=True, env=env(), timeout=300)


# A stand-in whose import loads a real shared library needing a symbol torch doesn't export, as
# torch_scatter's and pyg_lib's imports do: the failure text is the dynamic loader's own.
LOADS_ITS_LIBRARY = "import os, torch\ntorch.ops.load_library(os.path.join(os.path.dirname(__file__), '_C.so'))\n"
# torch-scatter's segment_csr, backed by an operator registered the way its library registers it.
SCATTER_OPS = """
import torch
_lib = torch.library.Library("torch_scatter", "DEF")
_lib.define("segment_sum_csr(Tensor src, Tensor indptr) -> Tensor")
def _sum(src, indptr):
    return torch.stack([src[a:b].sum() for a, b in zip(indptr[:-1].tolist(), indptr[1:].tolist())])
_lib.impl("segment_sum_csr", _sum, "CPU")
def segment_csr(src, indptr, out=None, reduce="sum"):
    return torch.ops.torch_scatter.segment_sum_csr(src, indptr)
"""
OLD_ABI_SYMBOL = "_ZN5torch3jit17parseSchemaOrNameERKSsb"  # pytorch_scatter#462: a pre-cxx11 wheel
NEW_ABI_SYMBOL = "_ZN3c105ErrorC2ENS_14SourceLocationENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE"


def library_missing(tmp_path: Path, symbol: str) -> bytes:
    """A shared library that calls ``symbol``, which nothing defines: loading it fails as a wheel
    built against another torch does."""
    import shutil

    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler here to build a library with a missing symbol")
    source, library = tmp_path / "probe.c", tmp_path / "probe.so"
    source.write_text(f'extern void missing(void) __asm__("{symbol}");\nvoid torchpin_probe(void) {{ missing(); }}\n')
    subprocess.run([gcc, "-shared", "-fPIC", "-o", str(library), str(source)], check=True, timeout=120)
    return library.read_bytes()


@pytest.mark.parametrize(
    ("name", "version", "symbol", "status"),
    [
        ("torch_scatter", "2.1.2+pt212cpu", OLD_ABI_SYMBOL, "fail"),
        ("pyg_lib", "0.8.0+pt213cpu", NEW_ABI_SYMBOL, "fail"),
        ("torch_scatter", "2.1.2+pt213cpu", None, "pass"),
        ("flash_attn", "2.8.3", None, "skip"),
    ],
    ids=["pre-cxx11-scatter", "pyg-lib-for-another-torch", "scatter-kernel", "flash-attn-without-gpu"],
)
@pytest.mark.slow
def test_verify_reads_the_missing_symbol_of_an_extension_from_another_host(
    installed: dict[str, tuple[Path, Path]], tmp_path: Path, name: str, version: str, symbol: str | None, status: str
) -> None:
    """Beside the real torch (C++11 ABI): a pre-cxx11 torch-scatter is a C++ ABI mismatch, a pyg-lib
    of the same ABI was built for another torch; each names the wheel that matches, and doctor's
    fix installs it. Wheels named as theirs are (torch_scatter, not torch-scatter)."""
    from tests.support.wheelmaker import make_wheel

    python, _ = installed["pip"]
    project = name.replace("_", "-")
    code = SCATTER_OPS if name == "torch_scatter" and symbol is None else ""
    files = {f"{name}/__init__.py": f"__version__ = {version!r}\n{code}".encode()}
    if symbol:
        files = {f"{name}/__init__.py": LOADS_ITS_LIBRARY.encode(), f"{name}/_C.so": library_missing(tmp_path, symbol)}
    wheel = make_wheel(tmp_path, name, version, "py3-none-any", files=files)
    if name == "flash_attn":  # as its releases are: the build in the file name only (flash-attention#730)
        wheel = wheel.rename(wheel.with_name(f"flash_attn-{version}+cu12torch2.8cxx11abiTRUE-py3-none-any.whl"))
    pip = [str(python), "-m", "pip"]
    subprocess.run([*pip, "install", "--no-deps", "-q", "--no-compile", str(wheel)], check=True, env=env(), timeout=600)
    try:
        verify = torchpin("verify", "--python", str(python), "--json", environ=env())
        got = {c["id"]: c for c in json.loads(verify.stdout)["checks"]}["ecosystem"]
        assert got["status"] == status, got
        if status == "pass":
            assert verify.returncode == 0 and "segment_csr on the CPU gave [3.0, 7.0]" in got["detail"]
            return
        if status == "skip":  # it imports; the file it came from says it is for torch 2.8 with CUDA 12
            assert "flash_attn_func needs a CUDA GPU" in got["detail"]
            built = {c["id"]: c for c in json.loads(verify.stdout)["checks"]}["installed-set"]
            assert verify.returncode == 6 and built["status"] == "fail"
            assert built["detail"] == (
                "flash-attn 2.8.3+cu12torch2.8cxx11abiTRUE is built for torch 2.8 with CUDA 12;"
                " torch 2.13.0+cpu is not [FM-04]"
            )
            assert built["fix"] == "torchpin install torch flash-attn"  # no CUDA build here: torchpin decides
            return
        assert verify.returncode == 6 and f"undefined symbol: {symbol}" in got["detail"], got
        if name == "torch_scatter":
            assert got["cause"].startswith("a C++ ABI mismatch: torch-scatter was compiled with the old C++ ABI")
            assert "torch 2.13.0+cpu with the C++11 one (_GLIBCXX_USE_CXX11_ABI=1)" in got["cause"]
            assert "no wheel matches: data.pyg.org's torch-2.13.0+cpu.html has no torch-scatter" in got["cause"]
            assert got["fix"] == "torchpin install torch torch-scatter"
            doctor = torchpin("doctor", "--python", str(python), environ=env())
            # PyG's newest page with torch-scatter for cpu is torch 2.12's: doctor holds torch back to it.
            assert doctor.returncode == 6 and "torch-scatter==2.1.2+pt212cpu --backend cpu" in doctor.stderr
        else:
            assert got["cause"].startswith(
                "a C++ ABI mismatch: pyg-lib was built for another torch release or CUDA than torch 2.13.0+cpu"
            )
            assert "its _GLIBCXX_USE_CXX11_ABI agrees with torch's" in got["cause"]
            assert "pyg-lib 0.8.0+pt213cpu on data.pyg.org's torch-2.13.0+cpu.html" in got["cause"]
            assert got["fix"] == "torchpin install torch==2.13.0+cpu pyg-lib --backend cpu"
    finally:
        subprocess.run([*pip, "uninstall", "-y", "-q", project], check=True, env=env(), timeout=300)
