"""``torchpin lock --check``: decide a lock's recorded targets again and say, one line each, how the
lock now differs: a newer build fits, a pinned build or file is gone, a file's hash changed, or the
lock was edited by hand since torchpin wrote it.

The lock's recipe states every target in full, so the check decides for the lock's machines, not
for the one it runs on. It reads the index the lock was made from (a flag given here wins), never
falls back to the snapshot without saying so (a check that couldn't look is exit 4), and with
``--offline`` compares with the snapshot, where files and hashes are not known.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from torchpin import decide, locks
from torchpin.decide.targets import TargetFlags, marker_environment, parse_requirement
from torchpin.errors import NoCompatibleBuild, UsageError
from torchpin.locks.formats import LockFormat
from torchpin.models import Plan, Requirement

from .context import Context, IndexOptions
from .fleet import fleet_plans
from .lock import project_requirements
from .plan import make_plan

# Finding kinds, in the order a reader acts on them.
KINDS = ("edited", "gone", "hash", "newer", "changed")


class Finding(NamedTuple):
    kind: str  # one of KINDS
    target: str | None  # the --target label of a multi-target lock
    text: str

    def line(self) -> str:
        return f"{self.kind}: " + (f"--target {self.target}: " if self.target else "") + self.text


class CheckReport(NamedTuple):
    path: str
    findings: tuple[Finding, ...]
    recipe: str
    source: str  # what the lock was compared with

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "lock": self.path,
            "ok": self.ok,
            "compared_with": self.source,
            "findings": [{"kind": f.kind, "target": f.target, "detail": f.text} for f in self.findings],
            "relock": f"{self.recipe} -o {self.path}" if self.findings else None,
        }


def run_check(ctx: Context, path: str, given: IndexOptions) -> CheckReport:
    """Compare the lock at ``path`` with what torchpin decides for its recorded targets now."""
    text = locks.read_text(Path(path))
    kind = locks.kind_of(text)
    record = locks.recorded(kind, text)
    if record is None:
        raise UsageError(
            f"{path} records no `torchpin lock` command (written by hand, or by a torchpin before 0.2)",
            hint=f"lock it again with torchpin lock ... -o {path}; later checks compare with that",
        )
    recipe = record.recipe
    index = replace(
        given,
        index_url=given.index_url or recipe.index_url,
        find_links=given.find_links or recipe.find_links,
        no_fallback=not given.offline,  # a check that couldn't read the index says so: exit 4
    )
    requirements = [parse_requirement(r) for r in recipe.requirements]
    if recipe.req_files:
        found, _ = locks.read_requirement_files(recipe.req_files, ctx.environ, others=[])
        requirements += found
    machines = _machines(recipe)
    if recipe.fmt is LockFormat.PYPROJECT and not requirements:
        requirements, _ = project_requirements(ctx, text, machines[0][1])
    findings: list[Finding] = []
    if locks.digest(recipe.fmt, text) != record.digest:
        findings.append(Finding("edited", None, "what it pins differs from what torchpin wrote (its digest)"))
    source = ""
    for label, flags, plan in _planned(ctx, recipe, machines, requirements, index):
        source = plan.source_detail or plan.source
        view = locks.read_lock(text, marker_environment(plan.target))
        findings += _compare(ctx, view, plan, label, flags, index, record.files)
    ctx.flush()
    return CheckReport(path, tuple(findings), str(recipe), source)


def _planned(
    ctx: Context,
    recipe: locks.Recipe,
    machines: list[tuple[str | None, TargetFlags]],
    requirements: list[Requirement],
    index: IndexOptions,
) -> list[tuple[str | None, TargetFlags, Plan]]:
    """Each recorded target decided again; a fleet's from its inventories, as one build for all."""
    if not recipe.machines:
        return [(label, flags, make_plan(ctx, requirements, flags, index)) for label, flags in machines]
    told = replace(machines[0][1], no_detect=False)
    planned = fleet_plans(ctx, requirements, told, index, recipe.machines, explain=False)
    return [(label, decide.parse_spec(decide.spec_of(p.target, None), told).flags, p) for label, p in planned]


def _machines(recipe: locks.Recipe) -> list[tuple[str | None, TargetFlags]]:
    """Each recorded target's flags: one stated by flags, or a full SPEC each."""
    if recipe.targets:
        return [(named.label, named.flags) for named in (decide.parse_spec(s, TargetFlags()) for s in recipe.targets)]
    fields: dict[str, Any] = {"no_detect": True}
    options = {o.flag: o for o in decide.TARGET}
    for flag, value in recipe.flags:
        option = options[flag]
        fields[option.field] = (*fields.get(option.field, ()), value) if option.multiple else value
    return [(None, TargetFlags(**fields))]


def _compare(
    ctx: Context,
    view: locks.LockView,
    plan: Plan,
    label: str | None,
    flags: TargetFlags,
    index: IndexOptions,
    files: dict[str, str],
) -> list[Finding]:
    fresh = {p.project: p.version for p in plan.pins}
    if view.kind is LockFormat.PYPROJECT and not view.pins:  # routes the family; uv.lock pins it
        now = plan.variant.name if not plan.on_pypi else None
        if (view.variant if view.index_url else None) != now:
            said = f"the {view.variant} index" if view.index_url else "PyPI"
            return [Finding("changed", label, f"torchpin now routes torch to {now or 'PyPI'} (the lock: {said})")]
        return []
    out = []
    locked = {name: view.pins.get(name) for name in fresh}
    if index.offline and _beyond_snapshot(ctx, locked.get("torch")):
        ctx.note(
            f"torchpin: the lock's torch {locked['torch']} is newer than the embedded snapshot "
            f"({ctx.catalog().snapshot_date}): checked for edits only; drop --offline to compare with the index\n"
        )
        return []
    if any(locked[name] != version for name, version in fresh.items()):
        pinned = [
            Requirement(name, SpecifierSet(f"=={version}")) for name, version in locked.items() if version is not None
        ]
        try:
            was = make_plan(ctx, pinned, replace(flags, backend=view.variant or "auto"), index)
        except NoCompatibleBuild as e:
            shown = ", ".join(f"{n}=={v}" for n, v in locked.items() if v)
            out.append(Finding("gone", label, f"{shown} can no longer be locked for this target: {e.message}"))
            out.append(_newer_or_changed(locked, fresh, label, gone=True))
        else:
            out += _hashes(was, files, label, index.offline)
            out.append(_newer_or_changed(locked, fresh, label, gone=False))
    else:
        out += _hashes(plan, files, label, index.offline)
    return out


def _beyond_snapshot(ctx: Context, torch: str | None) -> bool:
    """A lock made from a live index may pin a torch the snapshot doesn't know yet."""
    try:
        return torch is not None and Version(Version(torch).public) > max(r.version for r in ctx.catalog().releases)
    except (InvalidVersion, ValueError):
        return False


def _hashes(plan: Plan, files: dict[str, str], label: str | None, offline: bool) -> list[Finding]:
    """The index's sha256 for each file the lock recorded, where both are known."""
    if offline:
        return []
    out = []
    for pin in plan.pins:
        wheel = pin.wheel
        if wheel is None or not wheel.sha256 or wheel.filename not in files or files[wheel.filename] == wheel.sha256:
            continue
        was = files[wheel.filename]
        said = f"{wheel.filename}: the index now serves sha256 {wheel.sha256[:12]}…, the lock has {was[:12]}…"
        out.append(Finding("hash", label, said))
    return out


def _newer_or_changed(
    locked: dict[str, str | None], fresh: dict[str, str], label: str | None, *, gone: bool
) -> Finding:
    """Newer: the lock's builds are still there and torchpin prefers others (a newer release, or a
    better build of the same one). Changed: anything else (the lock's builds gone, a pin missing)."""
    differs = [name for name, version in fresh.items() if locked[name] != version]
    now = ", ".join(f"{n} {fresh[n]}" for n in differs)
    was = ", ".join(f"{n} {locked[n]}" if locked[n] else f"no {n}" for n in differs)
    if not gone and all(_not_older(fresh[n], locked[n]) for n in differs):
        return Finding("newer", label, f"a newer build fits: {now} (the lock: {was})")
    return Finding("changed", label, f"torchpin now decides {now} (the lock: {was})")


def _not_older(now: str, was: str | None) -> bool:
    if was is None:
        return False
    try:
        return Version(now).public >= Version(was).public
    except InvalidVersion:
        return False
