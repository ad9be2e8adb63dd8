"""``--explain`` (pure): the decision in words, and the rejections nearest to it."""

from __future__ import annotations

from packaging.version import Version

from torchpin.models import Plan, Rejection

from .requirements import describe_target


def explain_plan(plan: Plan, limit: int = 12) -> str:
    lines = [
        f"target:  {describe_target(plan.target)}",
        f"chosen:  torch {plan.release} from {plan.index_url}",
        f"why:     {plan.why}",
    ]
    lines += [f"pairing: {w}" for w in plan.companions_why]
    lines += [f"note:    {n}" for n in plan.notes]
    near = nearest_rejections(plan.rejected, plan.release, limit)
    if near:
        lines.append("passed over (newest first):")
        lines += [f"  torch {r.release:<8} {r.variant:<9} {r.reason}" for r in near]
        hidden = len(plan.rejected) - len(near)
        if hidden > 0:
            lines.append(f"  … and {hidden} more (--format json lists them all)")
    return "\n".join(lines) + "\n"


def nearest_rejections(rejected: tuple[Rejection, ...], chosen: str, limit: int) -> list[Rejection]:
    """Rejections of the chosen release and newer ones: the alternatives a user would ask about."""
    floor = Version(chosen)
    near = [r for r in rejected if Version(r.release) >= floor]
    return near[:limit]


def explain_failure(rejected: tuple[Rejection, ...], limit: int = 40) -> str:
    """``--explain`` when no build fits: every rejection the exit-3 message sends the user to."""
    lines = ["rejected (newest first):"]
    lines += [f"  torch {r.release:<8} {r.variant:<9} {r.reason}" for r in rejected[:limit]]
    if len(rejected) > limit:
        lines.append(f"  … and {len(rejected) - limit} more, older")
    return "\n".join(lines) + "\n"
