"""End-to-end LLM throughput: `benchsmith run` against a bare AsyncOpenAI loop and distilabel.

In one run, side by side, on the project's fake OpenAI-compatible server
(`benchsmith/testing/fake_openai.py`) at each latency of `--latencies` (default 0 and
200 ms of simulated, asyncio-sleep latency per request):

1. **benchsmith**: `benchsmith run SPEC --workspace W --output-dir O` in a subprocess on a
   spec written to a temp dir: `evolve` at depth 1 over a seed file of a few hundred
   distinct seeds, verifiers `rules` and `llm_judge`, semantic dedup off,
   `llm.concurrency: 64`, `budget.max_llm_calls` = 2 x items. Generations are the fake
   server's schema instances (distinct per request); every judge request is answered
   by a scripted rule with top scores, so every candidate passes.
2. **bare**: a plain `openai.AsyncOpenAI` loop (a subprocess of this script): per item one
   generation call and one judge call with the same prompts and JSON schemas, every call
   under one `asyncio.Semaphore(64)`.
3. **distilabel 1.5.3** (never a project dependency): a `LoadDataFromDicts` ->
   `TextGeneration` (generation) -> format step -> `TextGeneration` (judge) pipeline with
   `OpenAILLM` on the fake server, `input_batch_size` 256, run in its own virtualenv, made
   on first use (`--distilabel-venv`, default ~/.cache/benchsmith-bench/venv-distilabel)
   and reused. distilabel's own `structured_output` for OpenAILLM goes through
   `instructor` (tool calls, which the fake server does not answer) and its
   `response_format` argument only takes a flat dict, so the script sends the same
   `response_format: json_schema` object through `extra_body`: the server sees the
   request shape benchsmith sends. `--skip-distilabel` skips it.
   It runs twice per latency: with the issue's `input_batch_size` 256 (`--batch-size`;
   256-331 requests in flight at 200 ms: its two LLM steps overlap only now and then), and
   at the in-flight limit the other two get (`--equal-batch-size`, default `--concurrency`;
   at batch 32 the measured peak was 32: the steps did not overlap), the row
   `distilabel@64` (`--skip-equal-distilabel` skips it), with the peaks in flight measured
   at the server. The issue's target is against the first; the second is like for like.

Timing. The fake server keeps its own timeline of the chat requests since each reset
(`GET /_fake/stats` -> `timeline`: wall-clock time of the first request and of the last
answer, and per 0.1 s the requests started, answered and the most in flight), so nothing
polls it while a tool runs (polling every 20 ms cost the bench process and the server
~1 ms of CPU per call between them, on the cores the tools share). The LLM phase of each
run is the time from its first request to its last answer; calls/s = server requests /
that time. Process start-up before the first request (Python, Prefect's local API,
distilabel's workers) and the tail after the last answer (publishing) are printed
separately. The same timeline gives a per-second timeline per run (in `--json`) and the
stalls: gaps of 2 s or more without a new request, with the most requests the server
held meanwhile (0: it had answered everything it was sent, so the client side was idle
or waiting). Requests the server saw
beyond the calls `benchsmith run` reports are the client's retries (`extra_requests`);
`--llm-timeout` sets the spec's per-request `timeout_s` (default 60 s).

Targets (from the issue), printed beside the figures: benchsmith >= 75 % of bare at 0 ms;
>= 90 % of the concurrency bound (concurrency / latency = 320 calls/s at 200 ms);
>= 1.5 x distilabel; LLM calls per published item <= 1.1 x the minimum
(items x (1 generation + 1 per LLM verifier) at 100 % yield, i.e. 2.0 per item here).

    python bench/end_to_end.py                       # 2,000 items, 0 and 200 ms
    python bench/end_to_end.py --items 500           # quick check
    python bench/end_to_end.py --latencies 0 --skip-distilabel --json /tmp/e2e.json
    python bench/end_to_end.py --latencies 200 --latency-jitter 0.2   # latency 200 ms +/- 20 %

Latency is constant unless `--latency-jitter` spreads it: requests sent together then come
back together, so a client's answers arrive in waves of up to `--concurrency` and the last
of each wave waits for the client's (and the server's) work on the others before its slot
is reused. Real endpoints answer in varying times; the jittered row shows that case.

Exit status 0 when every part ran (whether or not targets are met; `--check` makes a
missed target exit 1), 1 when a part failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DISTILABEL_VERSION = "1.5.3"
DISTILABEL_REQUIREMENTS = [f"distilabel=={DISTILABEL_VERSION}", "requests", "pillow", "openai"]
DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "benchsmith-bench" / "venv-distilabel"
MODEL = "fake-model"

# -- the prompts and schemas: benchsmith's own, so all three send the same requests ------
# `evolve` (kind open_qa, in-depth operators) and `llm_judge`.
from benchsmith.generators.evolve_prompts import ALL_OPERATORS, IN_BREADTH_OPERATORS, build_messages, output_schema  # noqa: E402
from benchsmith.records import Item, Lineage  # noqa: E402
from benchsmith.verifiers.judge import CRITERIA as JUDGE_CRITERIA  # noqa: E402
from benchsmith.verifiers.judge import SYSTEM_PROMPT as JUDGE_SYSTEM  # noqa: E402
from benchsmith.verifiers.judge import judge_messages, judge_schema  # noqa: E402

OPERATORS = [op for op in ALL_OPERATORS if op not in IN_BREADTH_OPERATORS]
GEN_SCHEMA = output_schema("open_qa")
JUDGE_SCHEMA = judge_schema()
GEN_SYSTEM = build_messages(operator=OPERATORS[0], prompt="", kind="open_qa")[0]["content"]
# The judge's user message always holds this (the generation prompt never does): the
# fake server's rule answers every judge request with top scores.
JUDGE_MARK = "\n\nReference answer:\n"
JUDGE_ANSWER = {"clarity": 5, "self_containedness": 5, "answerability": 5, "answer_correctness": 5,
                "difficulty": 4, "rationale": "Clear, self-contained, and the reference answer is correct."}
GEN_PARAMS = {"temperature": 0.7, "max_tokens": 512}
JUDGE_PARAMS = {"temperature": 0.0, "max_tokens": 256}


def gen_messages(seed_prompt: str, operator: str) -> list[dict[str, str]]:
    return build_messages(operator=operator, prompt=seed_prompt, kind="open_qa")


def judge_user_text(question: str, answer: str) -> str:
    item = Item.create(prompt=question, reference_answer=answer, lineage=Lineage(generator="bench"))
    text = judge_messages(item)[1]["content"]
    assert JUDGE_MARK in text, "the fake server's judge rule matches on this"
    return text


def response_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def make_seeds(n: int) -> list[dict[str, str]]:
    """`n` distinct word problems with ids and domains (deterministic)."""
    things = ["apples", "notebooks", "bicycle tyres", "concert tickets", "lamps", "tea boxes", "paint cans",
              "train seats", "garden hoses", "pencils", "loaves of bread", "solar panels", "chairs", "kites",
              "violin strings", "coffee mugs", "tents", "maps", "batteries", "candles"]
    templates = [
        ("arithmetic", "A shop sells {t} at {a} dollars each. How much do {b} of them cost after a {c}% discount?"),
        ("rates", "A machine packs {a} {t} per minute. How many minutes does it need to pack {b0} {t} "
                  "if it stops for {c} minutes?"),
        ("percentages", "A warehouse holds {b0} {t}. It sells {c}% of them on Monday and {a} more on Tuesday. "
                        "How many are left?"),
        ("ratios", "{t} are shared between two schools in the ratio {a}:{b}. The first school gets {c} more "
                   "than the second. How many are there in total?"),
        ("probability", "A box holds {a} red and {b} blue {t}. Two are drawn without replacement. What is "
                        "the probability that both are red (call this case {c})?"),
    ]
    seeds, i = [], 0
    while len(seeds) < n:
        domain, tpl = templates[i % len(templates)]
        k = i // len(templates)
        t = things[k % len(things)]
        a, b, c = 3 + k % 17, 2 + (k * 7) % 23, 5 + (k * 11) % 40
        seeds.append({"id": f"seed-{i:04d}", "domain": domain,
                      "prompt": tpl.format(t=t, a=a, b=b, c=c, b0=b * 10).capitalize()})
        i += 1
    assert len({s["prompt"] for s in seeds}) == n, "seed prompts must be distinct"
    return seeds


def planned_requests(seeds: list[dict[str, str]], items: int) -> list[tuple[str, str]]:
    """(seed prompt, operator) per item for the bare loop and distilabel: round-robin, like evolve."""
    ops = list(OPERATORS)
    return [(seeds[i % len(seeds)]["prompt"], ops[(i // len(seeds) + i) % len(ops)]) for i in range(items)]


# -- timing: the fake server's own timeline ---------------------------------------------

def phase_figures(stats: dict[str, Any], t0: float, t1: float) -> dict[str, Any]:
    """The LLM phase of a run from the fake server's `timeline` (wall clock, like `t0`/`t1`): from
    its first request to its last answer, calls/s over it, start-up before and tail after, a
    timeline and the stalls."""
    tl = stats.get("timeline") or {}
    first, last, step = tl.get("first_request_at"), tl.get("last_answer_at"), float(tl.get("bucket_s") or 0.1)
    requests = int(stats["requests"])
    if not requests or first is None or last is None:
        return {}
    llm_s = max(last - first, 1e-6)
    started, peak = tl["started"], tl["peak_in_flight"]
    per_s = max(1, round(1.0 / step))
    timeline, total = [], 0
    for i in range(0, len(started), per_s):
        total += sum(started[i:i + per_s])
        timeline.append([round(i * step, 1), total, max(peak[i:i + per_s])])
    stalls, gap_start, seen = [], None, 0
    for i, n in enumerate(started + [1]):  # a sentinel closes a gap that runs to the end
        if n == 0 and gap_start is None:
            gap_start = i
        elif n and gap_start is not None:
            if (i - gap_start) * step >= 2.0 and i < len(started):
                stalls.append([round(gap_start * step, 1), round((i - gap_start) * step, 1), seen,
                               max(peak[gap_start:i])])
            gap_start = None
        seen += n if i < len(started) else 0
    return {"llm_phase_s": round(llm_s, 3), "calls_per_s": round(requests / llm_s, 1),
            "startup_s": round(first - t0, 3), "tail_s": round(t1 - last, 3), "stalls": stalls, "timeline": timeline}


def run_process(cmd: list[str], *, env: dict[str, str], log_path: Path, timeout_s: float,
                cwd: Path | None = None) -> tuple[int, float, float]:
    """Run `cmd` (own process group, output to `log_path`); (returncode, t_start, t_end), wall clock (the
    fake server's timeline is in `time.time()` too)."""
    with open(log_path, "wb") as log:
        t0 = time.time()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc = -999
        return rc, t0, time.time()


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --latency-jitter: the spread of each request's latency, a share of it (0: constant, the issue's case).
LATENCY_JITTER = 0.0


def measure(srv: Any, latency_s: float, body: Any) -> dict[str, Any]:
    """Reset and script the server, run `body()` -> (rc, t0, t1, extra); the figures."""
    srv.reset()
    srv.configure(latency_s=latency_s, latency_jitter=LATENCY_JITTER, seed=0)
    srv.add_rule(match=JUDGE_MARK, response=JUDGE_ANSWER)
    rc, t0, t1, extra = body()
    stats = srv.stats()
    requests = int(stats["requests"])
    result: dict[str, Any] = {"rc": rc, "requests": requests, "by_status": stats["by_status"],
                              "max_in_flight": stats["max_in_flight"], "total_wall_s": round(t1 - t0, 3),
                              "judge_rule_hits": sum(r.get("hits", 0) for r in stats.get("rules", [])), **extra}
    result.update(phase_figures(stats, t0, t1))
    return result


# -- 1. benchsmith ----------------------------------------------------------------------

def write_spec(folder: Path, *, suite: str, items: int, seeds: list[dict[str, str]], base_url: str,
               concurrency: int, timeout_s: float = 60.0, budget_factor: float = 2.0) -> Path:
    import yaml

    (folder / "seeds.jsonl").write_text("".join(json.dumps(s) + "\n" for s in seeds))
    endpoint = {"base_url": base_url, "model": MODEL, "timeout_s": timeout_s}
    spec = {
        "suite": suite,
        "description": "end-to-end throughput bench on the fake OpenAI server",
        "seeds": {"path": "seeds.jsonl"},
        "target_items": items,
        "budget": {"max_llm_calls": int(budget_factor * items), "max_rounds": 8},
        "generators": [{"name": "evolve", "params": {"kind": "open_qa", "depth": 1,
                                                     "operators": list(OPERATORS)}}],
        "verifiers": [{"name": "rules"}, {"name": "llm_judge", "params": {"threshold": 3.0}}],
        "dedup": {"exact": True, "semantic": False},
        "llm": {"generator": {**endpoint, **GEN_PARAMS}, "judge": {**endpoint, **JUDGE_PARAMS},
                "concurrency": concurrency, "max_retries": 2, "cache": True},
        "publish": {"output_dir": str(folder / "outputs")},
        "random_seed": 0,
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def benchsmith_cmd() -> list[str]:
    exe = shutil.which("benchsmith")
    return [exe] if exe else [sys.executable, "-m", "benchsmith"]


def benchsmith_env(folder: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "NO_COLOR": "1",
           "PREFECT_HOME": str(folder / "prefect-home"), "PREFECT_LOGGING_LEVEL": "ERROR",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "HF_HUB_OFFLINE": "1"}
    env.setdefault("OPENAI_API_KEY", "bench")
    # BENCH_BENCHSMITH_SOURCE=<checkout of another commit> measures that code instead (a "before"
    # figure): its folder goes first on the path of the benchsmith process only.
    source = os.environ.get("BENCH_BENCHSMITH_SOURCE")
    if source:
        env["PYTHONPATH"] = os.pathsep.join([source, *filter(None, [os.environ.get("PYTHONPATH")])])
    for var in ("OPENAI_BASE_URL", "OPENAI_MODEL", "PREFECT_API_URL"):  # the spec names the endpoint
        env.pop(var, None)
    return env


def validate_spec(spec: Path, folder: Path) -> tuple[bool, str]:
    proc = subprocess.run([*benchsmith_cmd(), "validate", str(spec)], capture_output=True, text=True,
                          env=benchsmith_env(folder), timeout=300)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def published_rows(out_dir: Path) -> int | None:
    """Rows of the published parquet file(s), when pyarrow is there to count them."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None
    files = [p for p in out_dir.rglob("*.parquet")]
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files) if files else 0


def run_benchsmith(srv: Any, *, items: int, seeds: list[dict[str, str]], latency_s: float, concurrency: int,
                   work: Path, timeout_s: float, llm_timeout_s: float,
                   budget_factor: float = 2.0) -> dict[str, Any]:
    folder = work / f"benchsmith-{int(latency_s * 1000)}ms"
    folder.mkdir(parents=True)
    spec = write_spec(folder, suite=f"e2e-bench-{int(latency_s * 1000)}ms", items=items, seeds=seeds,
                      base_url=srv.base_url, concurrency=concurrency, timeout_s=llm_timeout_s,
                      budget_factor=budget_factor)
    log = folder / "run.log"
    cmd = [*benchsmith_cmd(), "run", str(spec), "--workspace", str(folder / "workspace"),
           "--output-dir", str(folder / "published")]

    def body() -> tuple[int, float, float, dict[str, Any]]:
        rc, t0, t1 = run_process(cmd, env=benchsmith_env(folder), log_path=log, timeout_s=timeout_s, cwd=folder)
        return rc, t0, t1, {}

    result = measure(srv, latency_s, body)
    text = log.read_text(errors="replace") if log.exists() else ""
    m = re.search(r"stopped: (.+?) after (\d+) round\(s\): (\d+) items kept, (\d+) new LLM calls", text)
    if m:
        result.update(stop=m.group(1), rounds=int(m.group(2)), published=int(m.group(3)),
                      cli_llm_calls=int(m.group(4)))
    m = re.search(r"items kept, .*?, ([\d.]+)s\n", text)
    if m:
        result["cli_elapsed_s"] = float(m.group(1))
    if "cli_llm_calls" in result and result["requests"] > result["cli_llm_calls"]:
        # The server answered more requests than the run accounted: retries (timeouts, lost answers).
        result["extra_requests"] = result["requests"] - result["cli_llm_calls"]
    rows = published_rows(folder / "published")
    if rows is not None:
        result["published_rows"] = rows
        result.setdefault("published", rows)
    result["command"] = " ".join(cmd)
    result["log"] = str(log)
    if result["rc"] != 0 or not result.get("published"):
        result["error"] = f"benchsmith run exited {result['rc']}:\n{tail(log, 40)}"
    return result


# -- 2. the bare loop -------------------------------------------------------------------

async def _bare_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    import openai

    client = openai.AsyncOpenAI(base_url=cfg["base_url"], api_key="bench", max_retries=2, timeout=60.0)
    sem = asyncio.Semaphore(cfg["concurrency"])
    gen_rf = response_format("evolved_item", GEN_SCHEMA)
    judge_rf = response_format("judge_scores", JUDGE_SCHEMA)
    counts = {"generated": 0, "judged": 0, "passed": 0, "errors": 0}

    async def one(i: int, seed_prompt: str, operator: str) -> None:
        try:
            async with sem:
                r = await client.chat.completions.create(
                    model=MODEL, messages=gen_messages(seed_prompt, operator), response_format=gen_rf,
                    seed=i, **GEN_PARAMS)
            item = json.loads(r.choices[0].message.content or "")
            counts["generated"] += 1
            async with sem:
                r = await client.chat.completions.create(
                    model=MODEL, response_format=judge_rf,
                    messages=[{"role": "system", "content": JUDGE_SYSTEM},
                              {"role": "user", "content": judge_user_text(item["question"], item["reference_answer"])}],
                    **JUDGE_PARAMS)
            scores = json.loads(r.choices[0].message.content or "")
            counts["judged"] += 1
            counts["passed"] += sum(scores[c] for c in JUDGE_CRITERIA[:4]) / 4 >= 3.0
        except Exception:  # noqa: BLE001 (counted; the bench reports it)
            counts["errors"] += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i, p, op) for i, (p, op) in enumerate(cfg["requests"])))
    elapsed = time.perf_counter() - t0
    await client.close()
    return {**counts, "self_timed_s": round(elapsed, 3)}


def bare_worker(config_path: str) -> int:
    cfg = json.loads(Path(config_path).read_text())
    print(json.dumps(asyncio.run(_bare_loop(cfg))), flush=True)
    return 0


def last_json_line(path: Path) -> dict[str, Any]:
    for line in reversed(path.read_text(errors="replace").splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return {}


def run_bare(srv: Any, *, requests: list[tuple[str, str]], latency_s: float, concurrency: int,
             work: Path, timeout_s: float) -> dict[str, Any]:
    folder = work / f"bare-{int(latency_s * 1000)}ms"
    folder.mkdir(parents=True)
    cfg = folder / "config.json"
    cfg.write_text(json.dumps({"base_url": srv.base_url, "concurrency": concurrency, "requests": requests}))
    log = folder / "run.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--bare-worker", str(cfg)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def body() -> tuple[int, float, float, dict[str, Any]]:
        rc, t0, t1 = run_process(cmd, env=env, log_path=log, timeout_s=timeout_s)
        return rc, t0, t1, last_json_line(log)

    result = measure(srv, latency_s, body)
    if result["rc"] != 0 or result.get("errors"):
        result["error"] = f"bare loop exited {result['rc']} ({result.get('errors')} failed items):\n{tail(log)}"
    return result


# -- 3. distilabel ----------------------------------------------------------------------

DISTILABEL_PIPELINE = r'''
"""Written by bench/end_to_end.py: generation + judge with distilabel's TextGeneration/OpenAILLM."""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
from distilabel.models import OpenAILLM
from distilabel.pipeline import Pipeline
from distilabel.steps import LoadDataFromDicts, StepInput, step
from distilabel.steps.tasks import TextGeneration

cfg = json.load(open(sys.argv[1]))
JUDGE_MARK = cfg["judge_mark"]


@step(inputs=["generation"], outputs=["judge_instruction"])
def FormatJudge(inputs: StepInput):
    for row in inputs:
        try:
            item = json.loads(row["generation"])
            q, a = item["question"], item["reference_answer"]
        except Exception:
            q, a = "(no question)", "(no answer)"
        row["judge_instruction"] = f"Kind: open_qa\n\nQuestion:\n{q.strip()}{JUDGE_MARK}{a.strip()}"
    yield inputs


def llm(rf, params):
    return OpenAILLM(model=cfg["model"], base_url=cfg["base_url"], api_key="bench", timeout=60, max_retries=2,
                     generation_kwargs={"temperature": params["temperature"],
                                        "max_new_tokens": params["max_tokens"],
                                        "extra_body": {"response_format": rf}})


with Pipeline(name="benchsmith-e2e-bench", cache_dir=cfg["cache_dir"]) as pipeline:
    load = LoadDataFromDicts(data=[{"instruction": t} for t in cfg["instructions"]], batch_size=cfg["batch_size"])
    gen = TextGeneration(name="generate", llm=llm(cfg["gen_rf"], cfg["gen_params"]),
                         system_prompt=cfg["gen_system"], input_batch_size=cfg["batch_size"])
    fmt = FormatJudge(name="format_judge", input_batch_size=cfg["batch_size"])
    judge = TextGeneration(name="judge", llm=llm(cfg["judge_rf"], cfg["judge_params"]),
                           system_prompt=cfg["judge_system"], input_batch_size=cfg["batch_size"],
                           input_mappings={"instruction": "judge_instruction"},
                           output_mappings={"generation": "judgement", "model_name": "judge_model"})
    load >> gen >> fmt >> judge

if __name__ == "__main__":
    t0 = time.perf_counter()
    distiset = pipeline.run(use_cache=False)
    elapsed = time.perf_counter() - t0
    rows = distiset["default"]["train"]
    generated = judged = passed = 0
    for row in rows:
        # The judge's output mapping replaces the generation column; the judge prompt holds it.
        generated += "(no question)" not in row["judge_instruction"]
        try:
            s = json.loads(row["judgement"]); judged += 1
            passed += sum(s[c] for c in ("clarity", "self_containedness", "answerability", "answer_correctness")) / 4 >= 3
        except Exception:
            pass
    print(json.dumps({"rows": len(rows), "generated": generated, "judged": judged, "passed": passed,
                      "self_timed_s": round(elapsed, 3)}), flush=True)
'''


def ensure_distilabel_venv(venv: Path) -> Path:
    """The venv's python, creating the venv and installing distilabel on first use."""
    py = venv / "bin" / "python"
    check = f"import distilabel, sys; sys.exit(distilabel.__version__ != {DISTILABEL_VERSION!r})"
    if py.exists() and subprocess.run([str(py), "-c", check], capture_output=True).returncode == 0:
        return py
    print(f"creating {venv} with {' '.join(DISTILABEL_REQUIREMENTS)} (first use; a few minutes)", flush=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *DISTILABEL_REQUIREMENTS], check=True)
    if subprocess.run([str(py), "-c", check], capture_output=True).returncode != 0:
        raise RuntimeError(f"{venv}: distilabel {DISTILABEL_VERSION} does not import after install")
    return py


def run_distilabel(srv: Any, py: Path, *, requests: list[tuple[str, str]], latency_s: float, batch_size: int,
                   work: Path, timeout_s: float) -> dict[str, Any]:
    folder = work / f"distilabel-{int(latency_s * 1000)}ms-batch{batch_size}"
    folder.mkdir(parents=True)
    script = folder / "pipeline.py"
    script.write_text(DISTILABEL_PIPELINE)
    cfg = folder / "config.json"
    cfg.write_text(json.dumps({
        "base_url": srv.base_url, "model": MODEL, "batch_size": batch_size, "cache_dir": str(folder / "cache"),
        "instructions": [gen_messages(p, op)[1]["content"] for p, op in requests],
        "gen_system": GEN_SYSTEM, "judge_system": JUDGE_SYSTEM, "judge_mark": JUDGE_MARK,
        "gen_rf": response_format("evolved_item", GEN_SCHEMA), "judge_rf": response_format("judge_scores", JUDGE_SCHEMA),
        "gen_params": GEN_PARAMS, "judge_params": JUDGE_PARAMS,
    }))
    log = folder / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTHONPATH", "VIRTUAL_ENV"))}
    env.update(PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1", DISTILABEL_LOG_LEVEL="WARNING",
               HOME=os.environ.get("HOME", str(folder)))

    def body() -> tuple[int, float, float, dict[str, Any]]:
        rc, t0, t1 = run_process([str(py), str(script), str(cfg)], env=env, log_path=log, timeout_s=timeout_s,
                                 cwd=folder)
        return rc, t0, t1, last_json_line(log)

    result = measure(srv, latency_s, body)
    result["log"] = str(log)
    result["batch_size"] = batch_size
    if result["rc"] != 0 or result.get("judged") != len(requests):
        result["error"] = (f"distilabel exited {result['rc']} ({result.get('judged')} of {len(requests)} rows "
                           f"judged):\n{tail(log)}")
    return result


# -- the report -------------------------------------------------------------------------

def _fmt(v: float | None, spec: str, suffix: str = "") -> str:
    width = int(re.match(r"\d*", spec).group(0) or 0)
    return ("-" if v is None else format(v, spec.lstrip("0123456789")) + suffix).rjust(width)


def summarise(results: dict[str, dict[str, Any]], *, latencies_ms: list[int], concurrency: int,
              calls_per_candidate: int, items: int, equal_batch_size: int | None = None) -> tuple[str, list[dict[str, Any]]]:
    minimum = items * calls_per_candidate
    lines = [f"{'latency':>8} {'benchsmith':>11} {'bare':>8} {'distilabel':>11} {'bs/bare':>8} {'bs/distil':>10} "
             f"{'bs/bound':>9} {'bare/bound':>11} {'calls/item':>11} {'min':>5}   (calls/s over the LLM phase)"]
    checks: list[dict[str, Any]] = []
    for ms in latencies_ms:
        r = results[str(ms)]
        bs, bare, dl = (r.get(k, {}) for k in ("benchsmith", "bare", "distilabel"))
        b, w, d = (x.get("calls_per_s") if not x.get("error") else None for x in (bs, bare, dl))
        bound = concurrency / (ms / 1000) if ms else None
        published = bs.get("published")
        per_item = bs["requests"] / published if published and not bs.get("error") else None
        lines.append(f"{ms:>6}ms {_fmt(b, '11.0f')} {_fmt(w, '8.0f')} {_fmt(d, '11.0f')} "
                     f"{_fmt(b / w if b and w else None, '8.0%')} {_fmt(b / d if b and d else None, '10.2f', 'x')} "
                     f"{_fmt(b / bound if b and bound else None, '9.0%')} "
                     f"{_fmt(w / bound if w and bound else None, '11.0%')} {_fmt(per_item, '11.3f')} "
                     f"{calls_per_candidate:>5.1f}")
        if ms == 0:
            checks.append({"latency_ms": ms, "target": "benchsmith >= 75% of bare", "value": b / w if b and w else None,
                           "limit": 0.75, "pass": bool(b and w and b / w >= 0.75)})
        if bound:
            checks.append({"latency_ms": ms, "target": f"benchsmith >= 90% of concurrency bound ({bound:.0f}/s)",
                           "value": b / bound if b else None, "limit": 0.90, "pass": bool(b and b / bound >= 0.90)})
        if d is not None or dl:
            check = {"latency_ms": ms, "target": "benchsmith >= 1.5x distilabel",
                     "value": b / d if b and d else None, "limit": 1.5, "pass": bool(b and d and b / d >= 1.5)}
            if bound and d and 1.5 * d > bound:
                # distilabel keeps more requests in flight than the concurrency limit allows the
                # others: no client held to `concurrency` can reach 1.5x it at this latency.
                check["reachable"] = bound / d
            checks.append(check)
        checks.append({"latency_ms": ms, "target": f"calls per published item <= 1.1x minimum ({calls_per_candidate})",
                       "value": per_item / calls_per_candidate if per_item else None, "limit": 1.1,
                       "pass": bool(per_item and per_item <= 1.1 * calls_per_candidate)})
    lines.append(f"bound = concurrency / latency = {concurrency} / latency; calls/item = fake-server requests / "
                 f"published items; minimum = {calls_per_candidate} per item ({items} items x {calls_per_candidate} "
                 f"= {minimum} calls)")
    lines.append("bare/bound shows what this machine allows at all: a CPU-bound client or server keeps even the "
                 "bare loop under the bound")
    if any(results[str(ms)].get("distilabel_eq") for ms in latencies_ms):
        lines.append("")
        lines.append(f"distilabel at equal in-flight (input_batch_size {equal_batch_size} per LLM step; its 2 steps "
                     f"seldom overlap; benchsmith and bare keep {concurrency} in flight; peaks measured at the server):")
        lines.append(f"{'latency':>8} {'benchsmith':>11} {'distilabel':>11} {'distil@64':>10} {'bs/distil':>10} "
                     f"{'bs/distil@64':>13} {'distil in flight':>17}")
        for ms in latencies_ms:
            r = results[str(ms)]
            b, d, e = (r.get(k, {}).get("calls_per_s") if r.get(k) and not r[k].get("error") else None
                       for k in ("benchsmith", "distilabel", "distilabel_eq"))
            peaks = "/".join(str(r[k]["max_in_flight"]) for k in ("distilabel", "distilabel_eq")
                             if r.get(k) and "max_in_flight" in r[k])
            lines.append(f"{ms:>6}ms {_fmt(b, '11.0f')} {_fmt(d, '11.0f')} {_fmt(e, '10.0f')} "
                         f"{_fmt(b / d if b and d else None, '10.2f', 'x')} "
                         f"{_fmt(b / e if b and e else None, '13.2f', 'x')} {peaks or '-':>17}")
    notes = []
    for ms in latencies_ms:
        for name, res in results[str(ms)].items():
            gaps = [g for g in res.get("stalls", []) if g[1] >= 2.0]
            if res.get("extra_requests") or gaps:
                idle = ", ".join(f"{g[1]:.0f} s from {g[0]:.0f} s on after {g[2]} requests "
                                 f"({g[3]} in flight at the server)" for g in gaps)
                notes.append(f"  {ms:>4} ms  {name}: {res.get('extra_requests', 0)} requests sent again by the "
                             f"client (retries); no new request for {idle or '-'}")
    if notes:
        lines.append("")
        lines.append("stalls (gaps of >= 2 s without a new request inside the LLM phase):")
        lines.extend(notes)
    lines.append("")
    lines.append("targets (issue):")
    for c in checks:
        v = c["value"]
        shown = "-" if v is None else (f"{v:.2f}x" if "distilabel" in c["target"] or "minimum" in c["target"]
                                       else f"{v:.0%}")
        lines.append(f"  {c['latency_ms']:>4} ms  {c['target']:<58} {shown:>7}  {'PASS' if c['pass'] else 'FAIL'}")
        if "reachable" in c:
            lines.append(f"{'':>10}(out of reach at concurrency {concurrency}: 1.5x distilabel is above the bound "
                         f"of {concurrency}/latency; the most any client can reach is {c['reachable']:.2f}x)")
    return "\n".join(lines), checks


def details(name: str, r: dict[str, Any]) -> str:
    keys = ("requests", "by_status", "max_in_flight", "llm_phase_s", "startup_s", "tail_s", "total_wall_s",
            "self_timed_s", "published", "published_rows", "cli_llm_calls", "extra_requests", "rounds", "stop",
            "stalls", "judge_rule_hits",
            "batch_size", "generated", "judged", "passed", "errors", "rows")
    shown = ", ".join(f"{k}={r[k]}" for k in keys if k in r)
    return f"  {name:<11} {shown}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=2000, help="published items wanted (benchsmith target_items)")
    ap.add_argument("--budget-factor", type=float, default=2.0,
                    help="benchsmith's budget.max_llm_calls as a multiple of --items (2 = exactly the minimum; "
                         "raise it, e.g. 10, to measure what over-generation costs when the budget does not cap it)")
    ap.add_argument("--latencies", default="0,200", help="comma-separated per-request latencies in ms")
    ap.add_argument("--latency-jitter", type=float, default=0.0,
                    help="spread each request's latency uniformly over +/- this share of it (e.g. 0.2); "
                         "0 (default) keeps it constant, as the issue measured")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--seeds", type=int, default=300, help="distinct seeds in the seed file")
    ap.add_argument("--batch-size", type=int, default=256, help="distilabel input_batch_size")
    ap.add_argument("--equal-batch-size", type=int, default=None,
                    help="distilabel input_batch_size of the equal in-flight row (default: --concurrency)")
    ap.add_argument("--skip-distilabel", action="store_true")
    ap.add_argument("--skip-equal-distilabel", action="store_true",
                    help="run distilabel only at --batch-size, not also at equal in-flight")
    ap.add_argument("--skip-bare", action="store_true")
    ap.add_argument("--skip-benchsmith", action="store_true")
    ap.add_argument("--distilabel-venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per measured run")
    ap.add_argument("--llm-timeout", type=float, default=60.0,
                    help="the spec's llm.*.timeout_s for benchsmith (per-request timeout)")
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (specs, logs, outputs)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--bare-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.bare_worker:
        return bare_worker(args.bare_worker)
    global LATENCY_JITTER
    LATENCY_JITTER = args.latency_jitter

    from benchsmith.testing.fake_openai import FakeOpenAIServer

    latencies_ms = [int(x) for x in args.latencies.split(",") if x.strip()]
    equal_batch = args.equal_batch_size or args.concurrency
    seeds = make_seeds(args.seeds)
    requests = planned_requests(seeds, args.items)
    calls_per_candidate = 2  # 1 generation + 1 LLM verifier (llm_judge); rules costs no call
    py = None
    if not args.skip_distilabel:
        py = ensure_distilabel_venv(args.distilabel_venv)

    work = Path(tempfile.mkdtemp(prefix="benchsmith-e2e-"))
    results: dict[str, dict[str, Any]] = {}
    failed = False
    started = time.perf_counter()
    try:
        with FakeOpenAIServer(log_path=work / "fake-server.log") as srv:
            jitter = f" +/- {args.latency_jitter:.0%}" if args.latency_jitter else " (constant)"
            print(f"fake server {srv.base_url}; latency{jitter}; {args.items} items, {len(seeds)} seeds, concurrency "
                  f"{args.concurrency}, distilabel batch {args.batch_size} and {equal_batch}; {os.cpu_count()} CPUs, load average "
                  f"{os.getloadavg()[0]:.2f} (other processes share the CPUs with the bench); work dir {work}",
                  flush=True)
            if not args.skip_benchsmith:
                check_dir = work / "validate"
                check_dir.mkdir()
                spec = write_spec(check_dir, suite="e2e-bench-validate", items=args.items, seeds=seeds,
                                  base_url=srv.base_url, concurrency=args.concurrency)
                ok, text = validate_spec(spec, check_dir)
                print(f"benchsmith validate: {'ok' if ok else 'FAILED'}\n  " + text.replace("\n", "\n  "), flush=True)
            for ms in latencies_ms:
                lat = ms / 1000
                r: dict[str, Any] = {}
                if not args.skip_benchsmith:
                    r["benchsmith"] = run_benchsmith(srv, items=args.items, seeds=seeds, latency_s=lat,
                                                     concurrency=args.concurrency, work=work,
                                                     timeout_s=args.timeout, llm_timeout_s=args.llm_timeout,
                                                     budget_factor=args.budget_factor)
                if not args.skip_bare:
                    r["bare"] = run_bare(srv, requests=requests, latency_s=lat, concurrency=args.concurrency,
                                         work=work, timeout_s=args.timeout)
                if py is not None:
                    r["distilabel"] = run_distilabel(srv, py, requests=requests, latency_s=lat,
                                                     batch_size=args.batch_size, work=work,
                                                     timeout_s=args.timeout)
                    if not args.skip_equal_distilabel and equal_batch != args.batch_size:
                        r["distilabel_eq"] = run_distilabel(srv, py, requests=requests, latency_s=lat,
                                                            batch_size=equal_batch, work=work,
                                                            timeout_s=args.timeout)
                results[str(ms)] = r
                print(f"latency {ms} ms:", flush=True)
                for name, res in r.items():
                    print(details(name, res), flush=True)
                    if res.get("error"):
                        failed = True
                        print("    " + res["error"].replace("\n", "\n    "), flush=True)
    finally:
        if not args.keep and not failed:
            shutil.rmtree(work, ignore_errors=True)
        elif failed or args.keep:
            print(f"kept {work}", flush=True)

    table, checks = summarise(results, latencies_ms=latencies_ms, concurrency=args.concurrency,
                              calls_per_candidate=calls_per_candidate, items=args.items,
                              equal_batch_size=equal_batch)
    print()
    print(table)
    print(f"\nwall time of the whole bench: {time.perf_counter() - started:.0f} s; "
          f"load average now {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({
            "items": args.items, "seeds": len(seeds), "concurrency": args.concurrency,
            "distilabel_batch_size": args.batch_size, "distilabel_equal_batch_size": equal_batch,
            "latencies_ms": latencies_ms, "latency_jitter": args.latency_jitter,
            "calls_per_candidate": calls_per_candidate, "minimum_calls": args.items * calls_per_candidate,
            "cpus": os.cpu_count(), "load_average_end": os.getloadavg()[0],
            "results": results, "targets": checks}, indent=2))
    if failed:
        return 1
    return 1 if args.check and not all(c["pass"] for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
