"""One build for a fleet of machines (pure): the newest torch release every node runs, one
target per platform and Python, each made from its nodes' weakest facts (the lowest driver, every
GPU's architecture, the oldest glibc). The policy itself is the caller's ``Decide`` (``select``
over a catalog), so a fleet decides nothing a single lock wouldn't.

Identical nodes are one ``Kind``: the work grows with the distinct machines, not the nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from torchpin.decide.specs import spec_of
from torchpin.errors import NoCompatibleBuild
from torchpin.models import Accelerator, DriverVersion, Gpu, Plan, Requirement, Target, Variant

Decide = Callable[[Target, Sequence[Requirement]], Plan]
Floor = Callable[[Target, Variant], "DriverVersion | None"]


@dataclass(frozen=True)
class Kind:
    """Nodes a lock can't tell apart: the same Python, platform, driver and GPU architectures."""

    target: Target  # GPU names dropped, each architecture once
    nodes: tuple[str, ...]
    shown: str  # what detection decided on its first node, in words

    @property
    def label(self) -> str:
        n = len(self.nodes)
        return self.nodes[0] if n == 1 else f"the {n} nodes like {self.nodes[0]}"


@dataclass(frozen=True)
class Bucket:
    """One target of the fleet lock: the kinds sharing a platform and a Python, merged."""

    target: Target
    kinds: tuple[Kind, ...]

    @property
    def label(self) -> str:
        return spec_of(self.target, self.target.backend.name if self.target.backend else None)

    @property
    def nodes(self) -> int:
        return sum(len(k.nodes) for k in self.kinds)


Fleet = list[tuple[Bucket, Plan]]


def kinds_of(named: Sequence[tuple[str, Target, str]]) -> list[Kind]:
    """Group (node, target, shown) by what decides a build, in first-seen order."""
    groups: dict[Target, list[str]] = {}
    shown: dict[Target, str] = {}
    for name, target, said in named:
        key = key_of(target)
        groups.setdefault(key, []).append(name)
        shown.setdefault(key, said)
    return [Kind(key, tuple(names), shown[key]) for key, names in groups.items()]


def key_of(target: Target) -> Target:
    acc = target.accelerator
    gpus = tuple(sorted({Gpu(cc=g.cc, gfx=g.gfx) for g in acc.gpus}, key=_gpu_order))
    return replace(target, accelerator=replace(acc, gpus=gpus))


def _gpu_order(gpu: Gpu) -> tuple[tuple[int, int], str]:
    return gpu.cc or (0, 0), gpu.gfx or ""


def buckets_of(kinds: Sequence[Kind]) -> list[Bucket]:
    """One bucket per platform and Python; a mix of GPU makers on one platform is no one build."""
    grouped: dict[tuple[str, str], list[Kind]] = {}
    for kind in kinds:
        t = kind.target
        grouped.setdefault((t.platform.key, str(t.python)), []).append(kind)
    return [Bucket(_merged(group), tuple(group)) for group in grouped.values()]


def _merged(kinds: Sequence[Kind]) -> Target:
    targets = [k.target for k in kinds]
    first = targets[0]
    glibc = [t.platform.glibc for t in targets if t.platform.glibc]
    macos = [t.platform.macos for t in targets if t.platform.macos]
    platform = replace(
        first.platform,
        glibc=min(glibc) if glibc else None,
        macos=min(macos) if macos else None,
        musl=any(t.platform.musl for t in targets),
    )
    with_gpu = [(k, k.target.accelerator) for k in kinds if k.target.accelerator.kind != "none"]
    makers = {acc.kind for _, acc in with_gpu}
    if len(makers) > 1:
        seen = "; ".join(f"{k.label}: {acc.kind}" for k, acc in with_gpu)
        raise NoCompatibleBuild(
            f"no one build runs on every {platform} node: their GPUs need different builds ({seen})",
            hint="lock with --split for a lock per group of nodes",
        )
    accelerator = Accelerator()
    if with_gpu:
        accs = [acc for _, acc in with_gpu]
        drivers = [a.driver for a in accs if a.driver is not None]
        cuda_max = [a.cuda_max for a in accs if a.cuda_max is not None]
        gpus = {g for a in accs for g in a.gpus}
        accelerator = Accelerator(
            accs[0].kind,
            min(drivers) if drivers else None,
            tuple(sorted(gpus, key=_gpu_order)),
            min(cuda_max) if cuda_max else None,
        )
    return replace(first, platform=platform, accelerator=accelerator)


def decide_fleet(buckets: Sequence[Bucket], requirements: Sequence[Requirement], decide: Decide) -> Fleet:
    """Each bucket's plan, all on one torch release: the newest every bucket runs.

    Each bucket decides alone; while they disagree, all are capped at the oldest release chosen
    and decide again. The cap only falls, so this ends, at the newest release they share."""
    cap: list[Requirement] = []
    while True:
        plans = [(b, _decide_bucket(b, [*requirements, *cap], decide)) for b in buckets]
        releases = {Version(p.release) for _, p in plans}
        if len(releases) == 1:
            return plans
        cap = [Requirement("torch", SpecifierSet(f"<={min(releases)}"), constraint=True)]


def _decide_bucket(bucket: Bucket, requirements: Sequence[Requirement], decide: Decide) -> Plan:
    try:
        return decide(bucket.target, requirements)
    except NoCompatibleBuild as e:
        alone = []
        for kind in bucket.kinds:
            try:
                decide(kind.target, requirements)
            except NoCompatibleBuild as own:
                alone.append(f"{kind.label} ({kind.shown}): {own.message}")
        if alone:
            raise _again(
                e, "no build runs on " + "; ".join(alone), "leave those inventories out, or lock them apart"
            ) from None
        if len(bucket.kinds) > 1:
            names = ", ".join(k.label for k in bucket.kinds)
            said = f"no one build runs on all of {names} together: {e.message}"
            raise _again(e, said, "lock with --split for a lock per group of nodes") from None
        raise


def _again(e: NoCompatibleBuild, message: str, hint: str) -> NoCompatibleBuild:
    error = NoCompatibleBuild(message, hint=hint)
    error.rejections = e.rejections
    return error


def better(new: Fleet, old: Fleet) -> bool:
    """A newer release for all, or the same one with a better build somewhere and worse nowhere."""
    new_release, old_release = Version(new[0][1].release), Version(old[0][1].release)
    if new_release != old_release:
        return new_release > old_release
    was = {(b.target.platform.key, str(b.target.python)): p.variant for b, p in old}
    ups = 0
    for b, p in new:
        before = was.get((b.target.platform.key, str(b.target.python)))
        if before is None or before == p.variant:
            continue
        if before.family is not p.variant.family or p.variant < before:
            return False
        ups += 1
    return ups > 0


def own_plans(kinds: Sequence[Kind], requirements: Sequence[Requirement], decide: Decide) -> dict[Kind, Plan | None]:
    """What each kind of node would get on its own (None: nothing runs there)."""
    out: dict[Kind, Plan | None] = {}
    for kind in kinds:
        try:
            out[kind] = decide(kind.target, requirements)
        except NoCompatibleBuild:
            out[kind] = None
    return out


def _rank(plan: Plan | None) -> tuple[Version, tuple[int, ...]]:
    """Weakest first: nothing runs, then the oldest release, then the lowest variant version."""
    return (Version(plan.release), plan.variant.version) if plan else (Version("0"), ())


def holding_back(
    kinds: Sequence[Kind], requirements: Sequence[Requirement], decide: Decide, fleet: Fleet
) -> tuple[list[Kind], Fleet] | None:
    """The fewest kinds of node, weakest first, whose absence would give the rest a better build,
    and that build; None when no kind holds the fleet back."""
    own = own_plans(kinds, requirements, decide)
    order = sorted(kinds, key=lambda k: _rank(own[k]))
    for n in range(1, len(order)):
        rest = [k for k in kinds if k not in order[:n]]
        try:
            freed = decide_fleet(buckets_of(rest), requirements, decide)
        except NoCompatibleBuild:
            continue
        if better(freed, fleet):
            return order[:n], freed
    return None


def unlock(
    kind: Kind, plan: Plan, requirements: Sequence[Requirement], decide: Decide, floor: Floor
) -> tuple[DriverVersion | None, str]:
    """What it would take for ``kind`` to run ``plan``'s build: the driver that would do it, or
    (None and) why it can't."""
    wanted = [*requirements, Requirement("torch", SpecifierSet(f"=={plan.release}"), constraint=True)]
    target = replace(kind.target, backend=plan.variant)
    try:
        decide(target, wanted)
        return None, "it runs there already"
    except NoCompatibleBuild as e:
        first = e.rejections[0] if e.rejections else None
        why = first.reason if first else e.message
        if first is None or first.kind != "driver":
            return None, why
    need = floor(target, plan.variant)
    if need is None:
        return None, why
    upgraded = replace(target, accelerator=replace(target.accelerator, driver=need))
    try:
        decide(upgraded, wanted)
    except NoCompatibleBuild as e:
        return None, f"not even with driver {need}: " + (e.rejections[0].reason if e.rejections else e.message)
    return need, f"driver ≥ {need} would run it"
