"""A loopback stand-in for the Hugging Face Hub's dataset API, enough for `huggingface_hub` to push.

It speaks the HTTP the real client sends (repo create, tree listing, README validation,
preupload, NDJSON commit, tag), keeps every commit's files in memory, and answers with
what the hub would. Every file is accepted as a regular (inline) upload, so no LFS or
Xet storage is needed. Tests read the state directly: `hub.files("org/name", "main")`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit


@dataclass
class _Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # branch or tag → commit id


class FakeHub:
    """The hub's state, and the server that serves it (`with FakeHub() as hub: hub.url`)."""

    def __init__(self) -> None:
        self.repos: dict[str, _Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def files(self, repo_id: str, ref: str) -> dict[str, bytes]:
        """path → bytes of what `ref` (a branch or tag) of a dataset repository holds."""
        repo = self.repos[repo_id]
        return dict(repo.commits[repo.refs[ref]])

    # -- what the handler calls --------------------------------------------------------------

    def create(self, repo_id: str) -> bool:
        with self._lock:
            if repo_id in self.repos:
                return False
            repo = _Repo()
            repo.commits["0" * 40] = {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"}
            repo.refs["main"] = "0" * 40
            self.repos[repo_id] = repo
            return True

    def commit(self, repo_id: str, branch: str, lines: list[dict[str, Any]]) -> str:
        with self._lock:
            repo = self.repos[repo_id]
            tree = dict(repo.commits[repo.refs[branch]])
            for line in lines:
                value = line.get("value") or {}
                if line["key"] == "file":
                    tree[value["path"]] = base64.b64decode(value["content"])
                elif line["key"] == "deletedFile":
                    if value["path"] not in tree:
                        raise KeyError(value["path"])
                    del tree[value["path"]]
                elif line["key"] != "header":
                    raise ValueError(f"the fake hub does not take {line['key']!r}")
            oid = hashlib.sha1(json.dumps(sorted((p, hashlib.sha1(b).hexdigest()) for p, b in tree.items()))
                               .encode() + repo.refs[branch].encode()).hexdigest()
            repo.commits[oid] = tree
            repo.refs[branch] = oid
            return oid

    def tag(self, repo_id: str, revision: str, tag: str) -> bool:
        with self._lock:
            repo = self.repos[repo_id]
            if tag in repo.refs:
                return False
            repo.refs[tag] = repo.refs.get(revision, revision)
            return True


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("content-length") or 0))

        def _route(self) -> tuple[list[str], str]:
            path = urlsplit(self.path).path
            hub.requests.append((self.command, path))
            return [unquote(p) for p in path.strip("/").split("/")], path

        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            parts, _ = self._route()
            # /api/datasets/{org}/{name}/tree/{revision}
            if parts[:2] == ["api", "datasets"] and len(parts) >= 6 and parts[4] == "tree":
                repo_id = f"{parts[2]}/{parts[3]}"
                if repo_id not in hub.repos:
                    return self._send(404, {"error": "Repository not found"})
                tree = hub.files(repo_id, parts[5])
                return self._send(200, [{"type": "file", "path": p, "size": len(b),
                                         "oid": hashlib.sha1(b).hexdigest()} for p, b in sorted(tree.items())])
            self._send(404, {"error": f"the fake hub has no GET {self.path}"})

        def do_POST(self) -> None:  # noqa: N802 (the http.server name)
            parts, path = self._route()
            body = self._body()
            if path == "/api/repos/create":
                payload = json.loads(body)
                repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") \
                    else payload["name"]
                created = hub.create(repo_id)
                url = f"{hub.url}/datasets/{repo_id}"
                return self._send(200 if created else 409, {"url": url, "error": "You already created this repo"})
            if path == "/api/validate-yaml":
                return self._send(200, {"errors": [], "warnings": []})
            if parts[:2] == ["api", "datasets"] and len(parts) >= 6:
                repo_id, action, revision = f"{parts[2]}/{parts[3]}", parts[4], parts[5]
                if repo_id not in hub.repos:
                    return self._send(404, {"error": "Repository not found"})
                if action == "preupload":
                    files = json.loads(body)["files"]
                    return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                       "shouldIgnore": False} for f in files]})
                if action == "commit":
                    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                    try:
                        oid = hub.commit(repo_id, revision, lines)
                    except KeyError as err:
                        return self._send(404, {"error": f"A file with this name doesn't exist: {err}"})
                    return self._send(200, {"commitUrl": f"{hub.url}/datasets/{repo_id}/commit/{oid}",
                                            "commitOid": oid})
                if action == "tag":
                    tag = json.loads(body)["tag"]
                    return self._send(200 if hub.tag(repo_id, revision, tag) else 409, {"error": "tag exists"})
            self._send(404, {"error": f"the fake hub has no POST {self.path}"})

    return Handler
