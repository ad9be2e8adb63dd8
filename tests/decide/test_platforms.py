"""The platform vocabulary, written once: uv's names in, uv's names out, one arch table."""

from __future__ import annotations

import pytest

from torchpin.decide.platforms import ARCHES, OS_TRIPLES, PLATFORM_CHOICES, parse_python_platform, uv_platform
from torchpin.decide.specs import parse_spec
from torchpin.decide.targets import TargetFlags
from torchpin.errors import UsageError
from torchpin.facts.wheels import parse_variant
from torchpin.models import Sources


@pytest.mark.parametrize("name", [c for c in PLATFORM_CHOICES if "-" in c], ids=str)
def test_uv_platform_gives_back_the_name_it_read(name: str) -> None:
    assert uv_platform(parse_python_platform(name)) == name


@pytest.mark.parametrize(
    ("alias", "triple"), [("linux", "x86_64-unknown-linux-gnu"), ("macos", "aarch64-apple-darwin")]
)
def test_bare_os_names_mean_what_uv_means(alias: str, triple: str) -> None:
    assert uv_platform(parse_python_platform(alias)) == triple


def test_a_target_spec_names_the_same_platforms() -> None:
    for os_name, triple in OS_TRIPLES.items():
        for word, arch in ARCHES.items():
            if os_name == "windows" and arch == "aarch64":
                continue  # PyTorch has no Windows arm64 builds; uv names it, torchpin's table doesn't
            flags = parse_spec(f"{os_name}-{word}", TargetFlags()).flags
            assert flags.python_platform == triple.format(arch=arch)
            assert parse_python_platform(flags.python_platform).arch == arch


# The one variant grammar: --backend, --target and index folder names read it alike.
@pytest.mark.parametrize("backend", ["cu126", "cu1300", "rocm6.4", "rocm6.2.4", "cpu", "xpu", "auto"])
def test_target_backends_follow_the_variant_grammar(backend: str) -> None:
    assert parse_spec(f"linux-{backend}", TargetFlags()).flags.backend == backend


# "cu" + Arabic-Indic digits: a bare \d would take them.
@pytest.mark.parametrize("backend", ["cu12", "cu12345", "rocm6", "cu\u0661\u0662\u0666", "gpu"])
def test_target_backends_outside_the_grammar_are_refused(backend: str) -> None:
    with pytest.raises(UsageError, match="is not an arch or a backend"):
        parse_spec(f"linux-{backend}", TargetFlags())
    with pytest.raises(UsageError):
        parse_variant(backend)


def test_a_long_spec_is_echoed_bounded() -> None:
    with pytest.raises(UsageError) as e:
        parse_spec("linux-" + "x" * 100_000, TargetFlags())
    assert len(str(e.value)) < 400


def test_sources_name_the_variant_index() -> None:
    cu = parse_variant("cu128")
    assert Sources().variant_index(cu) == "https://download.pytorch.org/whl/cu128"
    assert Sources("https://m.example/whl/").variant_index(cu) == "https://m.example/whl/cu128"
    assert Sources(find_links="https://m.example/flat").variant_index(cu) == "https://m.example/flat/cu128/"
