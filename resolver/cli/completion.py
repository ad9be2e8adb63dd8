"""Shell completion (click's, for bash, zsh and fish): the values the options take, completed from
the grammar that reads them (variant names from the snapshot, uv's platform names, the ``--target``
SPEC's heads and keys). ``torchpin completion SHELL`` prints the script to source."""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem, get_completion_class

from torchpin.decide.options import TARGET
from torchpin.decide.platforms import ARCHES, OS_TRIPLES, PLATFORM_CHOICES

_KEYS = [o.flag.removeprefix("--") for o in TARGET if not o.is_flag and o.field != "backend"]


def script(cli: click.Command, shell: str) -> str:
    """The completion script for ``shell``: what ``eval "$(torchpin completion bash)"`` sources."""
    cls = get_completion_class(shell)
    if cls is None:  # click.Choice keeps this unreachable from the command line
        raise click.BadParameter(f"no completion for {shell}")
    return cls(cli, {}, "torchpin", "_TORCHPIN_COMPLETE").source()


def backend(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """auto, cpu and every variant the snapshot knows (cu126, rocm6.4, xpu, …)."""
    from torchpin.facts.snapshot import load_catalog

    from .snapshot import snapshot_bytes  # the snapshot loads only when a shell asks

    names = ["auto", *sorted(set(load_catalog(snapshot_bytes(), "snapshot").variant_names))]
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def python_platform(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(p) for p in PLATFORM_CHOICES if p.startswith(incomplete)]


def targets(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A SPEC's head (``linux-x86_64``, ``macos-arm64``, ``this``), then after ``:`` its KEYs."""
    head, colon, tail = incomplete.partition(":")
    if colon:
        done, _, last = tail.rpartition(",")
        prefix = f"{head}:{done + ',' if done else ''}"
        return [CompletionItem(f"{prefix}{k}=", type="plain") for k in _KEYS if k.startswith(last)]
    heads = ["this", *(f"{os_name}-{arch}" for os_name in OS_TRIPLES for arch in dict.fromkeys(ARCHES.values()))]
    return [CompletionItem(h) for h in heads if h.startswith(incomplete)]
