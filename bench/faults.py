"""Chaos figures: a run under random endpoint faults, and runs SIGKILLed at random points.

On the project's fake OpenAI-compatible server (`benchsmith/testing/fake_openai.py`,
started here on a free port):

1. **faults**: a suite of `--items` items (default 200; `evolve` + `rules` + `llm_judge`,
   budget 10 calls per item, 8 rounds, `llm.max_retries: 4`, per-role `timeout_s: 2`,
   concurrency 16) run with `run_suite` while the server answers `--fault-rate` of the
   requests (default 20%, a quarter each) with HTTP 429 (retry-after-ms 50), HTTP 500, a
   hang of 30 s (the client gives up after 2 s), or invalid JSON. Printed: items
   published, malformed published rows (empty prompt or answer, a failed or missing
   verdict, an id that is not the content hash, duplicates), requests the server saw,
   retries and repairs from the run's usage, faults injected by kind.
2. **kill + rerun**: a clean `benchsmith run` of a `--kill-items` suite (default 40, at
   50 ms simulated latency, concurrency 4) records the requests a whole run costs. Then,
   `--kills` times, the same spec in a fresh workspace and output folder is SIGKILLed
   (process group) after a random number of requests between 10% and 80% of that
   (`random.Random(--seed)`), and run again to completion in the same workspace. Printed
   per kill: requests of the killed run, in flight at the kill, of the rerun, their sum
   against the clean run (ratio), and whether the rerun published the clean run's items.

    python bench/faults.py
    python bench/faults.py --items 100 --kills 1 --json /tmp/faults.json

Exit status 0 when everything ran and the checks held (published == items, 0 malformed,
killed + rerun <= clean + in flight + concurrency, rerun < clean), 1 otherwise.
"""

from __future__ import annotations

import os
import tempfile

# Before anything imports Prefect: a private Prefect home (its own SQLite database),
# quiet logs, no telemetry attempts, no model downloads.
_HOME = tempfile.mkdtemp(prefix="benchsmith-bench-faults-")
os.environ.setdefault("PREFECT_HOME", os.path.join(_HOME, "prefect-home"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pyarrow.parquet as pq  # noqa: E402
import yaml  # noqa: E402

from benchsmith.testing.fake_openai import FAULT_KINDS, FakeOpenAIServer  # noqa: E402
from benchsmith.testing.rows import EXAMPLE_SEEDS, malformed_rows  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEEDS = list(EXAMPLE_SEEDS)
_ID = re.compile(r"^[0-9a-f]{16}$")


def write_spec(folder: Path, suite: str, base_url: str, *, items: int, concurrency: int, timeout_s: float,
               max_retries: int, calls_per_item: int, rounds: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seeds.jsonl").write_text("".join(json.dumps({"id": f"s{i}", "prompt": p}) + "\n"
                                                for i, p in enumerate(SEEDS)))
    endpoint = {"base_url": base_url, "model": "fake-model", "timeout_s": timeout_s}
    data = {
        "suite": suite, "seeds": {"path": "seeds.jsonl"}, "target_items": items,
        "budget": {"max_llm_calls": calls_per_item * items, "max_rounds": rounds},
        "generators": [{"name": "evolve"}],
        "verifiers": [{"name": "rules"}, {"name": "llm_judge", "params": {"threshold": 3.0}}],
        "llm": {"generator": endpoint, "judge": endpoint, "concurrency": concurrency, "max_retries": max_retries},
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def read_rows(version: Path) -> list[dict[str, Any]]:
    return pq.read_table(version / "data" / "test.parquet").to_pylist()  # type: ignore[no-any-return]


# -- 1. a run under faults --------------------------------------------------------------------

def fault_run(server: FakeOpenAIServer, work: Path, *, items: int, rate: float, seed: int) -> dict[str, Any]:
    from benchsmith.flows.run_suite import run_suite
    from benchsmith.spec import load_spec

    spec = load_spec(write_spec(work / "spec-faults", "faults-chaos", server.base_url, items=items, concurrency=16,
                                timeout_s=2, max_retries=4, calls_per_item=10, rounds=8))
    server.reset()
    server.configure(fault_rates={k: rate / len(FAULT_KINDS) for k in FAULT_KINDS}, seed=seed, hang_s=30)
    started = time.monotonic()
    report = run_suite(spec, workspace=work / "ws-faults", output_dir=work / "out-faults")
    elapsed = time.monotonic() - started
    stats = server.stats()
    server.reset()  # wakes the requests still hanging
    rows = read_rows(report.publish.path) if report.publish is not None else []
    bad = malformed_rows(rows)
    usage = report.usage
    return {
        "items": items, "fault_rate": rate, "seed": seed, "published": len(rows), "malformed": len(bad),
        "malformed_rows": bad[:20], "requests": stats["requests"],
        "retries": sum(int(r.get("retries", 0)) for r in usage.values()),
        "repairs": sum(int(r.get("repairs", 0)) for r in usage.values()),
        "calls": sum(int(r.get("calls", 0)) for r in usage.values()),
        "failures": {role: r.get("failures", {}) for role, r in usage.items()},
        "faults": stats["faults"], "by_status": stats["by_status"], "rounds": report.outcome.rounds,
        "stop_reason": report.outcome.stop_reason, "elapsed_s": round(elapsed, 1),
    }


# -- 2. kill + rerun ---------------------------------------------------------------------------

def cli(spec: Path, ws: Path, out: Path, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "NO_COLOR": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    for var in ("OPENAI_BASE_URL", "OPENAI_MODEL", "PREFECT_API_URL"):  # the spec names the endpoint
        env.pop(var, None)
    return subprocess.Popen([sys.executable, "-m", "benchsmith", "run", str(spec), "-w", str(ws), "-o", str(out)],
                            cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def finish(proc: subprocess.Popen[str], what: str) -> str:
    output = proc.communicate(timeout=900)[0]
    if proc.returncode != 0:
        raise RuntimeError(f"{what} exited {proc.returncode}:\n{output[-3000:]}")
    return output


def published_ids(out: Path, suite: str) -> set[str]:
    versions = [p for p in (out / suite).iterdir() if not p.name.startswith(".")]
    return {str(r["id"]) for v in versions for r in read_rows(v)}


def kill_runs(server: FakeOpenAIServer, work: Path, *, items: int, kills: int, seed: int,
              latency_s: float, concurrency: int) -> dict[str, Any]:
    suite = "faults-kill"
    spec = write_spec(work / "spec-kill", suite, server.base_url, items=items, concurrency=concurrency,
                      timeout_s=10, max_retries=2, calls_per_item=20, rounds=6)
    server.reset()
    server.configure(latency_s=latency_s)
    before = server.stats()["requests"]
    finish(cli(spec, work / "ws-clean", work / "out-clean", work), "the clean run")
    clean = server.stats()["requests"] - before
    clean_ids = published_ids(work / "out-clean", suite)
    rng = random.Random(seed)
    rows = []
    for k in range(kills):
        kill_after = rng.randint(clean // 10, clean * 8 // 10)
        ws, out = work / f"ws-kill{k}", work / f"out-kill{k}"
        before = server.stats()["requests"]
        proc = cli(spec, ws, out, work)
        deadline = time.monotonic() + 900
        while True:
            stats = server.stats()
            if stats["requests"] - before >= kill_after or proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        finished_first = proc.poll() is not None
        if not finished_first:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        time.sleep(max(0.5, 3 * latency_s))  # the server answers what it still holds, to nobody
        killed = server.stats()["requests"] - before
        before += killed
        output = finish(cli(spec, ws, out, work), f"the rerun after kill {k}")
        rerun = server.stats()["requests"] - before
        ids = published_ids(out, suite)
        rows.append({"kill_after": kill_after, "killed": killed, "in_flight": stats["in_flight"], "rerun": rerun,
                     "total": killed + rerun, "ratio": round((killed + rerun) / clean, 3),
                     "finished_before_kill": finished_first, "published": "published version" in output,
                     "same_items": ids == clean_ids,
                     "ok": (killed + rerun <= clean + stats["in_flight"] + concurrency and rerun < clean
                            and "published version" in output)})
    return {"items": items, "clean": clean, "concurrency": concurrency, "latency_s": latency_s, "seed": seed,
            "kills": rows}


# -- output ------------------------------------------------------------------------------------

def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths), *(line(r) for r in cells[1:])])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=200, help="items of the run under faults")
    ap.add_argument("--fault-rate", type=float, default=0.20, help="share of requests faulted (4 kinds, equal parts)")
    ap.add_argument("--fault-seed", type=int, default=7)
    ap.add_argument("--kill-items", type=int, default=40, help="items of the killed suite")
    ap.add_argument("--kills", type=int, default=3, help="kill points to try")
    ap.add_argument("--seed", type=int, default=1234, help="seed of the random kill points")
    ap.add_argument("--latency", type=float, default=0.05, help="simulated latency (s) of the kill runs")
    ap.add_argument("--skip-faults", action="store_true")
    ap.add_argument("--skip-kills", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    work = Path(_HOME) / "work"
    work.mkdir(parents=True)
    figures: dict[str, Any] = {}
    ok = True
    try:
        with FakeOpenAIServer(log_path=Path(_HOME) / "fake-openai.log") as server:
            if not args.skip_faults:
                f = figures["faults"] = fault_run(server, work, items=args.items, rate=args.fault_rate,
                                                  seed=args.fault_seed)
                print(f"\nrun under {args.fault_rate:.0%} faults (seed {args.fault_seed}): {f['items']} items, "
                      f"{f['rounds']} rounds, stop {f['stop_reason']}, {f['elapsed_s']} s")
                print(table(["figure", "value"], [
                    ["published", f["published"]], ["malformed", f["malformed"]], ["requests sent", f["requests"]],
                    ["answered calls (usage)", f["calls"]], ["retries (usage)", f["retries"]],
                    ["repairs (usage)", f["repairs"]],
                    *[[f"faults {k}", f["faults"].get(k, 0)] for k in FAULT_KINDS],
                    ["call failures (usage)", json.dumps(f["failures"], sort_keys=True)],
                ]))
                for rid, problem in f["malformed_rows"]:
                    print(f"  malformed {rid}: {problem}")
                ok &= f["published"] == f["items"] and f["malformed"] == 0
            if not args.skip_kills:
                k = figures["kill"] = kill_runs(server, work, items=args.kill_items, kills=args.kills,
                                                seed=args.seed, latency_s=args.latency, concurrency=4)
                print(f"\nkill + rerun: {k['items']} items, concurrency {k['concurrency']}, latency "
                      f"{k['latency_s']} s; a clean run sent {k['clean']} requests")
                print(table(["kill after", "killed run", "in flight", "rerun", "killed + rerun", "vs clean",
                             "published", "same items", "ok"],
                            [[r["kill_after"], r["killed"], r["in_flight"], r["rerun"], r["total"],
                              f"{r['ratio']:.3f}", r["published"], r["same_items"], r["ok"]] for r in k["kills"]]))
                ok &= all(r["ok"] for r in k["kills"])
    finally:
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, sort_keys=True))
        if args.keep:
            print(f"work folder: {_HOME}")
        else:
            shutil.rmtree(_HOME, ignore_errors=True)
    print("\nall checks held" if ok else "\nSOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
