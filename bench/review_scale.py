"""The review app with 100,000 queued items, on SQLite and on PostgreSQL, measured over real HTTP.

For each database the script fills a workspace's queue (several suites, runs and generators;
realistic item JSON with verdicts, citations and passages; verifier flags; a fifth already
decided, with their decisions and audit rows), starts the real app (`benchsmith review` in a
child process), logs in, and times with httpx:

- the queue page: default sort, a filter (suite + generator + verifier flag), a deep page;
- the item page;
- a bulk accept of 500 items (one POST, wall time).

Median and p99 over `--requests` requests each (random pages and items). The same is measured on a
`--baseline`-item queue in the same run, so the table shows how the 100k figures scale (ratio).
Targets (issue 11): pages < 100 ms median and < 300 ms p99, bulk 500 < 2 s, on both databases.

    python bench/review_scale.py                      # 100k and the 1k baseline, SQLite and PostgreSQL
    python bench/review_scale.py --items 20000 --only sqlite

PostgreSQL is Debian's server (`apt-get install -y postgresql`), started here in a temporary folder
(`benchsmith.testing.postgres`) with its default, durable settings.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select, text

from benchsmith.process import free_port, spawn, stop, wait_until_ready
from benchsmith.records import Citation, Item, Lineage, Verdict
from benchsmith.review import add_reviewer, open_review_store
from benchsmith.review.db import AuditRow, DecisionRow, QueueEntryRow, QueueFlagRow
from benchsmith.review.queue import _score, uncertainty
from benchsmith.store import RunRow, Store

SUITES = ["reasoning-mini", "coding-core", "docs-tidewater", "legal-qa", "medical-mcq"]
GENERATORS = ["evolve", "document_qa", "checklist_gen"]
FLAG_STAGES = ["rules", "llm_judge", "grounding", "dedup_semantic"]
REVIEWERS = ["alice", "bob", "carol", "dave"]
OPERATORS = ["add_constraints", "deepen", "concretize", "increase_reasoning", "breadth"]
TARGETS_MS = {"median": 100.0, "p99": 300.0, "bulk": 2000.0}
PASSWORD = "bench-password"
PER_PAGE = 50
# Indexes whose column directions match the queue's order (priority DESC, id ASC) and a
# suite + generator filter: not in the schema; `--proposed-indexes` measures what they would change.
PROPOSED_INDEXES = {
    "ix_proposed_status_priority": "review_queue (status, priority DESC, id)",
    "ix_proposed_suite_status_priority": "review_queue (suite, status, priority DESC, id)",
    "ix_proposed_generator_status_suite": "review_queue (generator, status, suite, id)",
}


def make_item(i: int, rng: random.Random, suite: str, generator: str) -> Item:
    """One realistic item: a word problem or MCQ, a cited passage, and the verdicts a run leaves."""
    litres, rate = 100 + i % 900, 5 + i % 17
    kind = "mcq" if i % 3 == 0 else "open_qa"
    answer = f"{litres / rate:.1f} minutes"
    choices = [answer, f"{litres / (rate + 2):.1f} minutes", f"{litres / (rate + 5):.1f} minutes", "It never fills"] \
        if kind == "mcq" else None
    prompt = (f"[{suite} #{i}] A tank holds {litres} litres and a pump fills it at {rate} litres per minute, "
              f"while a leak loses {i % 4} litres every ten minutes. Starting empty, how long until the tank is "
              f"full? Show the steps and state any assumption you make about the leak.")
    passage = (f"Section {i % 40}. The reservoir model R-{i % 97} holds {litres} litres. Its standard pump "
               f"delivers {rate} litres per minute under nominal pressure. " * 3)
    verdicts = [
        Verdict(stage="rules", passed=rng.random() > 0.08, reason="too_short", details={"chars": len(prompt)}),
        Verdict(stage="llm_judge", passed=True, score=round(rng.uniform(1, 5), 2), ranks_quality=True,
                reason="judged", details={"scores": [rng.randint(1, 5) for _ in range(3)], "threshold": 3.0}),
        Verdict(stage="dedup_semantic", passed=rng.random() > 0.05, score=round(rng.uniform(0.3, 0.95), 3),
                reason="near_duplicate", details={"threshold": 0.82, "nearest": f"{i * 7919 % 10**16:016x}"}),
    ]
    if generator == "document_qa":
        verdicts.append(Verdict(stage="grounding", passed=rng.random() > 0.1, score=round(rng.random(), 3),
                                reason="quote_not_found", details={"quotes": 1}))
    for v in verdicts:
        if v.passed:
            v.reason = None
    return Item.create(
        prompt=prompt, reference_answer=answer, kind=kind, choices=choices,
        lineage=Lineage(generator=generator, operator=OPERATORS[i % len(OPERATORS)], model="Qwen2.5-7B-Instruct",
                        endpoint="http://gpu-box:8000/v1", params={"temperature": 0.7, "round": i % 6},
                        seed_id=f"seed-{i % 500}", parent_id=f"seed-{i % 500}"),
        seed_id=f"seed-{i % 500}", verdicts=verdicts,
        citations=[Citation(quote=f"holds {litres} litres", document=f"docs/manual-{i % 30}.pdf",
                            section=f"Section {i % 40}", chunk_id=f"c{i % 5000}", start=30, end=48)],
        metadata={"context": {f"c{i % 5000}": passage}, "domain": suite.split("-")[0], "difficulty": i % 5})


def fill(store: Store, n: int, seed: int = 0) -> None:
    """`n` queue entries through bulk INSERTs (what `enqueue` writes, minus its per-row round trips)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    runs = {s: [f"run-{s}-{k}" for k in range(2)] for s in SUITES}
    with store.session() as s:
        for suite, ids in runs.items():
            for run_id in ids:
                s.add(RunRow(id=run_id, suite=suite, spec_hash="h", status="succeeded", started_at=now,
                             finished_at=now))
    columns = set(QueueEntryRow.__table__.c.keys())
    chunk = 5000
    decision_id = audit_id = 0
    for start in range(0, n, chunk):
        entries: list[dict[str, Any]] = []
        flags: list[dict[str, Any]] = []
        decisions: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        for i in range(start, min(n, start + chunk)):
            suite = SUITES[i % len(SUITES)]
            generator = GENERATORS[(i // 7) % len(GENERATORS)]
            item = make_item(i, rng, suite, generator)
            failed = [v for v in item.verdicts if not v.passed]
            status = "pending"
            decided_by = decided_at = None
            if rng.random() < 0.2:
                status = rng.choice(["accepted", "accepted", "rejected", "edited"])
                decided_by = rng.choice(REVIEWERS)
                decided_at = now - timedelta(minutes=rng.randint(1, 10_000))
            row: dict[str, Any] = dict(
                id=i + 1, item_id=item.id, suite=suite, run_id=runs[suite][i % 2], generator=generator, status=status,
                priority=uncertainty(item), score=_score(item), flagged=bool(failed), item=item.model_dump(mode="json"),
                edited_item=None, version=1 if status == "pending" else 2, claimed_by=None, claimed_until=None,
                decided_by=decided_by, decided_at=decided_at, created_at=now)
            if "cluster" in columns:
                row["cluster"] = f"{suite}:{i % 24}"
            if "neighbours" in columns:
                row["neighbours"] = [{"id": f"{(i * 31 + k) % 10**16:016x}", "similarity": round(0.9 - 0.05 * k, 3),
                                      "prompt": f"A tank of {100 + (i + k) % 900} litres ..."} for k in range(5)]
            entries.append(row)
            for stage in dict.fromkeys(v.stage for v in failed):
                flags.append({"entry_id": i + 1, "stage": stage,
                              "reason": next(v.reason for v in failed if v.stage == stage)})
            if decided_by is not None:
                decision_id += 1
                audit_id += 1
                decisions.append(dict(id=decision_id, entry_id=i + 1, item_id=item.id, reviewer=decided_by,
                                      decision={"accepted": "accept", "rejected": "reject", "edited": "edit"}[status],
                                      reason_code="ambiguous" if status == "rejected" else None, comment=None,
                                      edited_fields=None, diff=None, entry_version=1, created_at=decided_at))
                audits.append(dict(id=audit_id, at=decided_at, actor=decided_by, action="decision.accept",
                                   entry_id=i + 1, item_id=item.id, before={"status": "pending", "version": 1},
                                   after={"status": status, "version": 2}))
        with store.session() as s:
            s.execute(insert(QueueEntryRow), entries)
            if flags:
                s.execute(insert(QueueFlagRow), flags)
            if decisions:
                s.execute(insert(DecisionRow), decisions)
                s.execute(insert(AuditRow), audits)
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:  # explicit ids above: move the sequences past them
            for table in ("review_queue", "review_decisions", "review_audit"):
                conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))


@dataclass
class Figure:
    db: str
    items: int
    what: str
    median_ms: float
    p99_ms: float
    n: int


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _wait_idle(pid: int, timeout_s: float = 120.0) -> None:
    """Wait until the server process stops using CPU (the app loads its embedding model in the background)."""
    def cpu() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    deadline = time.monotonic() + timeout_s
    last = cpu()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu()
        if now - last < 0.05:
            return
        last = now


def measure(db_name: str, workspace: Path, url: str | None, n: int, requests: int,
            proposed: bool = False) -> list[Figure]:
    """Fill, serve, time. Returns one figure per page kind and one for the bulk accept; with `proposed`,
    the same again after creating `PROPOSED_INDEXES`."""
    store = open_review_store(workspace, url)
    t0 = time.perf_counter()
    fill(store, n)
    add_reviewer(store, "bench", PASSWORD, "admin")
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does soon after a big load
    print(f"  {db_name}: {n:,} entries filled in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    figures = time_app(db_name, workspace, url, n, requests)
    if proposed:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name, on in PROPOSED_INDEXES.items():
                conn.execute(text(f"CREATE INDEX {name} ON {on}"))
        figures += time_app(f"{db_name} + proposed indexes", workspace, url, n, requests)
    store.close()
    return figures


def time_app(db_name: str, workspace: Path, url: str | None, n: int, requests: int, seed: int = 1,
             bulk: bool = True) -> list[Figure]:
    """Serve a filled workspace with `benchsmith review` and time its pages (and a bulk accept)."""
    store = open_review_store(workspace, url)
    with store.session() as s:
        item_ids = list(s.scalars(select(QueueEntryRow.item_id).order_by(QueueEntryRow.id)))
    port = free_port()
    log = workspace / "review-server.log"
    cmd = [sys.executable, "-m", "benchsmith", "review", "--port", str(port), "-w", str(workspace)]
    env = {**os.environ}
    env.pop("BENCHSMITH_DB", None)
    if url:
        cmd += ["--db", url]
    proc = spawn(cmd, log_path=log, env=env)
    figures: list[Figure] = []
    rng = random.Random(seed)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(proc, f"{base}/login", timeout_s=120, what="benchsmith review", log_path=log)
        _wait_idle(proc.pid)
        with httpx.Client(base_url=base, timeout=60, trust_env=False) as c:
            login = c.get("/login")
            token = login.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            assert c.post("/login", data={"csrf": token, "name": "bench", "password": PASSWORD}).status_code == 303
            pending = n * 0.8
            deep_pages = max(2, int(pending // PER_PAGE))
            kinds: dict[str, Any] = {
                "queue (default sort)": lambda: "/queue",
                "queue (filtered)": lambda: (f"/queue?suite={rng.choice(SUITES)}&generator={rng.choice(GENERATORS)}"
                                             f"&flag={rng.choice(FLAG_STAGES)}"),
                "queue (deep page)": lambda: f"/queue?page={rng.randint(deep_pages * 3 // 4, deep_pages)}",
                "item page": lambda: f"/items/{rng.choice(item_ids)}",
            }
            for what, path in kinds.items():
                for _ in range(5):  # warm-up: connection, templates, caches
                    c.get(path())
                times = []
                for _ in range(requests):
                    p = path()
                    started = time.perf_counter()
                    r = c.get(p)
                    times.append((time.perf_counter() - started) * 1000)
                    if r.status_code != 200:
                        raise RuntimeError(f"{db_name}: GET {p} answered {r.status_code}: {r.text[:300]}")
                figures.append(Figure(db_name, n, what, statistics.median(times), _quantile(times, 0.99), requests))
            if not bulk:
                return figures
            with store.session() as s:
                chosen = list(s.execute(select(QueueEntryRow.id, QueueEntryRow.version)
                                        .where(QueueEntryRow.status == "pending")
                                        .order_by(QueueEntryRow.id.desc()).limit(500)))
            queue = c.get("/queue")
            token = queue.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            started = time.perf_counter()
            r = c.post("/queue/bulk", data={"csrf": token, "decision": "accept", "back": "status=pending",
                                            "entry": [f"{i}:{v}" for i, v in chosen]})
            bulk_ms = (time.perf_counter() - started) * 1000
            if r.status_code != 303 or f"{len(chosen)}+accept" not in r.headers.get("location", ""):
                raise RuntimeError(f"{db_name}: bulk accept answered {r.status_code} {r.headers.get('location')}")
            figures.append(Figure(db_name, n, f"bulk accept {len(chosen)}", bulk_ms, bulk_ms, 1))
    finally:
        stop(proc)
        store.close()
    return figures


def _print(figures: list[Figure], baseline: int, n: int) -> None:
    base = {(f.db, f.what): f for f in figures if f.items == baseline}  # "sqlite + proposed…" → "sqlite"
    print(f"\n| database | items | measure | median ms | p99 ms | target | ok | x vs {baseline:,} items (median) |")
    print("| --- | ---: | --- | ---: | ---: | --- | --- | ---: |")
    for f in figures:
        bulk = f.what.startswith("bulk")
        target = f"< {TARGETS_MS['bulk']:.0f} ms" if bulk else f"< {TARGETS_MS['median']:.0f} / {TARGETS_MS['p99']:.0f}"
        ok = f.median_ms < TARGETS_MS["bulk"] if bulk else (f.median_ms < TARGETS_MS["median"]
                                                            and f.p99_ms < TARGETS_MS["p99"])
        b = base.get((f.db.split(" + ")[0], f.what))
        ratio = f"{f.median_ms / b.median_ms:.2f}" if b is not None and f.items != baseline else ""
        p99 = "" if bulk else f"{f.p99_ms:.1f}"
        print(f"| {f.db} | {f.items:,} | {f.what} | {f.median_ms:.1f} | {p99} | {target} | "
              f"{'yes' if ok else 'NO'} | {ratio} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--baseline", type=int, default=1_000, help="a small queue measured the same way, for the ratio")
    ap.add_argument("--requests", type=int, default=100, help="requests per page kind")
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--proposed-indexes", action="store_true",
                    help="also time the big queue with PROPOSED_INDEXES added (not in the schema)")
    args = ap.parse_args()
    figures: list[Figure] = []
    root = Path(tempfile.mkdtemp(prefix="benchsmith-review-scale-"))
    try:
        _run(args, root, figures)
    finally:
        shutil.rmtree(root, ignore_errors=True)  # the 100k workspaces take about a gigabyte
    print(f"\nreview app over HTTP, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{args.requests} requests per page kind")
    _print(figures, args.baseline, args.items)


def _run(args: argparse.Namespace, root: Path, figures: list[Figure]) -> None:
    if args.only != "postgresql":
        for n in (args.baseline, args.items):
            figures += measure("sqlite", root / f"sqlite-{n}", None, n, args.requests,
                               proposed=args.proposed_indexes and n == args.items)
    if args.only != "sqlite":
        from benchsmith.testing.postgres import PostgresServer

        with PostgresServer() as pg:
            for n in (args.baseline, args.items):
                url = pg.create_database(f"bench_{n}")
                figures += measure("postgresql", root / f"pg-{n}", url, n, args.requests,
                                   proposed=args.proposed_indexes and n == args.items)


if __name__ == "__main__":
    main()
