"""Content-addressed on-disk cache of validated LLM answers.

The key is a sha256 of everything that decides an answer: endpoint URL, model, messages,
JSON schema, sampling parameters and a caller-chosen salt. A rerun of the same spec asks
the same questions and so costs no LLM calls.

Layout: ``<dir>/<k[:2]>/<k>.json``. A write goes to a temporary file in the same folder
and is renamed into place, so an interrupted run (Ctrl-C, crash) never leaves a
half-written entry under a real name; an unreadable entry counts as a miss. Rename is
atomic and two writers of one key write the same content, so processes (Dask workers)
may share a folder without locks.

This is on the hot path of every LLM call. Measured against the fake server at
concurrency 64, a miss costs one failed open (~20 µs) and a put one file creation
(0.1 ms alone, 0.4–0.5 ms inside a run with Prefect's threads). `LLMClient` stores with
`aput`, which does the put in one writer thread per process and returns when the entry
is in place, so the run's event loop keeps serving the other calls' answers meanwhile (at
200 ms latency and 64 in flight, a put on the loop cost about 6% of the calls/s,
`bench/end_to_end.py`). The write is shielded from its caller's cancellation, so an
answer that arrived is stored even when its task fails on another item; only a killed
process loses the answers still queued for the writer (at most one per in-flight slot).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

from benchsmith.fsutil import atomic_write

_FORMAT = 1
_writer: ThreadPoolExecutor | None = None
_writer_lock = threading.Lock()


def _writer_pool() -> ThreadPoolExecutor:
    """The process's cache-writer thread (one: writes are short, ordering between them is free)."""
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="benchsmith-cache-writer")
        return _writer


def canonical_json(obj: Any) -> str:
    """Stable JSON text of `obj` (sorted keys, no whitespace) for hashing."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def cache_key(*, base_url: str, model: str, messages: list[dict[str, str]], schema_json: str,
              params: dict[str, Any], cache_salt: str = "") -> str:
    """The hex sha256 naming one request's answer. `schema_json` is `canonical_json(schema)`."""
    blob = canonical_json([_FORMAT, base_url.rstrip("/"), model, messages, schema_json, params, cache_salt])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """A folder of cached answers (JSON objects) by key."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._dir_str = str(self.directory)

    def _path(self, key: str) -> str:
        return os.path.join(self._dir_str, key[:2], key + ".json")

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached answer, or None on a miss (or an unreadable entry)."""
        try:
            with open(self._path(key), "rb") as f:
                entry = json.loads(f.read())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # damaged by something outside us: a miss, and the next put rewrites it
        if not isinstance(entry, dict) or entry.get("format") != _FORMAT or not isinstance(entry.get("result"), dict):
            return None
        return cast("dict[str, Any]", entry["result"])

    def put(self, key: str, result: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
        """Store `result` under `key` atomically (temporary file + rename)."""
        data = json.dumps({"format": _FORMAT, "result": result, "meta": meta or {}}, ensure_ascii=False)
        path = self._path(key)
        try:
            atomic_write(path, data)
        except FileNotFoundError:
            # The key's folder is made on its first put (asking first cost a makedirs per put:
            # a run makes a cache per task, and so could not remember which folders exist).
            os.makedirs(os.path.dirname(path), exist_ok=True)
            atomic_write(path, data)

    async def aput(self, key: str, result: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
        """`put`, done in the cache-writer thread; returns once the entry is in place.

        The write is shielded: a caller cancelled while it waits (its task failed on another
        item) still gets the answer stored, so the task's retry reuses it instead of paying again.
        """
        write = asyncio.get_running_loop().run_in_executor(_writer_pool(), self.put, key, result, meta)
        await asyncio.shield(write)

    def __contains__(self, key: str) -> bool:
        return os.path.exists(self._path(key))

    def __len__(self) -> int:
        if not self.directory.is_dir():
            return 0
        return sum(1 for _ in self.directory.glob("??/*.json"))
