"""``torchpin lock --machines … --split DIR``: a lock per group of nodes whose best build is the
same, plus the index file; and, for ``install --lock INDEX``, the group this machine belongs to."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from packaging.specifiers import SpecifierSet

from torchpin.decide.targets import TargetFlags, parse_backend
from torchpin.errors import NoCompatibleBuild, UsageError
from torchpin.fleet import plan as fleet
from torchpin.fleet import split as fleet_split
from torchpin.locks.formats import LockFormat
from torchpin.models import Requirement

from .context import Context, IndexOptions
from .fleet import decider, kinds
from .lock import run_lock
from .plan import plan_for, resolve_target

_SUFFIX = {LockFormat.REQUIREMENTS: ".txt", LockFormat.CONSTRAINTS: ".txt", LockFormat.JSON: ".json"}


def run_split(
    ctx: Context,
    requirements: Sequence[Requirement],
    flags: TargetFlags,
    index: IndexOptions,
    machines: Sequence[str],
    *,
    fmt: LockFormat,
    split: Path,
    output: Path | None,
) -> dict[Path, str]:
    """{path: text}: each group's lock, then the index (last: it names the others)."""
    if not machines:
        raise UsageError("--split divides a fleet: it goes with --machines", hint="add --machines INVENTORIES")
    if output is not None:
        raise UsageError("--split writes its locks into its DIR", hint="drop -o")
    made_with = shlex.join(
        ["torchpin", "lock", *[w for m in machines for w in ("--machines", m)], "--split", str(split)]
        + (["--format", fmt.value] if fmt is not LockFormat.REQUIREMENTS else [])
    )
    suffix = ".toml" if fmt is LockFormat.PYLOCK else _SUFFIX.get(fmt)
    if suffix is None:
        raise UsageError(
            f"--split writes a lock per group, not --format {fmt}", hint="use requirements, json or pylock"
        )
    found = kinds(ctx, machines, flags)
    decide_ = decider(ctx, index)
    groups = fleet_split.groups_of(found, fleet.own_plans(found, requirements, decide_))
    out: dict[Path, str] = {}
    for group in groups:
        plans = fleet.decide_fleet(fleet.buckets_of(group.kinds), requirements, decide_)
        several = len(plans) > 1
        labeled = [(b.label if several else None, p) for b, p in plans]
        out[split / group.file(suffix)] = run_lock(ctx, requirements, flags, index, fmt=fmt, planned=labeled)
        nodes = sum(len(k.nodes) for k in group.kinds)
        ctx.say(f"torchpin: {group.file(suffix)}: torch {group.release}+{group.backend} for {nodes} node(s)\n")
    out[split / fleet_split.INDEX_NAME] = fleet_split.index_doc([(g, g.file(suffix)) for g in groups], made_with)
    return out


def pick_group(ctx: Context, index_file: str, text: str, python: str, index: IndexOptions) -> str:
    """The lock (beside ``index_file``) of the group this machine belongs to, said with the reason:
    the group holding a machine exactly like it, else the newest group whose build runs here. A
    GPU machine never gets a CPU group's lock. No group fits: exit 3, each group's reason."""
    entries = fleet_split.read_index(text, index_file)
    target, _ = resolve_target(ctx, TargetFlags(), python)
    folder = Path(index_file).parent
    for entry in entries:
        if like := fleet_split.same_kind(entry, target):
            ctx.say(
                f"torchpin: {entry.lock}: this machine is like {like[2][0]} ({like[1]}) in the fleet's inventories\n"
            )
            return str(folder / entry.lock)
    why: list[str] = []
    fits = []
    for entry in entries:
        if target.accelerator.kind not in ("none", "mps") and entry.backend == "cpu":
            why.append(f"{entry.name}: a CPU build would leave this machine's GPU unused")
            continue
        pinned = [Requirement("torch", SpecifierSet(f"=={entry.release}"))]
        try:
            variant = parse_backend(entry.backend, ctx.catalog().variant_names)
            plan = plan_for(ctx, replace(target, backend=variant), pinned, index)
        except NoCompatibleBuild as e:
            why.append(f"{entry.name}: {e.rejections[0].reason if e.rejections else e.message}")
            continue
        except UsageError as e:  # a backend this torchpin doesn't know
            why.append(f"{entry.name}: {e.message}")
            continue
        fits.append((entry, plan))
    if not fits:
        raise NoCompatibleBuild(
            f"no group of {index_file} fits this machine ({target.platform}, {target.accelerator.kind}): "
            + "; ".join(why),
            hint="add this machine's `torchpin detect --json` to the inventories and lock with --split again",
        )
    if target.accelerator.kind == "none":  # a CPU machine: the CPU group's smaller build, if there is one
        fits.sort(key=lambda fit: fit[0].backend != "cpu")
    entry, plan = fits[0]  # else the newest: the index lists the newest build first
    ctx.say(f"torchpin: {entry.lock}: no fleet node is like this one; torch {plan.release}+{plan.variant} runs here\n")
    return str(folder / entry.lock)
