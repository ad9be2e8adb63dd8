"""The conventions people have in their fingers: pip's and uv's index and trust variables, -q/-v
anywhere, NO_COLOR / FORCE_COLOR, .python-version, --cache-dir / --no-cache, every variable
documented; and the project's [tool.torchpin] settings, below flags and variables."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import torchpin.machine
from tests.support.cli import clean_env, context, run
from tests.support.fake_index import FakeIndexServer
from torchpin.commands import IndexOptions, make_plan
from torchpin.decide.targets import TargetFlags
from torchpin.envs.uv import _pip_extras

ROOT = Path(__file__).resolve().parents[2]
OFFLINE_CPU = ["--offline", "--backend", "cpu", "--python-version", "3.12", "--python-platform", "linux", "torch"]


@pytest.mark.parametrize("variable", ["PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL"])
@pytest.mark.parametrize("fmt", ["requirements", "constraints", "json"])
def test_a_mirror_set_for_pip_or_uv_is_the_locks_index(variable: str, fmt: str) -> None:
    mirror = "https://ci:secret@artifactory.example/api/pypi/pypi/simple"
    r = run("lock", *OFFLINE_CPU, "--format", fmt, extra={variable: mirror})
    assert r.returncode == 0, r.stderr
    assert "https://artifactory.example/api/pypi/pypi/simple" in r.stdout
    assert "pypi.org" not in r.stdout and "secret" not in r.stdout + r.stderr
    assert f"({variable})" in r.stderr  # said where it came from


def test_torchpins_own_variable_wins_over_pips() -> None:
    mirror = {"TORCHPIN_PYPI_URL": "https://ours.example/simple", "PIP_INDEX_URL": "https://pips.example/simple"}
    r = run("lock", *OFFLINE_CPU, extra=mirror)
    assert "--index-url https://ours.example/simple" in r.stdout and "pips.example" not in r.stdout


@pytest.mark.parametrize("variable", ["PIP_TRUSTED_HOST", "UV_INSECURE_HOST"])
def test_hosts_trusted_for_pip_or_uv_are_trusted(variable: str) -> None:
    args = ["lock", "--index-url", "http://mirror.example/whl", *OFFLINE_CPU]
    refused = run(*args)
    assert refused.returncode == 2 and "plain http" in refused.stderr
    trusted = run(*args, extra={variable: "other.example mirror.example"})
    assert trusted.returncode == 0, trusted.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_anywhere(where: str, tmp_path: Path) -> None:
    args = ["lock", *OFFLINE_CPU, "-o", str(tmp_path / "lock.txt")]
    quiet = run(*(["-q", *args] if where == "before" else [*args, "-q"]))
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert "torch==" in (tmp_path / "lock.txt").read_text()
    loud = run(*args)
    assert "torchpin: wrote" in loud.stderr  # what -q hides
    # errors still show under -q, one line
    bad = run("lock", "--backend", "cu9x", "--offline", "--quiet")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and re.fullmatch(r"torchpin, version \d+\.\d+\.\d+\S*\n", r.stdout)


def test_no_color_and_force_color() -> None:
    colour = re.compile("\x1b\\[3[0-9]")  # a foreground colour, not bold or italic
    args = ("verify", "--python", sys.executable)
    assert not colour.search(run(*args).stderr)  # a pipe: no colour by default
    assert colour.search(run(*args, extra={"FORCE_COLOR": "1"}).stderr)
    assert not colour.search(run(*args, extra={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stderr)


@pytest.mark.parametrize(
    ("pin", "expected"),
    [
        ("3.12\n", "3.12"),
        ("3.12.4\n", "3.12"),
        ("cpython-3.13.1\n", "3.13"),
        ("cpython@3.11\n", "3.11"),
        ("3.14t\n", "3.14t"),
        ("# pinned by uv\n3.10\n", "3.10"),
        ("pypy@3.10\n", None),  # not CPython: ignored with a note, never a wrong target
    ],
)
def test_python_version_file_names_the_target_python(
    pin: str, expected: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an environment to plan for (a tool-installed torchpin, no venv), `.python-version`
    names the Python, as uv reads it, from this folder or one above."""
    (tmp_path / ".python-version").write_text(pin)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    monkeypatch.setattr(torchpin.machine, "in_project_environment", lambda _environ: False)
    ctx, said = context(clean_env())
    flags = TargetFlags(backend="cpu", no_detect=True, python_platform="linux")
    plan = make_plan(ctx, [], flags, IndexOptions(offline=True))
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert str(plan.target.python) == (expected or here)
    if expected:
        assert f"Python {expected} from {tmp_path / '.python-version'}" in plan.notes
    else:
        assert any("names no CPython 3 version; ignored" in n for n in ctx.pending())
    # --python-version wins over the file
    flagged = make_plan(
        ctx, [], TargetFlags(**{**flags.__dict__, "python_version": "3.11"}), IndexOptions(offline=True)
    )
    assert str(flagged.target.python) == "3.11"
    assert said == []


def test_python_version_file_yields_to_the_environment_torchpin_runs_in(tmp_path: Path) -> None:
    """In a venv of the project (this test's), that interpreter is the target, as uv pip does."""
    (tmp_path / ".python-version").write_text("3.10\n")
    r = run("lock", "--offline", "--backend", "cpu", "--no-detect", "torch", cwd=tmp_path)
    assert f"CPython {sys.version_info.major}.{sys.version_info.minor} on" in r.stdout


def test_cache_dir_and_no_cache(tmp_path: Path) -> None:
    with FakeIndexServer() as index:
        args = ["lock", "--index-url", index.base, "--no-fallback", "--backend", "cpu", "--no-detect", "torch"]
        env = clean_env(home=tmp_path / "home")
        r = run(*args, "--cache-dir", str(tmp_path / "chosen"), env=env)
        assert r.returncode == 0, r.stderr
        assert any((tmp_path / "chosen" / "pages").iterdir())
        assert not (tmp_path / "home" / "cache").exists()
        r = run(*args, "--no-cache", env=env)
        assert r.returncode == 0, r.stderr
        assert not (tmp_path / "home" / "cache").exists()
        assert run(*args, env=env).returncode == 0  # and by default, TORCHPIN_CACHE_DIR
        assert any((tmp_path / "home" / "cache" / "pages").iterdir())


def test_every_variable_is_documented() -> None:
    """Each TORCHPIN_* name the code reads is in `--help` (the group's or a command's) and the reference."""
    names = set()
    for path in (ROOT / "resolver").rglob("*.py"):
        names |= set(re.findall(r"(?<![A-Z_])TORCHPIN_[A-Z_]*[A-Z]", path.read_text()))  # not _TORCHPIN_COMPLETE
    names |= {o.envvar for o in __import__("torchpin.decide.options", fromlist=["TARGET"]).TARGET}
    helps = "".join(run(*args, "--help").stdout for args in ([], ["lock"], ["install"], ["detect"], ["verify"]))
    readme = (ROOT / "docs" / "reference.md").read_text()
    assert sorted(n for n in names if n not in helps) == []
    assert sorted(n for n in names if n not in readme) == []


def test_a_pip_users_extra_index_reaches_uvs_resolution() -> None:
    assert _pip_extras({"PIP_EXTRA_INDEX_URL": "https://corp.example/simple"}) == {
        "UV_EXTRA_INDEX_URL": "https://corp.example/simple"
    }
    assert _pip_extras({"PIP_EXTRA_INDEX_URL": "https://a/simple", "UV_INDEX": "https://b/simple"}) == {}


# ---- [tool.torchpin] ----

PROJECT = '[project]\nname = "demo"\nversion = "0"\ndependencies = ["torch"]\n\n'


def project(tmp_path: Path, settings: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(PROJECT + "[tool.torchpin]\n" + settings)
    (tmp_path / "sub").mkdir(exist_ok=True)
    return tmp_path


def test_a_projects_lock_command_is_just_torchpin_lock(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        'backend = "cpu"\nformat = "json"\noutput = "torch.lock.json"\npython-version = "3.12"\n'
        'targets = []\ncuda-compat = "minor"\n',
    )
    r = run("lock", "--offline", "--python-platform", "linux", "torch", cwd=root / "sub")  # found from below
    assert r.returncode == 0, r.stderr
    doc = json.loads((root / "torch.lock.json").read_text())
    assert doc["backend"] == "cpu" and doc["target"]["python_version"] == "3.12"
    assert r.stdout == ""
    check = run("lock", "--check", "--offline", cwd=root)  # the configured lock is the one checked
    assert check.returncode == 0 and "torch.lock.json is up to date" in check.stderr


def test_flags_then_variables_then_settings(tmp_path: Path) -> None:
    root = project(tmp_path, 'backend = "cu126"\n')
    args = ["detect", "--json", "--python-platform", "linux", "--python-version", "3.12"]
    settings = json.loads(run(*args, cwd=root).stdout)["settings"]
    assert settings["backend"] == {"value": "cu126", "from": f"{root / 'pyproject.toml'} [tool.torchpin]"}
    env = json.loads(run(*args, cwd=root, extra={"TORCHPIN_BACKEND": "cu128"}).stdout)["settings"]
    assert env["backend"] == {"value": "cu128", "from": "environment (TORCHPIN_BACKEND)"}
    flag = json.loads(run(*args, "--backend", "cpu", cwd=root, extra={"TORCHPIN_BACKEND": "cu128"}).stdout)
    assert flag["settings"]["backend"] == {"value": "cpu", "from": "command line"}
    assert flag["would_choose"]["backend"] == "cpu"
    table = run("detect", "--python-platform", "linux", cwd=root).stderr
    assert re.search(r"(?m)^setting +backend=cu126 +\S*pyproject\.toml \[tool\.torchpin\]$", table)


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ('backnd = "cpu"\n', "unknown key 'backnd' (did you mean backend?)"),
        ("backend = 12\n", "backend is not a string"),
        ('targets = "linux"\n', "targets is not an array of strings"),
        ("backend = \n", "is not valid TOML"),
    ],
)
def test_a_bad_setting_is_one_line_exit_2(tmp_path: Path, settings: str, said: str) -> None:
    r = run("lock", "--offline", cwd=project(tmp_path, settings))
    assert r.returncode == 2
    assert said in r.stderr and r.stderr.count("\n") == 1


def test_install_lock_ignores_the_settings_and_says_so(tmp_path: Path) -> None:
    root = project(tmp_path, 'backend = "cu126"\n')
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    lock = run("lock", *OFFLINE_CPU, "--python-version", here, cwd=root)
    assert lock.returncode == 0, lock.stderr
    (root / "lock.txt").write_text(lock.stdout)
    r = run("install", "--lock", "lock.txt", "--dry-run", "--python", sys.executable, cwd=root)
    assert r.returncode == 0, r.stderr
    assert "[tool.torchpin] backend ignored" in r.stderr


@pytest.mark.parametrize(
    ("text", "backend"),
    [
        ('[project]\nname = "x"\ndependencies = ["torchpin"]\n', None),  # named, no settings: nothing parsed
        ('[project.scripts]\ntorchpin = "torchpin.cli:main"\n', None),  # a script entry is no setting
        (
            '[tool.torchpin]\nbackend = "cu128"\ntargets = [\n  "linux-x86_64",\n  "macos-arm64",\n]\n\n[tool.uv]\n',
            "cu128",
        ),
        ('[tool]\ntorchpin.backend = "cpu"\n', "cpu"),  # a dotted key: the whole file is read
        ('tool = { torchpin = { backend = "rocm6.4" } }\n', "rocm6.4"),  # an inline table too
        ('[tool.torchpin.locked]\nmade-with = "torchpin lock"\ndigest = "x"\n', None),  # a lock's record only
    ],
)
def test_settings_are_read_however_the_toml_spells_them(tmp_path: Path, text: str, backend: str | None) -> None:
    from torchpin.cli.config import load

    (tmp_path / "pyproject.toml").write_text(text)
    assert load(tmp_path).defaults.get("lock", {}).get("backend") == backend
