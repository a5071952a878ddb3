"""Regenerate the workspace databases that earlier benchsmith versions wrote (the migration tests' fixtures).

Each version's own code, checked out of git with `git archive` (no change to this checkout),
builds a small workspace through its public API, once on SQLite and once on a throwaway
PostgreSQL server; the databases are then dumped to SQL next to this script:

- `v0-87c9d89.sqlite.sql` / `.pg.sql`: the store before the review queue (runs, items; `create_all`).
- `v1-56bb4b7.sqlite.sql` / `.pg.sql`: the first review queue (`create_all`, no `alembic_version`),
  with reviewers, queued items and decisions.

Run from the repository root: `python tests/data/legacy_workspaces/make.py` (needs git and
Debian's postgresql package). The tests only load the committed dumps.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
VERSIONS = {"v0-87c9d89": "87c9d891bb20af7be21ece904436ca7608ac0f9d",
            "v1-56bb4b7": "56bb4b7"}

# Runs inside the old checkout (PYTHONPATH): only that version's API. argv: DB URL, workspace, version label.
POPULATE = r'''
import sys
from pathlib import Path
from benchsmith.funnel import Funnel
from benchsmith.records import Citation, Item, Lineage, Verdict
from benchsmith.store import Store

url, ws, label = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
review = label.startswith("v1")
if review:
    import benchsmith.review.db  # registers the review tables before create_all
store = Store(url)

def item(n, suite):
    it = Item.create(prompt=f"[{suite}] Question {n}: how long does a {100 + n} litre tank take at 12 l/min?",
                     reference_answer=f"{(100 + n) / 12:.2f} minutes", kind="mcq" if n % 3 == 0 else "open_qa",
                     choices=[f"{(100 + n) / 12:.2f} minutes", "1 hour"] if n % 3 == 0 else None,
                     lineage=Lineage(generator="evolve" if n % 2 else "document_qa", operator="deepen", model="m",
                                     params={"temperature": 0.7, "n": n}, seed_id=f"s{n}"),
                     seed_id=f"s{n}", metadata={"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"},
                     citations=[Citation(quote=f"holds {100 + n} litres", document="docs/t.md", start=1, end=9)])
    it = it.with_verdict(Verdict(stage="rules", passed=n % 4 != 1, reason=None if n % 4 != 1 else "too_short",
                                 score=1.0, details={"len": n}))
    return it.with_verdict(Verdict(stage="llm_judge", passed=True, score=1.0 + (n % 5), ranks_quality=True))

runs = {}
for suite, count, status in (("alpha", 12, "succeeded"), ("beta", 5, "failed"), ("alpha", 3, "running")):
    run_id = store.start_run(suite=suite, spec_hash=f"hash-{suite}", spec_path=f"seeds/{suite}.yaml")
    items = [item(n, suite) for n in range(count)]
    store.save_items(run_id, items)
    if status != "running":
        funnel = Funnel()
        funnel.record("rules", received=count, kept=count - 2, drop_reasons=["too_short"] * 2)
        store.finish_run(run_id, status, stop_reason="target_reached", version="2026.01" if status == "succeeded"
                         else None, funnel=funnel, usage={"generator": {"calls": count}},
                         error=None if status == "succeeded" else "EndpointError: refused")
    runs[(suite, status)] = (run_id, items)

if review:
    from benchsmith.review import add_reviewer, decide, enqueue, list_entries
    add_reviewer(store, "alice", "alice-password", "admin")
    add_reviewer(store, "bob", "bob-password", "reviewer")
    run_id, items = runs[("alpha", "succeeded")]
    enqueue(store, items[:8], run_id)
    entries = {e.item_id: e for e in list_entries(store, per_page=100).entries}
    first, second, third = (entries[it.id] for it in items[:3])
    decide(store, first.id, "alice", "accept", first.version)
    decide(store, second.id, "bob", "reject", second.version, reason_code="ambiguous", comment="two readings")
    decide(store, third.id, "alice", "edit", third.version, edits={"prompt": "An edited question?"})
store.close()
'''


def export(version: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"bs-{version}-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", version], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def populate(checkout: Path, url: str, label: str, workspace: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    subprocess.run([sys.executable, "-c", POPULATE, url, str(workspace), label], check=True, env=env,
                   cwd=checkout)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from benchsmith.testing.postgres import FAST_SETTINGS, PostgresServer

    with PostgresServer(settings=FAST_SETTINGS) as pg:
        for label, commit in VERSIONS.items():
            checkout = export(commit)
            ws = Path(tempfile.mkdtemp(prefix="bs-ws-"))
            db = ws / "workspace.db"
            populate(checkout, f"sqlite:///{db}", label, ws)
            con = sqlite3.connect(db)
            (HERE / f"{label}.sqlite.sql").write_text("\n".join(con.iterdump()) + "\n", encoding="utf-8")
            con.close()
            name = label.replace("-", "_")
            url = pg.create_database(name)
            populate(checkout, url, label, ws)
            dump = subprocess.run([str(pg.bindir / "pg_dump"), "--inserts", "--no-owner", "--no-privileges",
                                   "-h", "127.0.0.1", "-p", str(pg.port), "-U", pg.superuser, name],
                                  check=True, capture_output=True, text=True).stdout
            # psql meta-commands (pg_dump's \restrict guard) are not SQL: the tests run the dump through psycopg.
            sql = "".join(line for line in dump.splitlines(keepends=True) if not line.startswith("\\"))
            (HERE / f"{label}.pg.sql").write_text(sql, encoding="utf-8")
            shutil.rmtree(checkout, ignore_errors=True)
            shutil.rmtree(ws, ignore_errors=True)
            print(f"{label}: {commit} dumped")


if __name__ == "__main__":
    main()
