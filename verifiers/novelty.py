"""Cross-version novelty: new items against every earlier published version (and extra corpora).

A monthly refresh must not re-publish last month's questions, copied or rephrased. The
`novelty` stage embeds each new item and drops it when its nearest neighbour among the
items of earlier versions (`outputs/<suite>/<version>/data/<split>.parquet`) or of the
corpora listed in its config is at or above `threshold` cosine similarity.

The embeddings of earlier versions live in a persisted index under the workspace
(`<workspace>/indexes/<suite>/novelty/<fields>/`), which records which versions and
corpora it holds and their fingerprints. Each run only embeds and adds the sources that
are new (or whose content changed); a source that disappeared is dropped from the index
without re-embedding anything. The index starts again from nothing only when the
embedding model (or the compared fields) changed, since old vectors would then be
meaningless. See `NoveltyIndex`.

Set the stage's `suite`/`output_dir`, or let the flow pass them in `ctx.suite`
and `ctx.output_dir`.

With rotation (a `refresh:` suite) items leave the suite: every earlier version stays a
source, so a retired item can never come back (an exact copy is dropped as
`retired_item_returns`, a rephrasing as `seen_in_earlier_version`), and so do the held-back
versions under `outputs/<suite>-private/`. An item that is still live in the latest version
and carries the `introduced_in` a publish gave it is a kept item, not a candidate: it passes
(`kept: true`) instead of being found as its own duplicate.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from benchsmith.errors import SpecError
from benchsmith.fsutil import atomic_write, replacing
from benchsmith.records import Item, Verdict
from benchsmith.references import ReferenceSource, load_reference
from benchsmith.stages import StageConfig, StageContext, Verifier, verifiers
from benchsmith.text import ItemField, item_text

INDEX_FORMAT = 1
log = logging.getLogger(__name__)
# Indexes already loaded in this process, by directory: (meta updated_at, vectors, rows, faiss, keepalive).
_LOADED: dict[Path, tuple[Any, np.ndarray, list[tuple[str, str]], Any, Any]] = {}
_EMBED_BATCH = 4096  # texts per encode() call while indexing a source: bounded memory, visible progress
_SAFE_NAME = str.maketrans({c: "_" for c in '/\\:*?"<>| '})


class NoveltyConfig(StageConfig):
    """What new items are compared against, and how similar is too similar."""

    threshold: float = Field(default=0.9, gt=0.0, le=1.0,
                             description="Cosine similarity to an earlier item at or above which a new item "
                                         "is dropped.")
    fields: list[ItemField] = Field(default_factory=lambda: ["prompt"], min_length=1,
                                    description="Item fields whose text is embedded (joined by newlines).")
    suite: str | None = Field(default=None, description="Suite whose published versions are checked "
                                                        "(default: ctx.suite).")
    output_dir: Path | None = Field(default=None, description="Root of published suites "
                                                              "(default: ctx.output_dir, else 'outputs').")
    versions: bool = Field(default=True, description="Check earlier published versions of the suite.")
    held_back: bool = Field(default=True, description="Also check the suite's held-back versions "
                                                      "(outputs/<suite>-private/, a refresh with `private: true`).")
    corpora: list[ReferenceSource] = Field(
        default_factory=list, description="Extra corpora to check against, in the shape of contamination's "
                                          "`references` (a path or built-in name, its fields, id field, name).")
    index_dir: Path | None = Field(default=None, description="Where the persisted index lives "
                                                             "(default: <workspace>/indexes/<suite>/novelty).")
    exact_max: int = Field(default=200_000, ge=1, description="Largest index searched exactly; IVF above.")
    nprobe: int = Field(default=16, ge=1, description="IVF cells searched per query.")

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, value: list[ItemField]) -> list[ItemField]:
        if len(set(value)) != len(value):
            raise ValueError("fields must not repeat")
        return value


# ---------------------------------------------------------------------------------------
# Sources: what the index should hold.


@dataclass(frozen=True)
class Source:
    """One published version or corpus: a stable key, a fingerprint of its content, and how to read it."""

    key: str
    kind: Literal["version", "corpus"]
    label: str
    fingerprint: str
    path: Path
    corpus: ReferenceSource | None = None


def version_sources(suite_dir: Path, *, skipped: dict[str, list[str]] | None = None,
                    prefix: str = "") -> list[Source]:
    """Every published version of a suite, oldest first, fingerprinted by its data file's sha256.

    A version that no longer matches its manifest.json (a file changed, removed or added,
    the manifest gone: see `benchsmith.publish.version_problems`) is left out, since its
    rows are not what was published and its manifest's fingerprint would vouch for the
    wrong content; its problems go into `skipped` ({version: ['<file>: <what is wrong>']})
    when given. Publishing still refuses to build on a tampered latest version. `prefix`
    goes before the version name in each key and label (`private/` for held-back versions).
    """
    from benchsmith.publish import published_versions, read_manifest, sha256_file, version_problems
    from benchsmith.versioning import list_versions

    published = {name for name, _ in published_versions(suite_dir)}
    found = []
    for name in list_versions(suite_dir):
        if name not in published:  # empty or foreign folder: not a published version
            continue
        problems = version_problems(suite_dir / name)
        manifest = read_manifest(suite_dir / name)
        if problems or manifest is None:
            if skipped is not None:
                skipped[name] = problems
            continue
        rel = f"data/{manifest.get('split', 'test')}.parquet"
        data = suite_dir / name / rel
        if not data.is_file():
            continue
        digest = (manifest.get("files") or {}).get(rel, {}).get("sha256") or sha256_file(data)
        found.append(Source(key=f"version:{prefix}{name}", kind="version", label=f"{prefix}{name}",
                            fingerprint=digest, path=data))
    return found


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    """Log a warning once per process (the set stages run every round)."""
    if message not in _WARNED:
        _WARNED.add(message)
        log.warning(message)


def corpus_source(spec: ReferenceSource, base: Path | None = None) -> Source:
    """A reference corpus as a source, read by the one corpus reader (`benchsmith.references`)."""
    src = spec.resolved(base)
    corpus = load_reference(src)  # cached per process while the file is unchanged; errors name file and field
    return Source(key=f"corpus:{corpus.source}#{'+'.join(corpus.fields)}", kind="corpus", label=corpus.name,
                  fingerprint=corpus.fingerprint, path=Path(src.path) if src.path else Path(corpus.source), corpus=src)


def read_source(source: Source, fields: Sequence[ItemField]) -> tuple[list[str], list[str]]:
    """(ids, texts) of a source; rows whose text is missing are skipped."""
    if source.kind == "version":
        from benchsmith.publish import read_items

        items = read_items(source.path)
        return [it.id for it in items], [item_text(it, fields) for it in items]
    assert source.corpus is not None
    corpus = load_reference(source.corpus)
    return list(corpus.ids), list(corpus.texts)


# ---------------------------------------------------------------------------------------
# The persisted index.


@dataclass
class SyncReport:
    """What one `NoveltyIndex.sync` did."""

    added: list[str] = field(default_factory=list)
    """Keys of sources embedded and added in this sync."""
    reused: list[str] = field(default_factory=list)
    """Keys of sources already in the index, unchanged."""
    removed: list[str] = field(default_factory=list)
    """Keys of sources dropped (gone, or changed and re-added)."""
    embedded_texts: int = 0
    reset_reason: str | None = None
    """Why the index was started again from nothing (model or fields changed), if it was."""


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (POSIX), so two runs of one suite never interleave their writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as f:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class NoveltyIndex:
    """Embeddings of earlier items on disk, extended incrementally, with a faiss index over them.

    Files in `directory`: `vectors.f32` (float32 rows, append-only), `rows.jsonl` (one
    {"source", "id"} per row), `index.faiss` (only once the index is IVF: trained
    centroids are kept and new rows added to them), and `meta.json`, written last, which
    says how many rows are valid and which sources they hold. A crash mid-update leaves
    extra bytes past what `meta.json` counts; they are cut off on the next open.
    """

    def __init__(self, directory: Path, *, model: str, dim: int, fields: Sequence[str],
                 exact_max: int = 200_000, nprobe: int = 16, seed: int = 0) -> None:
        self.directory = Path(directory)
        self.model, self.dim, self.fields = model, dim, list(fields)
        self.exact_max, self.nprobe, self.seed = exact_max, nprobe, seed
        self._vectors: np.ndarray | None = None
        self._rows: list[tuple[str, str]] | None = None
        self._faiss: Any = None
        self._keepalive: Any = None

    # -- state on disk --------------------------------------------------------------------
    @property
    def _meta_path(self) -> Path:
        return self.directory / "meta.json"

    def read_meta(self) -> dict[str, Any] | None:
        """The index's metadata (sources, row count, model), or None when there is no index yet."""
        try:
            meta = json.loads(self._meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and meta.get("format") == INDEX_FORMAT else None

    def _fresh_meta(self) -> dict[str, Any]:
        return {"format": INDEX_FORMAT, "model": self.model, "dim": self.dim, "fields": self.fields,
                "rows": 0, "sources": {}, "ivf": None}

    def _write_meta(self, meta: dict[str, Any]) -> None:
        meta["updated_at"] = datetime.now(UTC).isoformat()
        atomic_write(self._meta_path, json.dumps(meta, indent=2, ensure_ascii=False) + "\n", durable=True)

    def _load_rows(self, count: int) -> tuple[np.ndarray, list[tuple[str, str]]]:
        vec_path, rows_path = self.directory / "vectors.f32", self.directory / "rows.jsonl"
        nbytes = count * self.dim * 4
        if count and (not vec_path.is_file() or vec_path.stat().st_size < nbytes):
            raise OSError("vectors.f32 is shorter than meta.json says")
        if vec_path.is_file() and vec_path.stat().st_size > nbytes:  # an interrupted append
            os.truncate(vec_path, nbytes)
        vectors = (np.fromfile(vec_path, dtype=np.float32, count=count * self.dim).reshape(count, self.dim)
                   if count else np.zeros((0, self.dim), np.float32))
        rows: list[tuple[str, str]] = []
        extra_lines = False
        if rows_path.is_file():
            with rows_path.open(encoding="utf-8") as f:
                for line in f:
                    if len(rows) == count:
                        extra_lines = True
                        break
                    r = json.loads(line)
                    rows.append((r["source"], r["id"]))
        if len(rows) < count:
            raise OSError("rows.jsonl is shorter than meta.json says")
        if extra_lines:  # an interrupted append: keep what meta.json vouches for
            atomic_write(rows_path, "".join(json.dumps({"source": s, "id": i}, ensure_ascii=False) + "\n"
                                             for s, i in rows), durable=True)
        return vectors, rows

    # -- update ---------------------------------------------------------------------------
    def sync(self, sources: Sequence[Source], embed: Any, *, progress: Any = None) -> SyncReport:
        """Make the index hold exactly `sources`: embed and add new ones, drop vanished/changed ones."""
        report = SyncReport()
        with _locked(self.directory / ".lock"):
            meta = self.read_meta()
            if meta is not None and (meta.get("model"), meta.get("dim"), meta.get("fields")) != (
                    self.model, self.dim, self.fields):
                report.reset_reason = (f"index built with {meta.get('model')} on {meta.get('fields')}; "
                                       f"now {self.model} on {self.fields}")
                meta = None
            wanted = {s.key: s for s in sources}
            if meta is not None and self._reuse_loaded(meta, wanted):
                report.reused = list(meta["sources"])
                return report
            try:
                vectors, rows = self._load_rows(meta["rows"]) if meta else (np.zeros((0, self.dim), np.float32), [])
            except (OSError, ValueError, KeyError) as err:
                report.reset_reason = f"index files unreadable ({err})"
                meta, vectors, rows = None, np.zeros((0, self.dim), np.float32), []
            if meta is None:
                meta = self._fresh_meta()
                self._reset_files()

            held: dict[str, Any] = meta["sources"]
            stale = [k for k, info in held.items() if k not in wanted or info["fingerprint"] != wanted[k].fingerprint]
            if stale:  # compaction: keep the other rows, embed nothing
                keep = np.array([src not in stale for src, _ in rows], bool)
                vectors, rows = vectors[keep], [r for r, k in zip(rows, keep) if k]
                for k in stale:
                    del held[k]
                report.removed = stale
                self._rewrite(vectors, rows)
                meta["rows"], meta["ivf"] = len(rows), None
                self._write_meta(meta)
            report.reused = [k for k in held if k in wanted]

            for source in sources:
                if source.key in held:
                    continue
                ids, texts = read_source(source, self.fields)
                new = np.zeros((len(texts), self.dim), np.float32)
                for start in range(0, len(texts), _EMBED_BATCH):
                    new[start:start + _EMBED_BATCH] = embed(texts[start:start + _EMBED_BATCH])
                    if progress is not None:
                        progress(len(texts[start:start + _EMBED_BATCH]))
                new_rows = [(source.key, i) for i in ids]
                self._append(new, new_rows)
                vectors = np.concatenate([vectors, new]) if len(vectors) else new
                rows += new_rows
                held[source.key] = {"kind": source.kind, "label": source.label, "fingerprint": source.fingerprint,
                                    "count": len(ids), "path": str(source.path),
                                    "added_at": datetime.now(UTC).isoformat()}
                meta["rows"] = len(rows)
                report.added.append(source.key)
                report.embedded_texts += len(texts)
                self._write_meta(meta)  # after each source: a crash keeps what was already embedded

            self._vectors, self._rows = vectors, rows
            self._faiss = self._search_index(vectors, meta)
            _LOADED[self.directory.resolve()] = (meta.get("updated_at"), vectors, rows, self._faiss, self._keepalive)
        return report

    def _reuse_loaded(self, meta: dict[str, Any], wanted: dict[str, Source]) -> bool:
        """Take the in-memory index of an earlier sync in this process if the files have not changed since.

        The flow runs set stages every round; without this each round would re-read the
        vectors and rows of every earlier version.
        """
        held = meta.get("sources", {})
        if set(held) != set(wanted) or any(held[k].get("fingerprint") != s.fingerprint for k, s in wanted.items()):
            return False
        cached = _LOADED.get(self.directory.resolve())
        if cached is None or cached[0] != meta.get("updated_at") or len(cached[2]) != meta.get("rows"):
            return False
        _, self._vectors, self._rows, self._faiss, self._keepalive = cached
        return True

    def _reset_files(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in ("vectors.f32", "rows.jsonl", "index.faiss"):
            (self.directory / name).unlink(missing_ok=True)

    def _rewrite(self, vectors: np.ndarray, rows: Sequence[tuple[str, str]]) -> None:
        """Replace the row files (atomically, each) and drop the IVF file, which indexes old row numbers."""
        (self.directory / "index.faiss").unlink(missing_ok=True)
        atomic_write(self.directory / "vectors.f32", np.ascontiguousarray(vectors, np.float32).tobytes(), durable=True)
        atomic_write(self.directory / "rows.jsonl", "".join(
            json.dumps({"source": s, "id": i}, ensure_ascii=False) + "\n" for s, i in rows), durable=True)

    def _append(self, vectors: np.ndarray, rows: Sequence[tuple[str, str]]) -> None:
        if not rows:
            return
        with (self.directory / "vectors.f32").open("ab") as f:
            f.write(np.ascontiguousarray(vectors, np.float32).tobytes())
            f.flush()
            os.fsync(f.fileno())
        with (self.directory / "rows.jsonl").open("a", encoding="utf-8") as f:
            f.writelines(json.dumps({"source": s, "id": i}, ensure_ascii=False) + "\n" for s, i in rows)
            f.flush()
            os.fsync(f.fileno())

    def _search_index(self, vectors: np.ndarray, meta: dict[str, Any]) -> Any:
        """A flat index over the rows (a copy, no training) or the persisted IVF, extended by new rows."""
        import faiss

        n = len(vectors)
        if n <= self.exact_max:
            index = faiss.IndexFlatIP(self.dim)
            if n:
                index.add(vectors)
            return index
        path = self.directory / "index.faiss"
        ivf = meta.get("ivf")
        index = None
        if ivf and path.is_file():
            with contextlib.suppress(RuntimeError):
                index = faiss.read_index(str(path))
            # Retrain when the index outgrew its centroids 8x: cells would hold too many rows.
            if index is not None and (index.ntotal > n or n > 8 * ivf["trained_on"]):
                index = None
        changed = True
        if index is None:
            from benchsmith.index.neighbours import VectorIndex

            built = VectorIndex(vectors, kind="ivf", nprobe=self.nprobe, seed=self.seed)
            index = built._index
            self._keepalive = built  # owns the IVF's quantizer for as long as we search
            meta["ivf"] = {"trained_on": n, "nlist": built.nlist}
        elif index.ntotal < n:
            index.add(vectors[index.ntotal:])
        else:
            changed = False
        index.nprobe = self.nprobe
        if changed:  # the file is rewritten only when rows were added or the index was (re)trained
            with replacing(path) as tmp:
                faiss.write_index(index, tmp)
            self._write_meta(meta)
        return index

    # -- queries --------------------------------------------------------------------------
    def nearest(self, queries: np.ndarray) -> tuple[np.ndarray, list[tuple[str, str] | None]]:
        """Best similarity per query and the (source key, id) it matched (None on an empty index)."""
        if self._faiss is None or self._rows is None:
            raise RuntimeError("call sync() before nearest()")
        q = np.ascontiguousarray(queries, np.float32)
        if not self._rows:
            return np.full(len(q), -1.0, np.float32), [None] * len(q)
        sims, ids = self._faiss.search(q, 1)
        return sims[:, 0], [self._rows[i] if i >= 0 else None for i in ids[:, 0].tolist()]


# ---------------------------------------------------------------------------------------
# The stage.


@verifiers.register("novelty")
class Novelty(Verifier):
    """Drops new items that repeat (copy or rephrase) an item of an earlier published version or corpus."""

    Config: ClassVar[type[StageConfig]] = NoveltyConfig
    scope: ClassVar[Literal["item", "set"]] = "set"
    order: ClassVar[int] = 50
    config: NoveltyConfig

    def __init__(self, config: StageConfig | dict[str, Any] | None = None) -> None:
        super().__init__(config)
        self.last_sync: SyncReport | None = None
        """What the last run's index sync did (sources added, reused, removed; texts embedded)."""
        self.skipped_versions: dict[str, list[str]] = {}
        """Published versions left out of the last check because they no longer match their
        manifest.json: {version: ['<file>: <what is wrong>']} (also logged as a warning)."""

    def sources(self, ctx: StageContext) -> tuple[str, list[Source]]:
        """(index name, sources to check) from the config and the flow's context."""
        cfg = self.config
        suite = cfg.suite or ctx.suite
        found: list[Source] = []
        if cfg.versions:
            if not suite:
                raise SpecError("novelty: no suite to check against: set the stage's 'suite' "
                                "(or versions: false with corpora)")
            output_dir = Path(cfg.output_dir or ctx.output_dir or "outputs")
            self.skipped_versions = {}
            found += version_sources(output_dir / str(suite), skipped=self.skipped_versions)
            if cfg.held_back:
                from benchsmith.releases import orphaned_held_back, private_suite

                # A held-back version whose release never went public belongs to no release: the rerun of
                # that release would otherwise find its own new items "seen" there.
                orphans = {f"private/{name}" for name in orphaned_held_back(output_dir, str(suite))}
                found += [s for s in version_sources(output_dir / private_suite(str(suite)),
                                                     skipped=self.skipped_versions, prefix="private/")
                          if s.label not in orphans]
            for name, problems in self.skipped_versions.items():
                _warn_once(f"novelty: version {name} of suite {suite!r} no longer matches its manifest.json and is "
                           f"not compared against (new items may repeat it): {'; '.join(problems)}")
        # Relative corpus paths are read from the spec's folder when the flow says where that is.
        found += [corpus_source(c, ctx.spec_dir) for c in cfg.corpora]
        return str(suite or "corpora"), found

    def index(self, name: str, ctx: StageContext) -> NoveltyIndex:
        """The persisted index this stage uses for suite (or corpus set) `name`."""
        from benchsmith.embeddings import DIM, MODEL_ID

        cfg = self.config
        directory = cfg.index_dir or ctx.workspace / "indexes" / name.translate(_SAFE_NAME) / "novelty"
        return NoveltyIndex(Path(directory) / "+".join(cfg.fields), model=MODEL_ID, dim=DIM, fields=cfg.fields,
                            exact_max=cfg.exact_max, nprobe=cfg.nprobe, seed=ctx.random_seed)

    async def verify(self, items: Sequence[Item], ctx: StageContext) -> list[Verdict]:
        name, sources = self.sources(ctx)
        if not items:
            return []
        if not sources:  # the first version of a suite: nothing to repeat
            ctx.progress(self.name, len(items))
            return [self.verdict(True) for _ in items]
        index = self.index(name, ctx)
        self.last_sync = index.sync(sources, ctx.embedder.encode)
        labels = {s.key: (s.kind, s.label) for s in sources}
        published = [s.key for s in sources if s.kind == "version" and not s.label.startswith("private/")]
        live_key = published[-1] if published else None  # sources come oldest first
        rows = index._rows or []
        live = {i for key, i in rows if key == live_key}
        version_keys = {s.key for s in sources if s.kind == "version"}
        earlier = {i: key for key, i in rows if key in version_keys}
        sims, matches = index.nearest(ctx.embedder.encode([item_text(it, self.config.fields) for it in items]))
        verdicts = []
        for it, sim, match in zip(items, sims.tolist(), matches):
            score = round(float(sim), 6)
            if it.id in live and it.metadata.get("introduced_in"):
                verdicts.append(self.verdict(True, score=score, kept=True))
                continue
            if it.id in earlier and it.id not in live:
                verdicts.append(self.verdict(False, score=1.0, reason="retired_item_returns",
                                             version=labels[earlier[it.id]][1], matched_id=it.id, similarity=1.0))
                continue
            if match is None or sim < self.config.threshold:
                verdicts.append(self.verdict(True, score=score))
                continue
            kind, label = labels[match[0]]
            if kind == "version":
                verdicts.append(self.verdict(False, score=score, reason="seen_in_earlier_version",
                                          version=label, matched_id=match[1], similarity=score))
            else:
                verdicts.append(self.verdict(False, score=score, reason="seen_in_corpus",
                                          corpus=label, matched_id=match[1], similarity=score))
        ctx.progress(self.name, len(items))
        return verdicts
