"""Installs: a bad hash, a download sent to a host the policy refuses, a private mirror reached with
URL and netrc credentials by torchpin and by the installer itself, and a missing installer."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_index import FakeIndexServer, FakePytorchIndex, Knobs
from tests.support.local_index import write_simple_index
from tests.support.newest import TORCH as NEWEST
from tests.support.static_server import StaticServer
from tests.support.venvs import new_venv

from .conftest import Run, cpu_torch_links, fails, isolated_env, no_secrets, old_uv, torchpin
from .hostile import Hostile, html, page, redirect

pytestmark = pytest.mark.slow  # real pip and uv installs

TORCH = f"torch-{NEWEST}+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
INSTALL = ["install", "torch", "--no-detect", "--backend", "cpu", "--no-verify", "--timeout", "5"]


@pytest.fixture(scope="module")
def pypi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty PyPI: nothing of the torch family may come from there."""
    root = tmp_path_factory.mktemp("pypi")
    write_simple_index(root / "simple", [])
    with StaticServer(root) as srv:
        yield f"{srv.url}/simple"


def venv(path: Path, *, pip: bool) -> Path:
    return new_venv(path, pip=pip)


def installed(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    return dict(
        json.loads(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout)
    )


def install(home: Path, python: Path, index_url: str, pypi: str, *args: str, env: dict[str, str] | None = None) -> Run:
    env = env or isolated_env(home)
    env["TORCHPIN_PYPI_URL"] = pypi
    return torchpin(
        home,
        *INSTALL,
        "--python",
        str(python),
        "--index-url",
        index_url,
        "-o",
        str(home / "lock.txt"),
        *args,
        env=env,
        timeout=300,
    )


def test_a_bad_hash_installs_nothing(tmp_path: Path, pypi: str) -> None:
    python = venv(tmp_path / "venv", pip=False)
    with FakeIndexServer(FakePytorchIndex(knobs=Knobs(corrupt={TORCH}))) as srv:
        r = install(tmp_path, python, srv.base, pypi, "--installer", "uv", "--no-fallback")
    # uv checks the lock's sha256 as it downloads, and torchpin says so as it would say its own
    assert r.code == 5 and f"sha256 mismatch for torch=={NEWEST}+cpu" in r.lines[-1], r.stderr
    assert "torch" not in installed(python)


def direct_url(python: Path, project: str) -> str:
    ask = (
        "import importlib.metadata as m, json;"
        f"print(json.loads(m.distribution({project!r}).read_text('direct_url.json') or '{{}}').get('url', ''))"
    )
    return subprocess.run([str(python), "-c", ask], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_each_wheel_is_read_once(tmp_path: Path, pypi: str, installer: str) -> None:
    # torchpin knows torch's sha256 from the live page. uv gets `torch==… --hash=sha256:…` from
    # the lock's pages and checks it as it downloads (the bad-hash test shows it does); torchpin
    # reads no wheel. pip gets the file torchpin read and checked, and reads no wheel itself.
    python = venv(tmp_path / "venv", pip=installer == "pip")
    with FakeIndexServer() as srv:
        r = install(tmp_path, python, srv.base, pypi, "--installer", installer, "--no-fallback")
        reads = srv.cdn.full[f"/whl/cpu/{TORCH}"] + srv.main.full[f"/whl/cpu/{TORCH}"]
    assert r.code == 0, r.stderr
    assert installed(python)["torch"] == f"{NEWEST}+cpu"
    assert reads == 1, reads
    assert ("sha256 ok" in r.stderr) is (installer == "pip")  # whose read it was
    installed_from = direct_url(python, "torch")  # pip: the checked local file; uv: the index
    assert installed_from.startswith("file://") if installer == "pip" else installed_from == ""


def test_an_older_uv_gets_files_torchpin_checked(tmp_path: Path, pypi: str) -> None:
    python = venv(tmp_path / "venv", pip=False)
    with FakeIndexServer(FakePytorchIndex(knobs=Knobs(corrupt={TORCH}))) as srv:
        env = isolated_env(tmp_path, PATH=old_uv(tmp_path))
        r = install(tmp_path, python, srv.base, pypi, "--installer", "uv", "--no-fallback", env=env)
    # torchpin's own check, before uv runs: uv 0.3 would have installed the file unchecked
    assert r.code == 5 and f"sha256 mismatch for {TORCH}: expected" in r.lines[-1], r.stderr
    assert "installing" not in r.stderr and "torch" not in installed(python)


@pytest.mark.parametrize(
    ("location", "fragment"),
    [("http://files.example/torch.whl", "plain http to files.example"), ("file:///etc/passwd", "file URLs")],
    ids=["plain-http-other-host", "file"],
)
def test_a_download_redirected_off_policy_is_refused(
    fake: FakePytorchIndex, tmp_path: Path, pypi: str, location: str, fragment: str
) -> None:
    python = venv(tmp_path / "venv", pip=False)
    with Hostile() as h:
        h.routes["/whl/cpu/torch/"] = html(page(cpu_torch_links(fake, h.url)))
        h.routes[f"/whl/cpu/{TORCH.replace('+', '%2B')}"] = redirect(location)
        # torchpin's own download (an older uv's): each hop meets the URL policy. A file handed to
        # pip or uv by URL is bound by its sha256 wherever they are redirected.
        env = isolated_env(tmp_path, HTTP_PROXY=h.url, PATH=old_uv(tmp_path))
        r = install(tmp_path, python, f"{h.url}/whl", pypi, "--installer", "uv", "--no-fallback", env=env)
        assert not [s for s in h.seen if "files.example" in s.target]
    assert r.code == 5 and fragment in r.lines[-1] and "nothing was installed" in r.lines[-1], r.stderr
    assert "torch" not in installed(python)


def _mirror(auth: str) -> FakeIndexServer:
    # A private mirror serves its files from its own host (no CDN) and wants credentials for all of it.
    return FakeIndexServer(FakePytorchIndex(knobs=Knobs(auth=auth, cdn=False)))


def _header(auth: str) -> str:
    return "Basic " + base64.b64encode(auth.encode()).decode()


@pytest.mark.parametrize(
    ("installer", "userinfo", "auth"),
    [("pip", "alice:s3cret", "alice:s3cret"), ("uv", "ghp_T0KEN", "ghp_T0KEN:")],
    ids=["pip-user-password", "uv-token-as-user"],
)
def test_a_live_install_from_an_authenticated_mirror(
    tmp_path: Path, pypi: str, installer: str, userinfo: str, auth: str
) -> None:
    python = venv(tmp_path / "venv", pip=installer == "pip")
    with _mirror(auth) as srv:
        url = srv.base.replace("http://", f"http://{userinfo}@")
        r = install(tmp_path, python, url, pypi, "--installer", installer, "--no-fallback")
        wheel_requests = srv.main.hits[f"/whl/cpu/{TORCH}"]
        seen = list(srv.main.auth_seen)
    assert r.code == 0, r.stderr
    assert installed(python)["torch"] == f"{NEWEST}+cpu"
    assert wheel_requests >= 1 and seen.count(_header(auth)) == len(seen)  # pages and download, all signed
    assert "sha256 ok" in r.stderr
    no_secrets(r, secrets=tuple(s for s in userinfo.split(":") if s))


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_the_installer_reaches_the_mirror_with_url_credentials(tmp_path: Path, pypi: str, installer: str) -> None:
    # --offline: the snapshot knows no sha256 for the variant wheel, so torchpin downloads nothing
    # and the installer itself must read the mirror, with the credential torchpin hands it.
    python = venv(tmp_path / "venv", pip=installer == "pip")
    with _mirror("alice:s3cret") as srv:
        url = srv.base.replace("http://", "http://alice:s3cret@")
        r = install(tmp_path, python, url, pypi, "--installer", installer, "--offline")
        fetched = srv.main.hits[f"/whl/cpu/{TORCH}"]
    assert r.code == 0, r.stderr
    assert installed(python)["torch"] == f"{NEWEST}+cpu" and fetched >= 1
    assert "s3cret" not in (tmp_path / "lock.txt").read_text() and "alice" not in (tmp_path / "lock.txt").read_text()
    no_secrets(r, secrets=("alice", "s3cret"))


def test_the_installer_reaches_the_mirror_with_netrc(tmp_path: Path, pypi: str) -> None:
    python = venv(tmp_path / "venv", pip=True)
    tmp_path.mkdir(exist_ok=True)
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login alice password s3cret\n")
    netrc.chmod(0o600)
    with _mirror("alice:s3cret") as srv:
        r = install(tmp_path, python, srv.base, pypi, "--installer", "pip", "--offline")
    assert r.code == 0, r.stderr
    assert installed(python)["torch"] == f"{NEWEST}+cpu"
    netrc.unlink()
    no_secrets(r, secrets=("s3cret",))


def test_without_credentials_the_mirror_refuses_in_one_line(tmp_path: Path, pypi: str) -> None:
    python = venv(tmp_path / "venv", pip=False)
    with _mirror("alice:s3cret") as srv:
        r = install(tmp_path, python, srv.base, pypi, "--installer", "uv", "--no-fallback")
    fails(r, 4, "HTTP 401: the index wants credentials")


def test_a_missing_pip_is_named(tmp_path: Path, pypi: str) -> None:
    python = venv(tmp_path / "venv", pip=False)
    fails(
        install(tmp_path, python, "https://download.pytorch.org/whl", pypi, "--installer", "pip", "--offline"),
        2,
        f"pip is not installed in {python}",
    )


def test_uv_takes_torchs_dependencies_from_pypi_not_the_variant_pages(tmp_path: Path) -> None:
    """The variant pages carry stale copies of torch's dependencies and answer 403 for the rest:
    uv, which stops at the first index listing a project, must see them on PyPI only."""
    from tests.support.fake_index import DEPENDENCY_COPIES
    from tests.support.wheelmaker import make_wheel

    assert max(DEPENDENCY_COPIES["filelock"]) < "3.17"
    deps = [make_wheel(tmp_path / "w", "filelock", "3.20.0", "py3-none-any")]
    deps.append(make_wheel(tmp_path / "w", "jinja2", "3.1.6", "py3-none-any"))  # newer than the variant pages' copy
    write_simple_index(tmp_path / "pypi" / "simple", deps)
    python = venv(tmp_path / "venv", pip=False)
    knobs = Knobs(torch_requires=("filelock>=3.17", "jinja2"))
    with FakeIndexServer(FakePytorchIndex(knobs=knobs)) as srv, StaticServer(tmp_path / "pypi") as pypi:
        r = install(tmp_path, python, srv.base, f"{pypi.url}/simple", "--installer", "uv", "--no-fallback")
    assert r.code == 0, r.stderr
    got = installed(python)
    assert got["torch"] == f"{NEWEST}+cpu" and got["filelock"] == "3.20.0" and got["jinja2"] == "3.1.6"


@pytest.mark.parametrize("fmt", ["requirements", "constraints", "json"])
def test_a_pip_layout_lock_installs_with_uv(tmp_path: Path, fmt: str) -> None:
    """A requirements, constraints or JSON lock names the variant index with --extra-index-url
    (pip's layout). uv takes each project from the first index listing it, so handed the lock as it
    stands it takes the variant page's stale setuptools copies (70.2.0: vllm-project/vllm#45412),
    which a torch that declares a newer one refuses. `install --lock` gives uv the family's pages
    as find-links, whatever the lock's format."""
    from tests.support.wheelmaker import make_wheel

    deps = [make_wheel(tmp_path / "w", "setuptools", "80.9.0", "py3-none-any")]
    write_simple_index(tmp_path / "pypi" / "simple", deps)
    python = venv(tmp_path / "venv", pip=False)
    knobs = Knobs(torch_requires=("setuptools>=80",))
    env = isolated_env(tmp_path)
    with FakeIndexServer(FakePytorchIndex(knobs=knobs)) as srv, StaticServer(tmp_path / "pypi") as pypi:
        env["TORCHPIN_PYPI_URL"] = f"{pypi.url}/simple"
        lock = tmp_path / "lock.txt"
        target = ["--no-detect", "--backend", "cpu", "--python-version", "3.11"]
        target += ["--python-platform", "x86_64-manylinux_2_28", "--index-url", srv.base]
        made = torchpin(tmp_path, "lock", "torch", *target, "--format", fmt, "-o", str(lock), env=env, timeout=300)
        assert made.code == 0, made.stderr
        assert f"{srv.base}/cpu" in lock.read_text()
        r = torchpin(
            tmp_path,
            "install",
            "--lock",
            str(lock),
            "--installer",
            "uv",
            "--python",
            str(python),
            "--no-verify",
            env=env,
            timeout=300,
        )
    assert r.code == 0, r.stderr
    got = installed(python)
    assert got["torch"] == f"{NEWEST}+cpu" and got["setuptools"] == "80.9.0"


def test_a_failed_uv_install_names_the_command_that_reruns_it(tmp_path: Path, pypi: str) -> None:
    python = venv(tmp_path / "venv", pip=False)
    knobs = Knobs(torch_requires=("torchpin-no-such-dependency==1.0",))
    with FakeIndexServer(FakePytorchIndex(knobs=knobs)) as srv:
        r = install(tmp_path, python, srv.base, pypi, "--installer", "uv", "--no-fallback")
    assert r.code == 5, r.stderr
    assert r.lines[-1].endswith(f"(fix the error above, then: uv pip install -r {tmp_path / 'lock.txt'})"), r.lines[-1]
