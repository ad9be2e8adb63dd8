"""An extension from another host that doesn't load: the missing symbol read for its C++ ABI, the
wheel that matches the installed torch named, and the fix; on the symptom texts users report."""

from __future__ import annotations

from typing import Any

import pytest

from tests.envs.test_diagnose import INTERP, raw
from torchpin.envs.diagnose import Check, evaluate, symbol_abi
from torchpin.envs.verify import expectation
from torchpin.facts.snapshot import Catalog

# What users saw (ecosystem facts §6-7): flash-attention#1832 and its publish.yml comment,
# pytorch_scatter#462 and #476, flash-attention#931.
NEW_ABI = "_ZN3c105ErrorC2ENS_14SourceLocationENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE"
OLD_ABI = "_ZN3c105ErrorC2ENS_14SourceLocationESs"


@pytest.mark.parametrize(
    ("symbol", "abi"),
    [
        (NEW_ABI, True),
        (OLD_ABI, False),
        ("_ZN5torch3jit17parseSchemaOrNameERKSsb", False),
        ("_ZN3c104cuda9SetDeviceEi", None),
        ("_ZN3c1017RegisterOperatorsD1Ev", None),
        ("_ZNK3c107SymBool10guard_boolEPKcl", None),
        ("torch_dtype_float4_e2m1fn_x2", None),  # a C symbol: no ABI in it
        ("_ZN2at4_ops3Ssx4callEv", None),  # "Ss" inside a name is not std::string
        ("_ZN3c1010IValueTypeIS0_EEvRKSs", False),  # after a back-reference
    ],
)
def test_a_missing_symbol_says_which_abi_it_was_compiled_with(symbol: str, abi: bool | None) -> None:
    assert symbol_abi(symbol) is abi


def seen(
    torch: str,
    abi: bool | None,
    project: str,
    installed: str,
    symbol: str,
    platform: str = "linux-x86_64",
    url: str = "",
) -> list[dict[str, Any]]:
    """What the smoke test records when ``project`` can't load beside ``torch``."""
    cuda = f"{torch[-3:-1]}.{torch[-1]}" if "+cu" in torch else None
    error = f"ImportError: /v/site-packages/{project.replace('-', '_')}/_C.so: undefined symbol: {symbol}"
    return [
        {**INTERP, "raw": {**INTERP["raw"], "platform": platform}},
        raw(
            "installed-set",
            dists={
                "torch": [{"version": torch, "location": "/v", "requires_python": ">=3.9"}],
                project: [{"version": installed, "location": "/v", "url": url}],
            },
            builds={"torch": {"origin": "/v/torch/__init__.py", "version_py": {"__version__": torch, "cuda": cuda}}},
        ),
        raw("import", "pass", "", warnings=[]),
        raw(
            "build-identity",
            version=torch,
            cuda=cuda,
            hip=None,
            xpu=None,
            cuda_built=bool(cuda),
            cuda_available=False,
            devices=[],
            arch_list=[],
            cuda_warnings=[],
            cxx11_abi=abi,
        ),
        raw(f"ecosystem:{project}", "fail", f"{project}: {error}", error=error, traceback=""),
    ]


def checked(catalog: Catalog, found: list[dict[str, Any]], lock: str | None = None) -> dict[str, Check]:
    return {c.id: c for c in evaluate(found, expectation(found, lock, catalog, None, {}))}


def ecosystem(catalog: Catalog, found: list[dict[str, Any]], lock: str | None = None) -> Check:
    return checked(catalog, found, lock)["ecosystem"]


def test_a_cxx11_flash_attn_beside_a_pre_cxx11_torch_names_the_false_file(catalog: Catalog) -> None:
    got = ecosystem(catalog, seen("2.6.0+cu124", False, "flash-attn", "2.7.4.post1", NEW_ABI))
    assert got.status == "fail" and "[FM-04]" in got.detail
    assert got.cause is not None and got.cause.startswith(
        "a C++ ABI mismatch: flash-attn was compiled with the C++11 ABI (its missing symbol has std::__cxx11),"
        " torch 2.6.0+cu124 without it (_GLIBCXX_USE_CXX11_ABI=0); the matching wheel"
    )
    # The installed release is kept: its matrix made the file this torch loads.
    assert "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp311-cp311-linux_x86_64.whl" in got.cause
    assert got.fix == "torchpin install torch==2.6.0+cu124 flash-attn --backend cu124"


def test_a_pre_cxx11_flash_attn_beside_a_cxx11_torch_names_the_true_file(catalog: Catalog) -> None:
    got = ecosystem(catalog, seen("2.6.0+cu126", True, "flash-attn", "2.7.4.post1", OLD_ABI))
    assert got.cause is not None and "the old C++ ABI" in got.cause and "_GLIBCXX_USE_CXX11_ABI=1" in got.cause
    assert "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiTRUE-cp311-cp311-linux_x86_64.whl" in got.cause
    assert got.fix == "torchpin install torch==2.6.0+cu126 flash-attn --backend cu126"


def test_a_release_without_the_file_gives_way_to_the_newest_with_it(catalog: Catalog) -> None:
    # flash-attn 2.6.3's matrix stops at torch 2.4: the newest release seen with a 2.5 file is named.
    got = ecosystem(catalog, seen("2.5.1+cu124", False, "flash-attn", "2.6.3", "_ZN3c104cuda9SetDeviceEi"))
    assert got.cause is not None and "built for another torch release or CUDA than torch 2.5.1+cu124" in got.cause
    assert "flash_attn-2.8.3.post1+cu12torch2.5cxx11abiFALSE-cp311-cp311-linux_x86_64.whl" in got.cause


def test_the_same_abi_on_a_torch_with_no_file_lets_the_decision_choose_torch(catalog: Catalog) -> None:
    got = ecosystem(catalog, seen("2.9.0+cu128", True, "flash-attn", "2.8.3", "_ZN3c104cuda9SetDeviceEi"))
    assert got.cause is not None and "was compiled with" not in got.cause  # the flag agrees: another torch
    assert "no wheel matches: flash-attn publishes no file for torch 2.9, CUDA 12, cxx11abiTRUE, CPython 3.11" in (
        got.cause
    )
    assert "the newest torch with one for CUDA 12 and CPython 3.11 is 2.8" in got.cause
    assert got.fix == "torchpin install torch flash-attn"


def test_an_abi_torch_could_not_report_comes_from_the_recorded_rule(catalog: Catalog) -> None:
    got = ecosystem(catalog, seen("2.6.0+cu124", None, "flash-attn", "2.7.4.post1", NEW_ABI))
    assert got.cause is not None and "torch 2.6.0+cu124 didn't say which it has" in got.cause
    assert "cu12torch2.6cxx11abiFALSE" in got.cause


def test_flash_attn_beside_a_cpu_torch_has_no_file(catalog: Catalog) -> None:
    got = ecosystem(catalog, seen("2.13.0+cpu", True, "flash-attn", "2.8.3", NEW_ABI))
    assert got.cause is not None and "flash-attn publishes release wheels for CUDA builds only" in got.cause
    assert got.fix == "torchpin install torch flash-attn"


def test_a_pyg_extension_is_matched_by_its_page(catalog: Catalog) -> None:
    got = ecosystem(
        catalog, seen("2.5.1+cu124", False, "torch-scatter", "2.1.2+pt24cu124", "_ZN3c1017RegisterOperatorsD1Ev")
    )
    assert got.cause is not None and "built for another torch release or CUDA than torch 2.5.1+cu124" in got.cause
    assert "torch-scatter 2.1.2+pt25cu124 on data.pyg.org's torch-2.5.0+cu124.html" in got.cause
    assert got.fix == "torchpin install torch==2.5.1+cu124 torch-scatter --backend cu124"


def test_a_pre_cxx11_pyg_wheel_beside_a_cxx11_torch_without_a_page_entry(catalog: Catalog) -> None:
    symbol = "_ZN5torch3jit17parseSchemaOrNameERKSsb"  # pytorch_scatter#462
    got = ecosystem(catalog, seen("2.13.0+cpu", True, "torch-scatter", "2.1.2+pt212cpu", symbol))
    assert got.cause is not None and "a C++ ABI mismatch: torch-scatter was compiled with the old C++ ABI" in got.cause
    assert "no wheel matches: data.pyg.org's torch-2.13.0+cpu.html has no torch-scatter" in got.cause
    assert got.fix == "torchpin install torch torch-scatter"


def test_windows_pyg_wheels_are_matched_for_windows(catalog: Catalog) -> None:
    found = seen("2.5.1+cu124", None, "torch-cluster", "1.6.3+pt24cu124", "?", platform="win-amd64")
    got = ecosystem(catalog, found)
    assert got.cause is not None and "torch-cluster 1.6.3+pt25cu124 on data.pyg.org's torch-2.5.0+cu124.html" in (
        got.cause
    )


def test_a_lock_keeps_its_pins_and_still_names_the_matching_wheel(catalog: Catalog) -> None:
    lock = (
        "--index-url https://download.pytorch.org/whl/cu124\n"
        "torch==2.6.0+cu124\n"
        "flash-attn @ https://github.com/Dao-AILab/flash-attention/releases/download/v2.7.4.post1/"
        "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp311-cp311-linux_x86_64.whl\n"
    )
    got = ecosystem(catalog, seen("2.6.0+cu124", False, "flash-attn", "2.7.4.post1", NEW_ABI), lock)
    assert got.cause is not None and "cu12torch2.6cxx11abiFALSE-cp311" in got.cause
    assert got.fix is not None and got.fix.startswith("torchpin install torch==2.6.0+cu124 flash-attn")


def test_a_file_seen_is_named_before_a_newer_unconfirmed_one(catalog: Catalog) -> None:
    # 2.8.3.post1's torch 2.6 cxx11abiTRUE file was never seen (a side-branch tag); 2.8.3's was.
    got = ecosystem(catalog, seen("2.6.0+cu126", True, "flash-attn", "2.6.3", "_ZN3c104cuda9SetDeviceEi"))
    assert got.cause is not None and "flash_attn-2.8.3+cu12torch2.6cxx11abiTRUE-cp311-cp311" in got.cause


RELEASES = "https://github.com/Dao-AILab/flash-attention/releases/download"
FA_FILE = "flash_attn-2.8.3%2Bcu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
FA_LOCK = (
    "--index-url https://download.pytorch.org/whl/cu128\n"
    f"torch==2.8.0+cu128\nflash-attn @ {RELEASES}/v2.8.3/{FA_FILE}\n"
)


def test_flash_attn_is_the_build_its_file_name_says_not_its_metadata(catalog: Catalog) -> None:
    # Its METADATA says 2.8.3; direct_url.json names the file, and the file the build (flash-attention#730).
    url = f"{RELEASES}/v2.8.3/{FA_FILE}"
    got = checked(catalog, seen("2.8.0+cu128", True, "flash-attn", "2.8.3", "?", url=url), FA_LOCK)["installed-set"]
    assert got.status == "pass" and "flash-attn 2.8.3+cu12torch2.8cxx11abiTRUE" in got.detail, got
    # The same file beside another torch minor is a mismatch before anything is imported.
    got = checked(catalog, seen("2.9.0+cu128", True, "flash-attn", "2.8.3", "?", url=url))["installed-set"]
    assert got.status == "fail" and got.detail == (
        "flash-attn 2.8.3+cu12torch2.8cxx11abiTRUE is built for torch 2.8 with CUDA 12;"
        " torch 2.9.0+cu128 is not [FM-04]"
    )
    assert got.fix == "torchpin install torch flash-attn"  # flash-attn has no torch 2.9 file: torchpin decides


def test_a_pyg_wheel_from_another_page_is_a_mismatch_before_import(catalog: Catalog) -> None:
    got = checked(catalog, seen("2.6.0+cu124", False, "torch-scatter", "2.1.2+pt26cpu", "?"))["installed-set"]
    assert got.status == "fail" and got.detail == (
        "torch-scatter 2.1.2+pt26cpu is built for another torch (+pt26cpu); torch 2.6.0+cu124 takes +pt26cu124 [FM-04]"
    )
    assert got.fix == "torchpin install torch==2.6.0+cu124 torch-scatter --backend cu124"
    got = checked(catalog, seen("2.6.0+cu124", False, "torch-scatter", "2.1.2+pt26cu124", "?"))["installed-set"]
    assert got.status == "pass"
