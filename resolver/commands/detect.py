"""``torchpin detect``: every fact with its source, and the build ``lock --offline`` would choose,
planned by the same function as ``lock`` (so the two can't disagree)."""

from __future__ import annotations

from typing import Any

from torchpin import machine
from torchpin.decide.options import ENV_VARS
from torchpin.decide.targets import TargetFlags
from torchpin.errors import TorchpinError, UsageError
from torchpin.locks.requirements import index_lines
from torchpin.machine.host import host_json
from torchpin.machine.variants import variant_properties

from .context import Context, IndexOptions
from .plan import make_plan, project_python

# Variables that change what detect reports, besides the TARGET ones.
_ALSO_SHOWN = (
    "TORCHPIN_SYSROOT",
    "TORCHPIN_INDEX_URL",
    "TORCHPIN_FIND_LINKS",
    "TORCHPIN_PYPI_URL",
    "TORCHPIN_PYG_URL",
    "TORCHPIN_FLASH_ATTN_URL",
)


def run_detect(ctx: Context, flags: TargetFlags, index: IndexOptions) -> dict[str, Any]:
    """The detect document, with the build `torchpin lock --offline` would choose with the same options."""
    overrides = {k: v for k, v in ctx.environ.items() if k in (*ENV_VARS, *_ALSO_SHOWN)}
    doc = host_json(ctx.host(), overrides)
    doc["variant_properties"] = variant_properties(ctx.host())
    _project_interpreter(ctx, doc)
    try:
        plan = make_plan(
            ctx, (), flags, IndexOptions(index.index_url, index.find_links, index.trusted_hosts, offline=True)
        )
        doc["would_choose"] = {
            "backend": plan.variant.name,
            "index_url": plan.index_url,
            "index_options": [list(line) for line in index_lines(plan)],
            "packages": [f"{p.project}=={p.version}" for p in plan.pins],
            "why": plan.why,
        }
    except UsageError:
        raise  # a flag or variable that doesn't parse is exit 2 here as in lock, not a finding
    except TorchpinError as e:
        doc["would_choose"] = {"error": str(e), "exit_code": e.exit_code}
    return doc


def _project_interpreter(ctx: Context, doc: dict[str, Any]) -> None:
    """torchpin run as a tool (uv tool, pipx) runs on a Python of its own: the document's Python
    is the environment a lock here is for (as ``would_choose`` plans), so an inventory gathered
    by a tool install says the Python the node's jobs run."""
    python = project_python(ctx)
    if python is None:
        return
    found = ctx.interpreter(python)
    target, platform = machine.interpreter_target(found)
    own = doc["python"]["executable"]
    doc["python"] = {
        "version": str(target),
        "implementation": found.get("platform_python_implementation", "CPython"),
        "bits": int(bits) if (bits := found.get("bits", "64")).isdigit() else 64,
        "freethreaded": target.freethreaded,
        "executable": python,
    }
    doc["platform"]["glibc"] = str(platform.glibc) if platform.glibc else doc["platform"]["glibc"]
    doc["notes"].append(f"python: the environment of {python} (torchpin itself runs on {own})")
