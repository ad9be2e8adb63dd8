"""``torchpin lock --machines``: a fleet's inventories → its kinds of node → one build for all
(``fleet.plan``), each target planned as a single lock plans it (``plan_for``), and with
``--explain`` the nodes that hold the fleet back and what would free it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from torchpin import machine
from torchpin.decide import compat
from torchpin.decide.targets import TargetFlags, build_target
from torchpin.errors import NoCompatibleBuild, UsageError
from torchpin.fleet import nodes as fleet_nodes
from torchpin.fleet import plan as fleet
from torchpin.models import DriverVersion, Plan, Requirement, Target, Variant

from .context import Context, IndexOptions
from .plan import plan_for

# What the nodes' own inventories say; a flag may say it for all of them, not these.
_ONE_MACHINE = ("python_platform", "glibc", "macos_version", "driver", "gpu_cc", "amd_gfx", "no_detect")


def kinds(ctx: Context, machines: Sequence[str], flags: TargetFlags) -> list[fleet.Kind]:
    """The fleet's kinds of node; ``flags`` (Python, backend, cuda-compat) apply to every node."""
    given = [f"--{name.replace('_', '-')}" for name in _ONE_MACHINE if getattr(flags, name)]
    if given:
        raise UsageError(
            f"{', '.join(given)} describe one machine; with --machines each node's inventory does",
            hint="--python-version, --backend and --cuda-compat apply to every node; edit nothing else",
        )
    known = ctx.catalog().variant_names
    named = []
    for node in fleet_nodes.read_nodes(machines):
        try:
            target = build_target(flags, machine.host_target(node.host), known)
        except UsageError as e:
            raise UsageError(f"{node.source}: {e.message}", hint=e.hint) from None
        named.append((node.name, target, shown(node.host)))
    return fleet.kinds_of(named)


def decider(ctx: Context, index: IndexOptions) -> fleet.Decide:
    """``plan_for`` with each answer kept: explaining and splitting ask again for the same kinds."""
    seen: dict[tuple[Target, tuple[Requirement, ...]], Plan | NoCompatibleBuild] = {}
    reading = index  # once the index couldn't be read (the fallback said so), the rest decide offline

    def decide(target: Target, requirements: Sequence[Requirement]) -> Plan:
        nonlocal reading
        key = (target, tuple(requirements))
        if key not in seen:
            try:
                seen[key] = plan = plan_for(ctx, target, requirements, reading)
                if not reading.offline and plan.source_detail.startswith("embedded snapshot"):
                    reading = replace(index, offline=True)
            except NoCompatibleBuild as e:
                seen[key] = e
        answer = seen[key]
        if isinstance(answer, NoCompatibleBuild):
            error = NoCompatibleBuild(answer.message, hint=answer.hint)
            error.rejections = answer.rejections
            raise error
        return answer

    return decide


def floor(ctx: Context) -> fleet.Floor:
    def driver(target: Target, variant: Variant) -> DriverVersion | None:
        return compat.driver_floor(ctx.catalog(), variant, target.platform, target.cuda_compat)

    return driver


def fleet_plans(
    ctx: Context,
    requirements: Sequence[Requirement],
    flags: TargetFlags,
    index: IndexOptions,
    machines: Sequence[str],
    *,
    explain: bool,
) -> list[tuple[str | None, Plan]]:
    """The fleet lock's plans, labelled by their target's SPEC when there are several."""
    found = kinds(ctx, machines, flags)
    decide = decider(ctx, index)
    plans = fleet.decide_fleet(fleet.buckets_of(found), requirements, decide)
    nodes = sum(len(k.nodes) for k in found)
    ctx.say(f"torchpin: {nodes} node(s), {len(found)} kind(s) of machine, {len(plans)} target(s)\n")
    if explain:
        ctx.note(describe(ctx, found, requirements, decide, plans))
    several = len(plans) > 1
    return [(b.label if several else None, replace(p, notes=_notes(b, p))) for b, p in plans]


def _notes(bucket: fleet.Bucket, plan: Plan) -> tuple[str, ...]:
    cpu = [k.label for k in bucket.kinds if k.target.accelerator.kind == "none"]
    said = [n for n in plan.notes if not n.startswith("detected:")]
    if cpu and plan.variant.family.value != "cpu":
        said.append(f"{', '.join(cpu)} (no GPU) run{'s' if len(cpu) == 1 else ''} this {plan.variant} build on the CPU")
    return (f"fleet: {', '.join(k.label for k in bucket.kinds)}", *said)


def describe(
    ctx: Context,
    found: Sequence[fleet.Kind],
    requirements: Sequence[Requirement],
    decide: fleet.Decide,
    plans: fleet.Fleet,
) -> str:
    """``--explain`` for a fleet: each target's build and nodes, then what holds the fleet back."""
    lines = [f"fleet: torch {plans[0][1].release} on every node"]
    for bucket, plan in plans:
        lines.append(
            f"  {bucket.target.platform}, Python {bucket.target.python}: {plan.variant} ({bucket.nodes} node(s))"
        )
        lines += [f"    {k.label}: {k.shown}" for k in bucket.kinds]
    held = fleet.holding_back(found, requirements, decide, plans)
    if held is None:
        lines.append("nothing holds the fleet back: every kind of node gets the newest build it runs alone")
        return "\n".join(lines) + "\n"
    holders, freed = held
    builds = ", ".join(sorted({f"{p.release}+{p.variant}" for _, p in freed}))
    lines.append(f"held back by {', '.join(k.label for k in holders)}: without them, torch {builds} for the rest")
    best = {(b.target.platform.key, str(b.target.python)): p for b, p in freed}
    drivers = []
    for kind in holders:
        plan = best.get((kind.target.platform.key, str(kind.target.python)), freed[0][1])
        need, why = fleet.unlock(kind, plan, requirements, decide, floor(ctx))
        drivers.append(need)
        lines.append(f"  {kind.label} ({kind.shown}), for torch {plan.release}+{plan.variant}: {why}")
    if all(drivers):
        upgrades = "; ".join(f"driver ≥ {d} on {k.label}" for k, d in zip(holders, drivers, strict=True))
        lines.append(f"  {upgrades} → torch {builds} for all")
    return "\n".join(lines) + "\n"


def shown(host: machine.Host) -> str:
    """A node's accelerator in a few words: the driver, then each kind of GPU once, counted."""
    said = machine.decide(host)[1]
    nv = host.nvidia
    if nv is None or not nv.visible:
        return said
    counts: dict[str, int] = {}
    for g in nv.visible:
        name = f"{g.name or 'GPU'} ({g.cc[0]}.{g.cc[1]})" if g.cc else g.name or "GPU"
        counts[name] = counts.get(name, 0) + 1
    gpus = ", ".join(f"{n}x {name}" if n > 1 else name for name, n in counts.items())
    return f"driver {nv.driver or 'unknown'}; {gpus}"
