"""``torchpin install`` and ``install --lock``: one path, stale removal → installer → verify.

``install`` plans and writes the lock first (the torch-family wheels whose sha256 is known are
downloaded and checked before the installer sees them); ``install --lock`` installs any lock
torchpin wrote as it stands (a multi-target lock: this machine's entry).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from torchpin import envs, locks
from torchpin.decide.targets import TargetFlags
from torchpin.envs import install as inst
from torchpin.errors import InstallFailed, NoCompatibleBuild, UsageError
from torchpin.facts.wheels import parse_variant
from torchpin.files import write_user_file
from torchpin.fleet import is_index
from torchpin.locks.formats import LockFormat
from torchpin.locks.requirements import family_projects, find_links_lines, requirement_line, requirements_lock
from torchpin.models import PROJECTS, Installer, Pin, Requirement
from torchpin.net.urls import mask, plain_http_hosts

from . import lockinstall
from .context import Context, IndexOptions
from .plan import make_plan


@dataclass(frozen=True)
class InstallOptions:
    installer: Installer = "auto"
    python: str | None = None
    dry_run: bool = False
    verify: bool = True
    lock_path: str = "torchpin.lock.txt"
    require_hashes: bool = False
    timeout: float = 120.0
    others: tuple[str, ...] = ()  # -r lines of other projects: installed beside the family, from PyPI


NO_INDEX_OPTIONS = IndexOptions()


@dataclass(frozen=True)
class _Job:
    """One installer run, whichever command asked for it."""

    python: str
    installer: str
    uv: str | None
    variant: str | None  # the build the lock installs: other builds of the family are stale
    stale: list[str]
    before: Mapping[str, str]
    lock_text: str  # what verify compares with
    what: str  # for "installing WHAT with uv into PYTHON" ("" for a plan: the lock line said it)
    hint: str  # how to retry by hand
    env: Mapping[str, str] = field(default_factory=dict)  # the installer's index credentials
    secrets: Sequence[str] = ()
    kept: str = ""  # what a failure leaves intact, said with it

    def uninstall(self) -> list[str]:
        return inst.uninstall_argv(self.installer, self.python, self.uv, self.stale)


def run_install(
    ctx: Context, requirements: Sequence[Requirement], flags: TargetFlags, index: IndexOptions, opts: InstallOptions
) -> envs.Report | None:
    """Plan → lock file → (verified wheels) → installer → verify. Returns the verify report or None."""
    python = envs.target_python(opts.python, ctx.environ)
    plan = make_plan(ctx, requirements, flags, index, python=python)
    ctx.flush()
    unknown = [p.project for p in plan.pins if not (p.wheel and p.wheel.sha256)]
    if opts.require_hashes and unknown:
        raise NoCompatibleBuild(
            f"no public sha256 for {', '.join(unknown)} ({plan.source} data)",
            hint="drop --require-hashes, or lock from the live index",
        )
    lock_text = requirements_lock(plan)
    installer, uv = inst.choose_installer(opts.installer, python)
    before = inst.installed_family(python)
    policy = ctx.endpoints(index).net()
    options, index_env = inst.installer_index_args(
        installer, inst.index_args(plan), policy.credentials, policy.trusted_hosts
    )
    job = _Job(
        python,
        installer,
        uv,
        plan.variant.name,
        inst.stale_family(before, plan),
        before,
        lock_text,
        "",
        f"{_installer_command(installer)} -r {opts.lock_path}",
        index_env,
        policy.secrets(),
        kept=f"; the lock {opts.lock_path} is intact",
    )
    pins = [requirement_line(p) for p in plan.pins]
    if any("--hash" in line for line in opts.others):
        raise UsageError(
            "install -r with --hash lines: the torch family's files are checked by torchpin, and pip "
            "would then want a hash for every line",
            hint="torchpin lock --full -r FILE -o lock.txt, then torchpin install --lock lock.txt",
        )
    if opts.others:
        names = ", ".join(line.split(";")[0].strip() for line in opts.others)
        ctx.say(f"torchpin: also installing from PyPI, outside the lock: {names} (lock --full pins them too)\n")
    if opts.dry_run:
        ctx.say(locks.explain_plan(plan))
        shown_env = "".join(f"{k}={mask(v)} " for k, v in index_env.items())
        _show(ctx, job, shown_env + " ".join(inst.install_argv(installer, python, uv, options, [*pins, *opts.others])))
        ctx.say(f"would write the lock to {opts.lock_path}\n")
        return None
    write_user_file(Path(opts.lock_path), lock_text)
    ctx.say(f"torchpin: wrote {opts.lock_path} (torch {plan.release}, {plan.variant}, {plan.source})\n")
    with tempfile.TemporaryDirectory(prefix="torchpin-") as tmp:
        mine = inst.self_checked(plan.pins, installer, uv, policy.credentials)
        files = inst.download_verified(mine, Path(tmp), policy, ctx.say, tty=ctx.tty)
        # as a file: a `--hash` option belongs to a requirements line, never to the command line
        (Path(tmp) / "family.txt").write_text("".join(_handed(p, files) + "\n" for p in plan.pins))
        targets = ["-r", str(Path(tmp) / "family.txt")]
        handed = [p for p in plan.pins if p.project not in files and p.wheel and p.wheel.url and p.wheel.sha256]
        options += _verify_hashes(installer, bool(handed))
        if opts.others:  # as a file: markers and extras stay the installer's to read
            (Path(tmp) / "others.txt").write_text("\n".join(opts.others) + "\n")
            targets += ["-r", str(Path(tmp) / "others.txt")]
        return _apply(ctx, job, inst.install_argv(installer, python, uv, options, targets), opts)


def _handed(pin: Pin, checked: Mapping[str, Path]) -> str:
    """What the installer gets for a pin: the file torchpin checked, the pin with the sha256 the
    installer checks, or the pin alone (no hash is known)."""
    if pin.project in checked:
        return str(checked[pin.project])
    if pin.wheel and pin.wheel.url and pin.wheel.sha256:
        return inst.handed_line(pin.project, pin.version, pin.wheel, pin.direct)
    return requirement_line(pin)


def _verify_hashes(installer: str, handed: bool) -> list[str]:
    """uv checks a hash it is handed only under ``--verify-hashes`` (pip always does)."""
    return ["--verify-hashes"] if installer == "uv" and handed else []


def run_install_lock(
    ctx: Context, lock_file: str, opts: InstallOptions, index: IndexOptions = NO_INDEX_OPTIONS
) -> envs.Report | None:
    """Install a lock as it stands, then verify against it. The lock's own index lines, URLs and
    hashes decide; nothing is re-planned. Every URL in it meets the URL policy (``index`` brings
    the user's --trusted-host and --cert), a single-target lock must be for this interpreter, and
    every hash it carries binds: the installer checks them, or torchpin does before it runs."""
    text = locks.read_text(Path(lock_file))
    python = envs.target_python(opts.python, ctx.environ)
    if is_index(text):  # a split fleet's index: the lock of this machine's group
        from .split import pick_group  # a fleet's modules load only for a fleet's index

        lock_file = pick_group(ctx, lock_file, text, python, index)
        text = locks.read_text(Path(lock_file))
    here = ctx.interpreter(python)
    view = locks.read_lock(text, here)
    lockinstall.check_urls(lock_file, view, index.trusted_hosts)
    lockinstall.check_target(lock_file, view, here)
    family = {k: v for k, v in view.pins.items() if k in PROJECTS}
    if not family:
        raise UsageError(
            f"{lock_file} pins no torch-family package for this machine",
            hint="pass a lock written by `torchpin lock` (with --add for a pyproject)",
        )
    installer, uv = inst.choose_installer(opts.installer, python)
    if view.kind.installs_with_uv_only and installer != "uv":
        raise UsageError(
            f"a {view.kind} lock installs with uv (pip reads neither [tool.uv.sources] nor pylock.toml)",
            hint="pip install uv, or drop --installer pip",
        )
    before = inst.installed_family(python)
    policy = ctx.endpoints(index).net()
    job = _Job(
        python,
        installer,
        uv,
        view.variant,
        inst.stale_builds(before, family, view.variant, family.get("torch")),
        before,
        text,
        f"{lock_file} ({view.kind}) ",
        # pip and uv read a requirements lock (uv a pylock or pyproject too), not torchpin's JSON or constraints
        f"{_installer_command(installer)} -r {lock_file}"
        if view.kind in (LockFormat.REQUIREMENTS, LockFormat.PYLOCK, LockFormat.PYPROJECT)
        else f"torchpin install --lock {lock_file}",
        _installer_env(index),
    )
    options = _trust(installer, view, index.trusted_hosts) + (["--require-hashes"] if view.hashed else [])
    ctx.flush()  # the lock passed every check: what was said about it is worth reading
    with tempfile.TemporaryDirectory(prefix="torchpin-lock-") as tmp:
        pins = lockinstall.verified_pins(view)
        mine = inst.self_checked(pins, installer, uv, policy.credentials)
        options += _verify_hashes(installer, any(p not in mine and p.wheel and p.wheel.sha256 for p in pins))
        if opts.dry_run:
            wheels = {p.project: Path(p.wheel.filename) for p in mine if p.wheel}
            source = _installable(lock_file, text, view, Path(tmp), wheels, installer)
            # A file torchpin writes for the installer lives as long as the install: name it by
            # what it holds, not by a temporary path that is gone when this returns.
            shown = source if source == lock_file else "FILE"
            _show(ctx, job, " ".join(inst.install_argv(installer, python, uv, options, ["-r", shown])))
            if source != lock_file:
                ctx.say(f"  where FILE is made from {lock_file} for {installer}:\n")
                ctx.say("".join(f"  {line}\n" for line in Path(source).read_text().splitlines()))
            return None
        checked = inst.download_verified(mine, Path(tmp), policy, ctx.say, tty=ctx.tty) if mine else {}
        source = _installable(lock_file, text, view, Path(tmp), checked, installer)
        return _apply(ctx, job, inst.install_argv(installer, python, uv, options, ["-r", source]), opts)


def _installer_command(installer: str) -> str:
    """How a user reruns the install by hand: uv's is a ``pip`` subcommand."""
    return "uv pip install" if installer == "uv" else "pip install"


def _trust(installer: str, view: locks.LockView, trusted: Sequence[str]) -> list[str]:
    """pip refuses a plain-http index it wasn't told to trust; the user's --trusted-host tells it."""
    if installer != "pip":
        return []
    hosts = plain_http_hosts(view.urls)
    return [part for host in sorted(h for h in hosts if h in trusted) for part in ("--trusted-host", host)]


def _installer_env(index: IndexOptions) -> dict[str, str]:
    """The user's --cert for the installer too (pip and uv read these variables)."""
    return {"PIP_CERT": index.cert, "SSL_CERT_FILE": index.cert} if index.cert else {}


def _show(ctx: Context, job: _Job, install_line: str) -> None:
    if job.stale:
        ctx.say("would run: " + " ".join(job.uninstall()) + "\n")
    ctx.say("would run: " + install_line + "\n")


def _apply(ctx: Context, job: _Job, argv: list[str], opts: InstallOptions) -> envs.Report | None:
    """Remove the stale builds, run the installer, verify: the same for a plan and a lock."""
    if job.stale:
        ctx.say(f"torchpin: removing {', '.join(job.stale)}: other builds than {job.variant} would be left mixed\n")
        inst.run(job.uninstall(), ctx.environ, ctx.say, secrets=job.secrets)
    ctx.say(f"torchpin: installing {job.what}with {job.installer} into {job.python}\n")
    said: list[str] = []

    def show(line: str) -> None:
        said.append(line)
        ctx.say(line)

    code = inst.run(argv, ctx.environ, show, job.env, job.secrets)
    if code != 0:
        after = inst.installed_family(job.python)
        changed = sorted(n for n in set(job.before) | set(after) if job.before.get(n) != after.get(n))
        state = ", ".join(f"{n} {after[n]}" for n in sorted(after)) or "no torch-family package"
        what = f"changed: {', '.join(changed)}" if changed else "nothing changed"
        why = f" ({inst.hash_refusal(said)})" if inst.hash_refusal(said) else ""
        raise InstallFailed(
            f"{job.installer} failed (exit {code}){why}; now installed: {state}; {what}{job.kept}",
            hint=f"fix the error above, then: {job.hint}",
        )
    if not opts.verify:
        return None
    return envs.verify_python(
        job.python,
        lock_text=job.lock_text,
        catalog=ctx.catalog(),
        host=ctx.host(),
        environ=ctx.environ,
        timeout=opts.timeout,
    )


def _installable(
    lock_file: str, text: str, view: locks.LockView, tmp: Path, checked: Mapping[str, Path], installer: str
) -> str:
    """What the installer's ``-r`` takes: the lock itself, or a requirements file for this machine
    with the lock's pins and index options, where each wheel torchpin checked is its local file.
    uv knows pylock and pyproject files by their names. For uv, a pip-layout lock's variant
    ``--extra-index-url`` becomes the family's find-links pages: uv takes each project from the
    first index listing it, and the variant pages' stale copies (setuptools 70.2.0) can't satisfy
    torch (vllm-project/vllm#45412)."""
    routed = _uv_routing(text, view) if installer == "uv" else None
    if view.kind is LockFormat.REQUIREMENTS and not checked:
        if routed is None:
            return lock_file
        (tmp / "requirements.txt").write_text(_rerouted(text, view, routed))
        return str(tmp / "requirements.txt")
    if view.kind.installs_with_uv_only:
        name = Path(lock_file).name
        wanted = "pyproject.toml" if view.kind is LockFormat.PYPROJECT else "pylock.toml"
        if name == wanted or (view.kind is LockFormat.PYLOCK and name.startswith("pylock.") and name.endswith(".toml")):
            return lock_file
        (tmp / wanted).write_text(text)
        return str(tmp / wanted)
    options = list(view.index_lines) or ([("--extra-index-url", view.index_url)] if view.index_url else [])
    if routed is not None:
        options = [line for o in options for line in (routed if _is_variant_line(o, view) else [o])]
    lines = [f"{flag} {url}" for flag, url in options]
    # A file the lock names by URL stays named by it, with its sha256 for the installer to check:
    # `k==v` would let the installer take PyPI's other build of an untagged name (xformers).
    by_url = {canonicalize_name(parse_wheel_filename(f.filename)[0]): f for f in view.files if f.url}
    for k, v in view.pins.items():
        f = by_url.get(canonicalize_name(k))
        if k in checked:
            lines.append(str(checked[k]))
        elif f and f.url and f.sha256:  # a local-tagged build is on the lock's pages; any other goes by URL
            lines.append(inst.handed_line(k, v, f, direct="+" not in v or not options))
        else:
            lines.append(f"{k} @ {f.url}" if f else f"{k}=={v}")
    (tmp / "requirements.txt").write_text("\n".join(lines) + "\n")
    return str(tmp / "requirements.txt")


def _is_variant_line(option: tuple[str, str], view: locks.LockView) -> bool:
    flag, url = option
    return flag == "--extra-index-url" and view.index_url is not None and url.rstrip("/") == view.index_url.rstrip("/")


def _uv_routing(text: str, view: locks.LockView) -> list[tuple[str, str]] | None:
    """The find-links lines that replace a lock's variant ``--extra-index-url`` for uv, whatever
    the lock's format (None: it has none, or it is a uv-only format whose sources route already)."""
    if view.kind.installs_with_uv_only or not view.index_url:
        return None
    options = list(view.index_lines) or [("--extra-index-url", view.index_url)]
    if view.kind is LockFormat.REQUIREMENTS:
        options += [(p[0], p[1]) for p in map(str.split, text.splitlines()) if len(p) == 2]
    if not any(_is_variant_line(o, view) for o in options):
        return None
    family = parse_variant(view.variant).family.value if view.variant else "cpu"
    projects = family_projects([p for p in view.pins if p in PROJECTS], family, view.pins.get("torch", ""))
    return find_links_lines(view.index_url, projects)


def _rerouted(text: str, view: locks.LockView, routed: list[tuple[str, str]]) -> str:
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and _is_variant_line((parts[0], parts[1]), view):
            out += [f"{flag} {url}" for flag, url in routed]
        else:
            out.append(line)
    return "\n".join(out) + "\n"
