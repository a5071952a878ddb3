"""Content-addressed on-disk cache of validated LLM answers.

The key is a sha256 of everything that decides an answer: endpoint URL, model, messages,
JSON schema, sampling parameters and a caller-chosen salt. A rerun of the same spec asks
the same questions and so costs no LLM calls.

Layout: ``<dir>/<k[:2]>/<k>.json``. Writes go to a temporary file in the same folder and
are renamed into place, so an interrupted run (Ctrl-C, crash) never leaves a half-written
entry under a real name; an unreadable entry counts as a miss. This sits on the hot path
of every LLM call, so it does plain small-file I/O with no locking (rename is atomic, and
two writers of one key write the same content).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

_FORMAT = 1


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
        self._made: set[str] = set()
        self._lock = threading.Lock()
        self._counter = 0

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
            return None  # damaged by something outside us: treat as a miss, it will be rewritten
        if not isinstance(entry, dict) or entry.get("format") != _FORMAT or not isinstance(entry.get("result"), dict):
            return None
        return entry["result"]

    def put(self, key: str, result: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
        """Store `result` under `key` atomically."""
        sub = os.path.join(self._dir_str, key[:2])
        if sub not in self._made:
            os.makedirs(sub, exist_ok=True)
            self._made.add(sub)
        data = json.dumps({"format": _FORMAT, "result": result, "meta": meta or {}}, ensure_ascii=False)
        with self._lock:
            self._counter += 1
            n = self._counter
        tmp = os.path.join(sub, f".{key}.{os.getpid()}.{threading.get_ident()}.{n}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(data)
            os.replace(tmp, self._path(key))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def __contains__(self, key: str) -> bool:
        return os.path.exists(self._path(key))

    def __len__(self) -> int:
        if not self.directory.is_dir():
            return 0
        return sum(1 for _ in self.directory.glob("??/*.json"))
