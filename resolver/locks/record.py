"""What a lock records about its own making (pure): the ``torchpin lock`` command that decides it
again on any machine (its ``Recipe``), and a digest of what it pins, so ``lock --check`` can tell
a stale lock from an edited one.

The recipe names every target explicitly (``--no-detect`` and each TARGET option, or a full
``--target`` SPEC each), so it decides the same machine wherever it runs: a CI runner without the
GPU the lock was made for checks it as well as the machine itself. The digest covers what pip or
uv would act on (not the comments; in a pyproject only torchpin's own entries), so a comment or a
reformat is not an edit, and a changed pin, index or hash is.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any, NamedTuple

from torchpin.decide.options import TARGET
from torchpin.errors import UsageError

from .formats import LockFormat, assert_never

# CPython's own sha256: hashlib loads OpenSSL for it, ~3 ms of every lock for one short digest.
_sha256: Any
try:
    from _sha2 import sha256 as _sha256  # type: ignore[import-not-found, no-redef, unused-ignore]  # 3.12+
except ImportError:
    try:
        from _sha256 import sha256 as _sha256  # type: ignore[import-not-found, no-redef, unused-ignore]
    except ImportError:  # a build without them
        from hashlib import sha256 as _sha256  # type: ignore[no-redef, unused-ignore]

# The TARGET options a recipe may hold, by flag (the one definition: decide.options).
_VALUED = {o.flag: o for o in TARGET if not o.is_flag}
_OPTIONS = ("--format", "--index-url", "--find-links", "--target", "--machines", "-r")
_RECIPE = re.compile(r"(?m)^# made with: (torchpin lock\b.*)$")
_DIGEST = re.compile(r"(?m)^# digest: (sha256:[0-9a-f]{64})\b")
_FILE = re.compile(r"(?m)^# file: (\S+) sha256:([0-9a-f]{64})$")
_RECORD_KEYS = ("made_with", "digest", "files")
TOOL = "torchpin"  # [tool.torchpin] in a pylock; [tool.torchpin.locked] in a pyproject (beside its config)


class Recipe(NamedTuple):
    """The inputs of one ``torchpin lock`` run, every target stated."""

    requirements: tuple[str, ...] = ()
    req_files: tuple[str, ...] = ()
    flags: tuple[tuple[str, str], ...] = ()  # one target: (TARGET flag, value), nothing detected
    targets: tuple[str, ...] = ()  # several: a full --target SPEC each
    machines: tuple[str, ...] = ()  # a fleet: its inventories (files or directories), as given
    index_url: str | None = None
    find_links: str | None = None
    fmt: LockFormat = LockFormat.REQUIREMENTS
    full: bool = False
    add: bool = False

    def args(self) -> list[str]:
        out = [] if self.fmt is LockFormat.REQUIREMENTS else ["--format", self.fmt.value]
        out += ["--full"] * self.full + ["--add"] * self.add
        if not self.targets and not self.machines:
            out.append("--no-detect")
        for flag, value in self.flags:
            out += [flag, value]
        for spec in self.targets:
            out += ["--target", spec]
        for path in self.machines:
            out += ["--machines", path]
        for flag, url in (("--index-url", self.index_url), ("--find-links", self.find_links)):
            out += [flag, url] if url else []
        for path in self.req_files:
            out += ["-r", path]
        return [*out, *self.requirements]

    def __str__(self) -> str:
        return "torchpin lock " + shlex.join(self.args())


class Record(NamedTuple):
    recipe: Recipe
    digest: str  # as stated in the lock
    files: dict[str, str]  # file name → sha256 of each torch-family file the decision chose, where known


def parse_recipe(text: str) -> Recipe:
    """The recipe a lock states (``torchpin lock …``); anything torchpin doesn't write is refused."""
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise UsageError(f"the lock's recipe is not a command line ({e})", hint=_RELOCK) from None
    if words[:2] != ["torchpin", "lock"]:
        raise UsageError("the lock's recipe is not a `torchpin lock` command", hint=_RELOCK)
    fields: dict[str, Any] = {"requirements": [], "req_files": [], "flags": [], "targets": [], "machines": []}
    rest = iter(words[2:])
    for word in rest:
        if word in ("--full", "--add"):
            fields[word[2:]] = True
        elif word == "--no-detect":
            continue
        elif word in _OPTIONS or word in _VALUED:
            value = next(rest, None)
            if value is None:
                raise UsageError(f"the lock's recipe ends at {word} without its value", hint=_RELOCK)
            if word in _VALUED:
                fields["flags"].append((word, value))
            elif word == "--format":
                fields["fmt"] = _format(value)
            elif word in ("--target", "--machines"):
                fields["targets" if word == "--target" else "machines"].append(value)
            elif word == "-r":
                fields["req_files"].append(value)
            else:
                fields[word[2:].replace("-", "_")] = value
        elif word.startswith("-"):
            raise UsageError(f"the lock's recipe has an option torchpin doesn't record: {word[:40]!r}", hint=_RELOCK)
        else:
            fields["requirements"].append(word)
    kept: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    return Recipe(**kept)


_RELOCK = "lock it again with `torchpin lock`"


def _format(value: str) -> LockFormat:
    try:
        return LockFormat(value)
    except ValueError:
        raise UsageError(f"the lock's recipe names an unknown --format {value[:20]!r}", hint=_RELOCK) from None


def digest(kind: LockFormat, text: str) -> str:
    """``sha256:…`` of what the lock pins, read as pip or uv reads it (the record itself left out)."""
    match kind:
        case LockFormat.REQUIREMENTS | LockFormat.CONSTRAINTS:
            lines = (line.rstrip() for line in text.replace("\r\n", "\n").splitlines())
            # A constraints lock's index options live in its `# use …` comments.
            body: Any = [line for line in lines if line and (not line.startswith("#") or line.startswith("# use"))]
        case LockFormat.JSON:
            body = {k: v for k, v in _json(text).items() if k not in _RECORD_KEYS}
        case LockFormat.PYLOCK:
            body = _toml(text)
            body.get("tool", {}).pop(TOOL, None)
            if body.get("tool") == {}:  # the record made the table
                del body["tool"]
        case LockFormat.PYPROJECT:
            from .pyproject import managed

            body = managed(_toml(text))
        case _:
            assert_never(kind)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + str(_sha256(canonical.encode()).hexdigest())


def stamp(kind: LockFormat, text: str, recipe: Recipe, files: dict[str, str]) -> str:
    """The lock with its record: the recipe, the digest of the text as written, and ``files``."""
    stated = digest(kind, text)
    hashes = {name: f"sha256:{sha}" for name, sha in sorted(files.items())}
    match kind:
        case LockFormat.REQUIREMENTS | LockFormat.CONSTRAINTS:
            lines = text.splitlines(keepends=True)
            at = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
            record = [f"# made with: {recipe}\n", f"# digest: {stated} (`torchpin lock --check` compares)\n"]
            record += [f"# file: {name} {sha}\n" for name, sha in hashes.items()]
            return "".join([*lines[:at], *record, *lines[at:]])
        case LockFormat.JSON:
            doc = _json(text)
            doc.update(made_with=str(recipe), digest=stated, files=hashes)
            return json.dumps(doc, indent=2) + "\n"
        case LockFormat.PYLOCK | LockFormat.PYPROJECT:
            import tomlkit  # a TOML lock only: an offline requirements lock stays free of it

            bom = "\ufeff" if text.startswith("\ufeff") else ""
            crlf = "\r\n" in text
            doc = tomlkit.parse(text[len(bom) :].replace("\r\n", "\n"))
            tool = doc.setdefault("tool", tomlkit.table(is_super_table=True))
            table = tomlkit.table()
            table.update({"made-with": str(recipe), "digest": stated})
            if hashes:
                listed = tomlkit.table()
                listed.update(hashes)
                table["files"] = listed
            if kind is LockFormat.PYLOCK:
                tool[TOOL] = table
            else:  # beside the project's own [tool.torchpin] settings, a blank line before what follows
                (table["files"] if hashes else table).add(tomlkit.nl())
                tool.setdefault(TOOL, tomlkit.table(is_super_table=True))["locked"] = table
            out = tomlkit.dumps(doc)
            return bom + (out.replace("\n", "\r\n") if crlf else out)
        case _:
            assert_never(kind)


def recorded(kind: LockFormat, text: str) -> Record | None:
    """The record a lock states, or None (written by hand, or by a torchpin before 0.2)."""
    recipe: Any = None
    stated: Any = None
    files: Any = {}
    match kind:
        case LockFormat.REQUIREMENTS | LockFormat.CONSTRAINTS:
            found, sha = _RECIPE.search(text), _DIGEST.search(text)
            recipe, stated = found and found[1].rstrip(), sha and sha[1]
            files = {name: f"sha256:{hex_}" for name, hex_ in _FILE.findall(text)}
        case LockFormat.JSON:
            doc = _json(text)
            recipe, stated, files = doc.get("made_with"), doc.get("digest"), doc.get("files", {})
        case LockFormat.PYLOCK | LockFormat.PYPROJECT:
            table = _toml(text).get("tool", {}).get(TOOL, {})
            if kind is LockFormat.PYPROJECT:
                table = table.get("locked", {}) if isinstance(table, dict) else {}
            if isinstance(table, dict):
                recipe, stated, files = table.get("made-with"), table.get("digest"), table.get("files", {})
        case _:
            assert_never(kind)
    if not isinstance(recipe, str) or not isinstance(stated, str):
        return None
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", stated):
        raise UsageError(f"the lock's digest {stated[:80]!r} is not sha256:<64 hex>", hint=_RELOCK)
    if not isinstance(files, dict) or not all(
        isinstance(v, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", v) for v in files.values()
    ):
        raise UsageError("the lock's recorded files are not file name = sha256:<64 hex>", hint=_RELOCK)
    return Record(parse_recipe(recipe), stated, {str(k): v.removeprefix("sha256:") for k, v in files.items()})


def _json(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise UsageError("the lock is not valid JSON", hint=_RELOCK) from None
    if not isinstance(doc, dict):
        raise UsageError("the lock is JSON but not an object", hint=_RELOCK)
    return doc


def _toml(text: str) -> dict[str, Any]:
    from tomlkit.exceptions import TOMLKitError

    from .read import toml_values  # tomlkit: a TOML lock only

    try:
        doc = toml_values(text.removeprefix("\ufeff"))
    except TOMLKitError as e:
        raise UsageError(f"the lock is not valid TOML: {str(e).splitlines()[0]}", hint=_RELOCK) from None
    if not isinstance(doc.get("tool", {}), dict):
        raise UsageError("the lock's tool is not a table", hint=_RELOCK)
    return doc
