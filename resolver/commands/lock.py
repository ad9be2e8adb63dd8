"""``torchpin lock``: one plan per target, then the format's writer (pure) given what uv and HEAD said."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from torchpin import decide, envs, locks, machine, net
from torchpin.decide.targets import TargetFlags, parse_requirement
from torchpin.errors import NoCompatibleBuild, TorchpinError, UsageError
from torchpin.locks.formats import Labeled, LockFormat, LockInput, write
from torchpin.models import Plan, Requirement

from .context import Context, IndexOptions
from .plan import make_plan

if TYPE_CHECKING:
    from torchpin.net.policy import NetPolicy


def run_lock(
    ctx: Context,
    requirements: Sequence[Requirement],
    flags: TargetFlags,
    index: IndexOptions,
    *,
    fmt: LockFormat,
    explain: bool = False,
    existing: str = "",
    add: bool = False,
    others: Sequence[str] | None = None,
    targets: Sequence[str] = (),
    typed: Sequence[str] = (),
    req_files: Sequence[str] = (),
    machines: Sequence[str] = (),
    planned: Sequence[Labeled] | None = None,
) -> str:
    """The lock text (for pyproject: the user's file edited); raise TorchpinError on any failure.

    ``others`` are the non-torch requirements to resolve with the torch family (``--full``, pylock);
    with ``targets`` (``--target`` specs) each target is planned as a single lock would plan it.
    ``typed`` and ``req_files`` are the REQ and -r the user gave: the lock records them in its recipe.
    With ``machines`` (inventories), the targets are a fleet's: one build for every node.
    ``planned``: the plans are made (a split fleet's group): only written.
    """
    if others is not None and not fmt.complete and fmt is not LockFormat.REQUIREMENTS:
        raise UsageError(f"--full writes a requirements file, not --format {fmt}", hint="drop --format or --full")
    if fmt.edits_file and not requirements:
        requirements, flags = project_requirements(ctx, existing, flags)
    full = others is not None and not fmt.complete
    if full and (targets or machines):
        raise UsageError("--full resolves one target", hint="use --format pylock for several targets")
    if targets and machines:
        raise UsageError("--target and --machines both say which machines to lock for", hint="give one of them")
    guess = _guess(ctx, requirements, flags, index, others) if full and others is not None else None
    try:
        if planned is not None:
            plans = list(planned)
        elif machines:
            from .fleet import fleet_plans  # a fleet's modules load only for a fleet lock

            plans = fleet_plans(ctx, requirements, flags, index, machines, explain=explain)
        else:
            plans = _plans(ctx, requirements, flags, index, targets)
    except BaseException as e:
        if guess is not None:
            guess.cancel()
        if isinstance(e, NoCompatibleBuild) and explain and e.rejections:  # what exit 3 sends the user to
            ctx.say(locks.explain_failure(e.rejections))
            e.hint = (e.hint or "").replace("; --explain lists every rejection", "") or None
        raise
    if explain:
        for label, plan in plans:
            ctx.note((f"--target {label}:\n" if label else "") + locks.explain_plan(plan))
    given: dict[str, Any] = {}
    if fmt.complete:
        given.update(_pylock(ctx, plans, others or [], index))
    elif others is not None:
        policy = ctx.endpoints(index).net()
        _check_others(others, policy)
        if index.offline:
            locks.pylock.check_offline(plans, "--full")
        resolved = _resolve(plans[0][1], others, policy, index.offline, guess)
        resolved = locks.bind_hashes(resolved, locks.user_hashes(others))
        _check_resolved(list(locks.read_lock(resolved).urls), policy)
        given["resolved"] = resolved
    multi = bool(targets) or len(plans) > 1
    text, notes = write(fmt, LockInput(plans, multi=multi, existing=existing, add=add, **given))
    recipe = _recipe(ctx, plans, index, fmt, typed, req_files, full=full, add=add, multi=multi)
    if machines:
        recipe = recipe._replace(flags=_fleet_flags(flags), targets=(), machines=tuple(machines))
    text = locks.stamp(fmt, text, recipe, files(plans))
    _check_written(text, existing, index.trusted_hosts)
    for note in notes:
        ctx.note(note)
    return text


def _recipe(
    ctx: Context,
    plans: Sequence[Labeled],
    index: IndexOptions,
    fmt: LockFormat,
    typed: Sequence[str],
    req_files: Sequence[str],
    *,
    full: bool,
    add: bool,
    multi: bool,
) -> locks.Recipe:
    """The command that decides this lock again on any machine: each target stated in full."""
    sources = ctx.endpoints(index).sources  # credential-free
    kept: dict[str, Any] = {"index_url": sources.pytorch if index.index_url else None, "find_links": sources.find_links}
    if multi:
        kept["targets"] = tuple(decide.spec_of(plan.target, _backend(plan)) for _, plan in plans)
    else:
        plan = plans[0][1]
        backend = _backend(plan)
        stated = [("backend", backend)] if backend else []
        kept["flags"] = tuple((f"--{key}", value) for key, value in [*stated, *decide.described(plan.target)])
    return locks.Recipe(tuple(typed), tuple(req_files), fmt=fmt, full=full, add=add, **kept)


def _fleet_flags(flags: TargetFlags) -> tuple[tuple[str, str], ...]:
    """What a fleet lock was told for every node (the rest is in each node's inventory)."""
    told = [
        ("--python-version", flags.python_version),
        ("--backend", flags.backend),
        ("--cuda-compat", flags.cuda_compat),
    ]
    return tuple((flag, value) for flag, value in told if value and value not in ("auto", "minor"))


def _backend(plan: Plan) -> str | None:
    """The backend the recipe states: the one asked for, or the one chosen where what decided it
    (an Intel GPU, ROCm without a known gfx, an image's CUDA without a driver) has no TARGET option."""
    t = plan.target
    if t.backend is not None:
        return t.backend.name
    acc = t.accelerator
    unstated = (
        acc.kind == "xpu"
        or (acc.kind == "rocm" and not acc.gpus)
        or (acc.kind == "cuda" and acc.driver is None and acc.cuda_max is not None)
    )
    return plan.variant.name if unstated else None


def files(plans: Sequence[Labeled]) -> dict[str, str]:
    """Each torch-family file a plan chose whose sha256 is known: the lock records them, so a check
    can tell when the index serves other bytes under the same name."""
    return {p.wheel.filename: p.wheel.sha256 for _, plan in plans for p in plan.pins if p.wheel and p.wheel.sha256}


def _pylock(ctx: Context, plans: list[Labeled], others: Sequence[str], index: IndexOptions) -> dict[str, Any]:
    """Each target's complete set from uv, merged; every file URL uv chose meets the URL policy."""
    policy = ctx.endpoints(index).net()
    _check_others(others, policy)
    if index.offline:
        locks.pylock.check_offline(plans)
    docs = []
    for _, plan in plans:
        doc = locks.toml_values(_compile(plan, others, policy, fmt="pylock.toml", offline=index.offline))
        packages = doc.get("packages", [])
        locks.pylock.bind_hashes(packages, locks.user_hashes(others))
        _check_resolved([u for p in packages if isinstance(p, dict) for u in locks.pylock_urls(p)], policy)
        docs.append(doc)
    return {"merged": locks.pylock.merge(plans, docs)}


def project_requirements(ctx: Context, text: str, flags: TargetFlags) -> tuple[list[Requirement], TargetFlags]:
    """A pyproject lock with no REQ decides from the project's own requirements, and for a Python
    its ``requires-python`` admits (this one if it does, else the oldest PyTorch supports)."""
    lines, requires_python = locks.pyproject.declared(text)
    requirements = [parse_requirement(line, where="pyproject.toml: ") for line in lines]
    if lines:
        ctx.note(f"torchpin: the project's own requirements decide: {', '.join(lines)}\n")
    if requires_python and flags.python_version is None:
        try:
            allowed = SpecifierSet(requires_python)
        except InvalidSpecifier:
            raise UsageError(f"pyproject.toml: requires-python {requires_python[:60]!r} is not a specifier") from None
        here = machine.host_python()
        if not allowed.contains(f"{here.major}.{here.minor}", prereleases=True):
            fits = [f"3.{m}" for m in range(9, 21) if allowed.contains(f"3.{m}", prereleases=True)]
            if not fits:
                raise UsageError(f"pyproject.toml: requires-python {requires_python!r} admits no CPython 3.9 or newer")
            ctx.note(f"torchpin: locking for Python {fits[0]}: requires-python is {requires_python}\n")
            flags = replace(flags, python_version=fits[0])
    return requirements, flags


def _plans(
    ctx: Context, requirements: Sequence[Requirement], flags: TargetFlags, index: IndexOptions, targets: Sequence[str]
) -> list[Labeled]:
    """One plan per ``--target`` (or one for the single target), each made as a single lock makes it."""
    if not targets:
        return [(None, make_plan(ctx, requirements, flags, index))]
    decide.check_shared(flags)
    plans: list[Labeled] = []
    for spec in targets:
        named = decide.parse_spec(spec, flags)
        plans.append((named.label, make_plan(ctx, requirements, named.flags, index)))
    return plans


def _guess(
    ctx: Context, requirements: Sequence[Requirement], flags: TargetFlags, index: IndexOptions, others: Sequence[str]
) -> envs.Compiling | None:
    """``--full``'s resolution started on the snapshot's plan, to run while the index is read: the
    live plan is most often the same, and then uv's answer is ready sooner. None when there is
    nothing to overlap (--offline) or the snapshot alone can't plan (the live plan decides)."""
    if index.offline:
        return None
    policy = ctx.endpoints(index).net()
    _check_others(others, policy)
    try:
        plan = make_plan(ctx, requirements, flags, replace(index, offline=True))
        if any(p.direct and p.wheel and not p.wheel.sha256 for p in plan.pins):
            return None  # the live plan hashes these files: it can't be the same
        return envs.Compiling(plan, others, policy)
    except TorchpinError:
        return None


def _resolve(plan: Plan, others: Sequence[str], policy: NetPolicy, offline: bool, guess: envs.Compiling | None) -> str:
    """uv's resolution for the plan decided: the guess's, when it was started for the same input."""
    if guess is None:
        return _compile(plan, others, policy, offline=offline)
    try:
        hit = guess.key == envs.compile_key(plan, others, policy)
    except BaseException:
        guess.cancel()
        raise
    if hit:
        return guess.result()
    guess.cancel()
    return _compile(plan, others, policy, offline=offline)


def _compile(plan: Plan, others: Sequence[str], policy: NetPolicy, **kw: Any) -> str:
    """uv's resolution, after the URL policy has read every URL the -r lines hand it."""
    from torchpin.envs.uv import compile_lock  # the envs package loads only for a lock that runs uv

    _check_others(others, policy)
    return compile_lock(plan, others, policy, **kw)


def _check_others(others: Sequence[str], policy: NetPolicy) -> None:
    """Every URL the -r lines would hand uv meets the URL policy, before anything else is said."""
    for line in others:
        for url in _URL.findall(line):
            if why := net.allowed(url, policy.trusted_hosts):
                hint = net.refusal_hint(url)
                raise UsageError(f"-r line {line[:80]!r} names {net.mask(url)[:120]}: {why}; refused", hint=hint)


def _check_resolved(urls: Sequence[str], policy: NetPolicy) -> None:
    """What uv resolved meets the same policy before a byte is written: uv itself fetches plain
    http from any host."""
    for url in urls:
        if why := net.allowed(url, policy.trusted_hosts):
            raise net.PolicyRefused(
                f"uv resolved a file at {net.mask(url)[:160]}: {why}; refused, nothing written",
                hint="point the index options at https mirrors, or --trusted-host for that host",
            )


def _check_written(text: str, existing: str, trusted_hosts: Sequence[str]) -> None:
    """The last gate before a lock is written: every URL torchpin puts in it (those of the user's
    own pyproject stay theirs) meets the URL policy, whichever path produced it."""
    theirs = set(_URL.findall(existing))
    net.check_all([u for u in _URL.findall(text) if u not in theirs], trusted_hosts, "the lock would name")


# Anything with a scheme in a requirement line (`name @ URL`, a bare URL, `git+https://…`).
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s;]+")
