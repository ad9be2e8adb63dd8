"""Text for humans (stderr): the detect table and the verify/doctor report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from torchpin.errors import LockStale, VerifyFailed

if TYPE_CHECKING:
    from torchpin.commands import Context


def detect_rows(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(fact, value, source) rows for the human view of `torchpin detect`."""
    rows: list[tuple[str, str, str]] = []
    py, plat = doc["python"], doc["platform"]
    rows.append(("python", f"{py['implementation']} {py['version']} ({py['bits']}-bit)", py["executable"]))
    libc = "musl" if plat["musl"] else f"glibc {plat['glibc']}" if plat["glibc"] else ""
    where = ", ".join(
        x for x in (plat["container"], "WSL2" if plat["wsl"] else "", "Rosetta" if plat["rosetta"] else "") if x
    )
    rows.append(("platform", f"{plat['os']} {plat['arch']} {libc or plat['macos'] or ''}".strip(), where))
    nv = doc["nvidia"]
    if nv:
        rows.append(("NVIDIA driver", str(nv["driver"]), str(nv["driver_source"])))
        if nv["kernel_module"] and nv["kernel_module"] != nv["driver"]:
            rows.append(("kernel module", nv["kernel_module"], "/sys/module/nvidia, /proc/driver/nvidia"))
        if nv["cuda_max"]:
            rows.append(("driver's CUDA", nv["cuda_max"], "NVML"))
        for g in nv["gpus"]:
            mem = f", {g['memory_mib']} MiB" if g["memory_mib"] else ""
            hidden = "" if g["index"] in nv["visible"] else " [hidden by CUDA_VISIBLE_DEVICES]"
            rows.append((f"GPU {g['index']}", f"{g['name']} (cc {g['cc']}{mem}){hidden}", g["source"]))
    if doc["amd"]:
        rows.append(("AMD GPUs", ", ".join(doc["amd"]["gfx"]), doc["amd"]["source"]))
        rows.append(("ROCm", str(doc["amd"]["rocm_version"]), ".info/version under ROCM_PATH"))
    if doc["intel"]:
        rows.append(("Intel GPUs", ", ".join(doc["intel"]), "PCI"))
    if doc["jetson"]:
        rows.append(("Jetson", f"L4T {doc['jetson']['l4t']} (cc {doc['jetson']['cc']})", "/etc/nv_tegra_release"))
    if doc["build_hint"]:
        rows.append(("build hint", f"CUDA {doc['build_hint']['cuda']}", doc["build_hint"]["source"]))
    if "settings" not in doc:  # the settings rows name each variable with its option
        rows += [("override", f"{name}={value}", "environment") for name, value in doc["overrides"].items()]
    for name, setting in doc.get("settings", {}).items():
        value = setting["value"]
        shown = " ".join(map(str, value)) if isinstance(value, list) else str(value)
        rows.append(("setting", f"{name.replace('_', '-')}={shown}", setting["from"]))
    rows.append(("accelerator", doc["accelerator"]["kind"], doc["decided_by"]))
    choice = doc["would_choose"]
    if "error" in choice:
        rows.append(("would lock", f"nothing: {choice['error']}", f"exit {choice['exit_code']}"))
    else:
        rows.append(("would lock", " ".join(choice["packages"]), choice["index_url"]))
    return rows


def table(rows: list[tuple[str, str, str]], headers: tuple[str, str, str]) -> str:
    """A plain aligned table. Not rich: importing rich alone costs ~40 ms, a third of
    detect's 150 ms budget; the slow reports (verify, doctor) use rich."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(2)]
    line = "  ".join("-" * w for w in widths) + "  " + "-" * 6
    out = ["  ".join(h.ljust(w) for h, w in zip(headers[:2], widths, strict=True)) + "  " + headers[2], line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r[:2], widths, strict=True)) + "  " + r[2] for r in rows]
    return "\n".join(out) + "\n"


def detect_text(doc: dict[str, Any]) -> str:
    text = table(detect_rows(doc), ("fact", "value", "source"))
    return text + "".join(f"warning: {note}\n" for note in doc["notes"])


def report_table(report: Any, title: str) -> None:
    """The verify/doctor table (rich, to stderr): check, status, what was seen (and why, where a
    failure's cause is known), the fix."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, highlight=False, soft_wrap=False)
    colors = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
    table = Table(title=f"{title}: {report.python}", show_lines=False, expand=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("what was seen", overflow="fold")
    table.add_column("fix", overflow="fold")
    for c in report.checks:
        color = colors.get(c.status, "")
        seen = f"{c.detail}\nwhy: {c.cause}" if c.cause and c.status in ("fail", "warn") else c.detail
        table.add_row(c.id, f"[{color}]{c.status}[/{color}]", seen, c.fix or "")
    console.print(table)


def finish_report(
    report: Any, as_json: bool, title: str, extra: dict[str, Any] | None = None, closing: str | None = None
) -> None:
    if as_json:
        click.echo(json.dumps({**report.as_json(), **(extra or {})}, indent=2))
    else:
        report_table(report, title)
        if closing and report.ok:
            click.echo(closing, err=True)
    if not report.ok:
        failed = [c.id for c in report.checks if c.status == "fail"]
        tail = f"; {closing.removeprefix('torchpin: ')}" if closing else ""
        raise VerifyFailed(f"{len(failed)} check(s) failed: {', '.join(failed)}{tail}")


def finish_check(report: Any, as_json: bool) -> None:
    """``lock --check``'s findings, one line each (or JSON on stdout); exit 7 when there are any."""
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        for finding in report.findings:
            click.echo(f"torchpin: {report.path}: {finding.line()}", err=True)
    if report.ok:
        click.echo(f"torchpin: {report.path} is up to date (compared with the {report.source})", err=True)
        return
    raise LockStale(
        f"{report.path} is out of date ({len(report.findings)} finding(s))",
        hint=f"update it: {report.recipe} -o {report.path}",
    )


def write_split(ctx: Context, files: dict[Path, str]) -> None:
    """A split fleet's locks, each written atomically, the index last."""
    from torchpin.files import write_user_file  # tempfile & co.: only a lock written to a file pays

    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_user_file(path, text)
    ctx.say(
        f"torchpin: wrote {len(files) - 1} lock(s) and {list(files)[-1]} (torchpin install --lock it on any node)\n"
    )


def finish_summary(files: tuple[str, ...], as_json: bool, *, given: bool) -> None:
    """``verify --summary FILES``: the grouped text to stderr (or JSON to stdout); exit 6 when a node failed."""
    from torchpin.errors import UsageError
    from torchpin.fleet import summary

    if given or not files:
        raise UsageError("verify --summary reads FILES (many nodes' verify --json) and nothing else", hint=_SUMMARY)
    groups = summary.summarize(summary.read_reports(files))
    if as_json:
        click.echo(json.dumps(summary.as_json(groups), indent=2))
    else:
        click.echo(summary.text(groups), err=True, nl=False)
    failed = [n for g in groups if g.outcome.status == "fail" for n in g.nodes]
    if failed:
        raise VerifyFailed(f"{len(failed)} node(s) failed verify", hint="each group above says which check and why")


_SUMMARY = "e.g. torchpin verify --summary verify/ (srun --output=verify/%N.json torchpin verify --json)"
