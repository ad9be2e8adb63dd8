"""The ``--target`` grammar: every KEY is used or refused, once each, and nothing contradicts the
SPEC (issue 16, item 12); hypothesis fuzzing keeps every refusal one bounded line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchpin.decide.specs import parse_spec
from torchpin.decide.targets import TargetFlags
from torchpin.errors import UsageError


def test_this_takes_its_keys_over_detection() -> None:
    flags = parse_spec("this:driver=550.54.15,gpu-cc=8.6,gpu-cc=8.9", TargetFlags()).flags
    assert (flags.driver, flags.gpu_cc, flags.no_detect) == ("550.54.15", ("8.6", "8.9"), False)


REFUSED = [
    ("this:bogus=1", "is not KEY=VALUE"),
    ("this:driver", "is not KEY=VALUE"),
    ("linux:driver=550.54.15,driver=560.35.03", "driver is given twice"),
    ("linux:python-version=3.12,python-version=3.11", "python-version is given twice"),
    ("linux:python-platform=aarch64-apple-darwin", "is not linux"),
    ("linux-x86_64:python-platform=aarch64-manylinux_2_28", "is not linux x86_64"),
    ("windows:python-platform=x86_64-unknown-linux-gnu", "is not windows"),
    ("linux:python-platform=beos", "unknown --python-platform"),
]


@pytest.mark.parametrize(("spec", "why"), REFUSED, ids=[s for s, _ in REFUSED])
def test_keys_that_cant_be_honoured_are_refused(spec: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        parse_spec(spec, TargetFlags())


def test_a_python_platform_key_may_add_a_glibc_floor() -> None:
    flags = parse_spec("linux:python-platform=x86_64-manylinux_2_28", TargetFlags()).flags
    assert flags.python_platform == "x86_64-manylinux_2_28"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_spec_is_a_target_or_one_bounded_line(spec: str) -> None:
    try:
        parse_spec(spec, TargetFlags())
    except UsageError as e:
        assert "\n" not in str(e) and len(str(e)) < 600


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["linux", "macos", "windows", "this", "linux-aarch64", "linux-cu126"]),
    st.lists(
        st.tuples(
            st.sampled_from(["driver", "gpu-cc", "amd-gfx", "python-version", "glibc", "cuda-compat", "x", ""]),
            st.text(alphabet="0123456789.gfxt_-", max_size=12),
        ),
        max_size=5,
    ),
)
def test_structured_specs_never_crash(head: str, keys: list[tuple[str, str]]) -> None:
    spec = head + (":" + ",".join(f"{k}={v}" for k, v in keys) if keys else "")
    try:
        parse_spec(spec, TargetFlags())
    except UsageError as e:
        assert "\n" not in str(e)
