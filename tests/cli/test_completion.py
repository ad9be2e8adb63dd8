"""Shell completion: `torchpin completion SHELL` prints click's script, and the values of --backend,
--python-platform, --target, --format and --cuda-compat complete from the grammars that read them.
bash runs the script for real; zsh and fish run it where they are installed, and their side of
click's protocol is checked through the same variable either way."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import clean_env, run

BIN = str(Path(sys.executable).parent)


def bash_complete(line: str) -> list[str]:
    """What bash offers after ``line``, with the script sourced as a user's ~/.bashrc does."""
    script = f"""
eval "$(torchpin completion bash)"
COMP_WORDS=({line})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_torchpin_completion torchpin
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = {**clean_env(), "PATH": f"{BIN}:{clean_env()['PATH']}"}
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=True)
    return [w for w in done.stdout.splitlines() if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("torchpin lock --backend cu12", {"cu126", "cu128"}),  # from the snapshot's variants
        ("torchpin lock --backend ro", {"rocm6.4"}),
        ("torchpin install --backend x", {"xpu"}),
        ("torchpin lock --python-platform aarch64", {"aarch64-manylinux_2_28", "aarch64-apple-darwin"}),
        ("torchpin lock --target mac", {"macos-aarch64", "macos-x86_64"}),
        ("torchpin lock --format py", {"pylock", "pyproject"}),
        ("torchpin detect --cuda-compat ''", {"minor", "strict"}),
        ("torchpin lo", {"lock"}),
        ("torchpin lock --off", {"--offline"}),
    ],
)
def test_bash_completes(line: str, expected: set[str]) -> None:
    offered = set(bash_complete(line))
    assert expected <= offered, offered


def test_target_keys_complete_after_the_colon() -> None:
    """zsh and fish keep `linux-x86_64:dri` one word; click hands the completer all of it."""
    env = {**clean_env(), "_TORCHPIN_COMPLETE": "zsh_complete", "COMP_WORDS": "torchpin lock --target linux:dri"}
    done = run(env={**env, "COMP_CWORD": "3"})
    assert "linux:driver=" in done.stdout
    env["COMP_WORDS"] = "torchpin lock --target linux:driver=550.54.15,gpu"
    assert "linux:driver=550.54.15,gpu-cc=" in run(env={**env, "COMP_CWORD": "3"}).stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shells_script(shell: str) -> None:
    done = run("completion", shell)
    assert done.returncode == 0
    assert f"_TORCHPIN_COMPLETE={shell}_complete" in done.stdout.replace("'", "").replace('"', "")
    if shutil.which(shell) and shell != "bash":  # the script parses in the shell it is for
        check = ["zsh", "-n", "-c", done.stdout] if shell == "zsh" else ["fish", "--no-execute", "-c", done.stdout]
        assert subprocess.run(check, capture_output=True, timeout=60, check=False).returncode == 0


def test_fish_protocol_offers_the_backends() -> None:
    env = {**clean_env(), "_TORCHPIN_COMPLETE": "fish_complete", "COMP_WORDS": "torchpin lock --backend cu1"}
    done = run(env={**env, "COMP_CWORD": "cu1"})
    assert "cu126" in done.stdout


def test_an_unknown_shell_is_exit_2() -> None:
    r = run("completion", "powershell")
    assert r.returncode == 2
