"""Seed loading: JSONL, YAML or TXT files of seed prompts → `Seed` records.

Every error names the file and, where there is one, the line, so a person can open the
file and fix it. With `skip_bad=True` a bad entry is skipped and recorded instead (a
missing file, an unreadable file or one with no usable seed is still an error).

Formats (`SeedSource.format`, or 'auto' by extension):

- JSONL (`.jsonl`, `.ndjson`): one JSON object per line, blank lines ignored. The prompt
  is under `prompt_field`; `id_field` and `domain_field` are optional; every other field
  goes into `Seed.metadata`.
- YAML (`.yaml`, `.yml`): a list whose entries are strings (prompts) or mappings (like a
  JSONL object), or a mapping with a `seeds:` list.
- TXT (`.txt`): one prompt per non-empty line; lines starting with `#` are comments.

A seed's id is its id field when present, else the content hash of its prompt, so the
same prompt keeps the same id across files and runs (and the LLM cache keeps hitting).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from benchsmith.errors import SeedError
from benchsmith.records import Seed, content_hash
from benchsmith.spec import SeedSource, SuiteSpec

_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".yaml": "yaml", ".yml": "yaml", ".txt": "txt"}


class SkippedSeed(BaseModel):
    """An entry of a seed file that `skip_bad=True` left out, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line: int = Field(description="1-based line number of the entry in the seed file.")
    reason: str = Field(description="What was wrong with it, for a person.")


class SeedLoadResult(BaseModel):
    """The seeds read from one file, plus the entries skipped on the way."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(description="The seed file that was read (resolved).")
    seeds: list[Seed] = Field(default_factory=list, description="Seeds in file order, after `limit`.")
    skipped: list[SkippedSeed] = Field(default_factory=list, description="Bad entries skipped with skip_bad=True.")


class _Bare(str):
    """A bare-string entry (TXT line or YAML string): the whole entry is the prompt."""


class _BadEntry(Exception):
    """One entry of a seed file is unusable (line-level; may be skipped)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def load_seeds(spec: SuiteSpec, *, skip_bad: bool = False) -> SeedLoadResult:
    """Read the seeds named by `spec.seeds` (path resolved against the spec's folder)."""
    path = spec.seed_path  # a SpecError for a suite without `seeds` (a documents suite)
    assert spec.seeds is not None
    label = spec.seeds.path.as_posix()
    return load_seed_file(path, spec.seeds, skip_bad=skip_bad, label=label)


def load_seed_file(path: Path | str, source: SeedSource | None = None, *, skip_bad: bool = False,
                   label: str | None = None) -> SeedLoadResult:
    """Read a seed file directly; `source` gives format, field names and limit (defaults if None).

    `label` is the name written into `Seed.source` ('label:line'); it defaults to the file
    name so that seed records do not depend on where the checkout lives.
    """
    path = Path(path)
    source = source or SeedSource(path=path)
    label = label or path.name
    fmt = _detect_format(path, source.format)
    text = _read_text(path)
    if not text.strip():
        raise SeedError(f"{path}: seed file is empty")

    entries = {"jsonl": _jsonl_entries, "yaml": _yaml_entries, "txt": _txt_entries}[fmt](path, text)
    seeds: list[Seed] = []
    skipped: list[SkippedSeed] = []
    first_line_of: dict[str, int] = {}
    for line, raw in entries:
        try:
            if isinstance(raw, _BadEntry):
                raise raw
            seed = _to_seed(raw, line, source, f"{label}:{line}")
            if seed.id in first_line_of:
                what = "id" if isinstance(raw, dict) and source.id_field in raw else "prompt (no id field)"
                raise _BadEntry(line, f"duplicate seed {what} {seed.id!r}, first seen at line {first_line_of[seed.id]}")
        except _BadEntry as bad:
            if not skip_bad:
                raise SeedError(f"{path}:{bad.line}: {bad.reason}") from None
            skipped.append(SkippedSeed(line=bad.line, reason=bad.reason))
            continue
        first_line_of[seed.id] = line
        seeds.append(seed)

    if not seeds:
        why = f" ({len(skipped)} bad entries skipped)" if skipped else ""
        raise SeedError(f"{path}: no seeds found{why}")
    # The whole file is validated before the limit applies: a bad line is reported
    # even when a quick trial run only uses the first few seeds.
    if source.limit is not None:
        seeds = seeds[: source.limit]
    return SeedLoadResult(path=path.resolve(), seeds=seeds, skipped=skipped)


def _detect_format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    try:
        return _EXTENSIONS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(_EXTENSIONS))
        raise SeedError(f"{path}: cannot tell the seed format from the extension {path.suffix!r} "
                        f"(known: {known}); set seeds.format to jsonl, yaml or txt") from None


def _read_text(path: Path) -> str:
    if not path.exists():
        raise SeedError(f"{path}: seed file not found")
    if not path.is_file():
        raise SeedError(f"{path}: not a file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # tolerate a BOM written by some editors
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SeedError(f"{path}:{line}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def _jsonl_entries(path: Path, text: str) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            out.append((number, _BadEntry(number, f"malformed JSON: {err.msg} (column {err.colno})")))
            continue
        if not isinstance(value, dict):
            value = _BadEntry(number, f"expected a JSON object, got {_type_name(value)}")
        out.append((number, value))
    return out


def _yaml_entries(path: Path, text: str) -> list[tuple[int, Any]]:
    # Compose first to keep each node's line number, then construct the Python values.
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise SeedError(f"{path}{where}: not valid YAML: {getattr(err, 'problem', None) or err}") from None
    finally:
        loader.dispose()

    if isinstance(data, dict):
        assert root is not None  # data is None when there is no root node
        extra = sorted(str(k) for k in data if k != "seeds")
        if "seeds" not in data or extra:
            detail = f"unknown key(s) {', '.join(extra)}" if extra else "no 'seeds' key"
            raise SeedError(f"{path}:{root.start_mark.line + 1}: a YAML seed mapping must hold only a 'seeds:' "
                            f"list ({detail})")
        seq_node = next(v for k, v in root.value if k.value == "seeds")
        data = data["seeds"]
    else:
        seq_node = root
    if data is None:
        return []
    if not isinstance(data, list):
        line = seq_node.start_mark.line + 1 if seq_node is not None else 1
        raise SeedError(f"{path}:{line}: expected a list of seeds, got {_type_name(data)}")

    out: list[tuple[int, Any]] = []
    for node, value in zip(seq_node.value, data, strict=True):
        number = node.start_mark.line + 1
        if isinstance(value, str):
            out.append((number, _Bare(value)))
        elif isinstance(value, dict):
            out.append((number, value))
        else:
            out.append((number, _BadEntry(number, f"expected a string or a mapping, got {_type_name(value)}")))
    return out


def _txt_entries(path: Path, text: str) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            out.append((number, _Bare(stripped)))
    return out


def _to_seed(raw: dict[str, Any] | _Bare, line: int, source: SeedSource, where: str) -> Seed:
    if isinstance(raw, _Bare):
        prompt: Any = str(raw)
        fields: dict[str, Any] = {}
    else:
        fields = {str(k): v for k, v in raw.items()}
        if source.prompt_field not in fields:
            raise _BadEntry(line, f"no {source.prompt_field!r} field (fields: {', '.join(sorted(fields)) or 'none'})")
        prompt = fields.pop(source.prompt_field)
    if not isinstance(prompt, str):
        raise _BadEntry(line, f"{source.prompt_field!r} must be a string, got {_type_name(prompt)}")
    prompt = prompt.strip()
    if not prompt:
        raise _BadEntry(line, f"{source.prompt_field!r} is empty")

    seed_id = fields.pop(source.id_field, None)
    if seed_id is None:
        seed_id = content_hash(prompt)
    elif isinstance(seed_id, bool) or not isinstance(seed_id, (str, int)) or not str(seed_id).strip():
        raise _BadEntry(line, f"{source.id_field!r} must be a non-empty string or integer, got {seed_id!r}")
    domain = fields.pop(source.domain_field, None)
    if domain is not None and not isinstance(domain, str):
        raise _BadEntry(line, f"{source.domain_field!r} must be a string, got {_type_name(domain)}")
    return Seed(id=str(seed_id).strip(), prompt=prompt, domain=domain or None, source=where, metadata=fields)


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
