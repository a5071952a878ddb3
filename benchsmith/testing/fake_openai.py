"""A fake OpenAI-compatible HTTP server for tests and benchmarks.

Real HTTP (Starlette on uvicorn), so the code under test runs its real client, pool,
timeouts and retries. Run it with::

    python -m benchsmith.testing.fake_openai --host 127.0.0.1 --port 8765

or from Python with `FakeOpenAIServer` (a subprocess on a free port).

Endpoints:

- ``POST /v1/chat/completions`` (non-streaming). A request that carries a JSON schema
  (``response_format`` ``{"type": "json_schema", "json_schema": {"schema": ...}}`` or
  llama.cpp's ``{"type": "json_object", "schema": ...}``) is answered with a deterministic
  instance of the schema: strings are English-ish sentences of 12–25 words seeded by the
  request body and the field path, numbers the schema's maximum (else 1), booleans true,
  enums their first value, arrays `minItems` (at least 1) elements. Without a schema the
  answer is one sentence. ``usage`` counts roughly 4 characters per token.
- ``GET /v1/models``.
- Control, under ``/_fake/``: ``POST rules`` (one rule or a list), ``POST reset`` (rules,
  counters, latency, fault rates; wakes hung requests), ``GET stats`` (counters, and a
  ``timeline`` of the chat requests since the reset: wall-clock time of the first request
  and of the last answer, and per 0.1 s the requests started, answered and the most in
  flight, so a benchmark can time a run without polling), ``POST configure``
  (``{"latency_s": 0.2, "latency_jitter": 0.2, "reject_json_schema": false}``; latency is an
  asyncio sleep, ``latency_jitter`` spreads it uniformly over ±that share of `latency_s`
  (drawn from a ``random.Random`` seeded by ``seed``, default 0: real endpoints answer in
  varying times, and a constant latency keeps requests that were sent together moving
  together), and ``reject_json_schema`` answers the json_schema form with the HTTP 500 llama-cpp-python's
  server gives), ``GET requests`` (recent bodies).

Random faults, for chaos tests: ``POST configure`` with
``{"fault_rates": {"429": 0.05, "500": 0.05, "hang": 0.05, "invalid_json": 0.05}, "seed": 7}``
(optional ``"hang_s": 30``, ``"retry_after_ms": 50``). Every well-formed chat request draws
one number from a ``random.Random(seed)`` of the server's; with the given probabilities it
is answered with HTTP 429 (``retry-after-ms``/``Retry-After`` of `retry_after_ms`), HTTP 500,
a hang of `hang_s` seconds (longer than the clients' timeouts; a reset wakes it, then it is
answered normally), or the normal answer cut in half (content that is not valid JSON);
otherwise normally. The same seed and request order give the same faults (configure
`fault_rates` or `seed` again to restart the sequence). A rule that matches, or
``reject_json_schema``, wins over a fault (the number is drawn all the same). A faulted
answer carries the header ``x-fake-fault: <kind>``, and ``stats`` counts the faults
injected by kind (``"faults": {"429": n, ...}``). Without `fault_rates` nothing changes.

A rule (first match wins; ``times`` limits how often it applies, default forever)::

    {"match": "substring of the last user message",   # omitted: every request
     "response": {...},                  # answer with this JSON object as the content
     "raw": "{broken",                   # or answer with this exact content
     "status": 429, "retry_after": 1,    # or fail with this HTTP status (and Retry-After)
     "hang_s": 30,                       # first wait this long (then do the rest)
     "after": 3,                         # apply only from the 4th matching request on
     "times": 2}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any, Self

import httpx

MODEL_ID = "fake-model"
_RULE_KEYS = {"match", "response", "raw", "status", "retry_after", "hang_s", "times", "after", "message"}
FAULT_KINDS = ("429", "500", "hang", "invalid_json")
"""The kinds of random fault `fault_rates` may name, in the order a draw maps onto them."""
_SETTINGS = {"latency_s", "latency_jitter", "reject_json_schema", "fault_rates", "seed", "hang_s", "retry_after_ms"}

_VOCAB = """
able about above accept across act add advance after again against age agree ahead air allow almost
alone along already also always amount angle animal answer apple area argue arm army around arrive
art ask attack author autumn average avoid away baby back bad bag balance ball band bank bar base
basket battle beach bear beat become bed before begin behind believe bell below bench best better
between bird bit black blade blood blow blue board boat body bone book border borrow bottle bottom
box brain branch brave bread break bridge bright bring broad brother brown build burn busy butter
button cabin cable cake call calm camera camp candle capital captain car card care carry case castle
cat catch cause cell center chain chair chance change chapter charge cheap check cheese chest chief
child choice circle city claim class clean clear climb clock close cloud coast coat code coffee cold
collect colour column come common company compare complete concern copper corner cost cotton count
country course cover crack craft create crew crop cross crowd cup current curve cut damage dance
danger dark data daughter deal debate decide deep defend degree deliver depend desert design detail
develop device diamond differ dinner direct discover distance divide doctor dollar door double draft
drama draw dream dress drink drive drop dry duty eager early earth east easy edge effect effort egg
eight elect element empty energy engine enjoy enter equal escape estate evening event exact example
exchange exercise expect expert explain express extend fabric face fact factory fair faith fall
family famous farm fast father fault favour feather feature feed field figure file final find finger
finish fire firm fish flag flat flight floor flow flower fly focus follow food foot force forest
forget form fortune forward frame free fresh friend front fruit fuel full future garden gate gather
gentle gift glass global goal gold good govern grain grand grass gravity great green ground group
grow guard guess guide habit hair half hall hammer hand happy harbour hard harvest hat head health
heart heat heavy height help herb hidden high hill history hold hole holiday honest honey hope horse
hospital hotel hour house human hunt idea image impact income index industry inform insect inside
iron island item jacket join journey judge juice jump jungle just keep kettle key kind king kitchen
knife know label ladder lake lamp land language large laser late laugh launch lawn layer lead leaf
learn leather leave lemon lesson letter level library lift light limit line liquid list listen
little live local lock logic long loose lucky lunch machine magnet major manage map margin market
master match matter meadow measure medal memory metal method middle mild mind mineral minute mirror
model moment money monkey month moon morning mother motion mountain mouse move muscle museum music
narrow nation nature near neck needle nerve network never night noble noise north note novel number
object ocean offer office often open opera orange orbit order organ origin outer oven owner oxygen
paint palace paper parent park party pass path pattern peace pencil people pepper period permit
person phone piano picture piece pilot pipe planet plant plate play pocket poem point polish pond
popular port position potato powder power practice praise press price prince print problem process
produce profit project proof proper protect proud public pull pump purple puzzle quality quarter
queen question quick quiet rabbit race radio rail rain raise range rapid rare reach read ready
reason record reduce region relax remote repair report rescue result return reward rhythm rice rich
ride right ring river road rocket roof room root rope rough round route royal rubber rule safe sail
salad salt sample sand save scale scene school science score screen sea season second secret section
seed select sense series service settle shadow shape share sharp shelf shell shift ship shirt shore
short signal silent silver simple single sister skill sky sleep slice slow small smooth snow soap
social soft soil solar solid song sound source south space speak special speed spider spirit sport
spring square stable stage stair stamp standard star station steam steel stem step stick stone storm
story straight street strong student style subject sugar summer supply surface survey sweet swift
symbol system table tail talent target taste teach team temple tennis theory thick thin thread
throat ticket tiger timber tiny title today tone tool tooth topic total tower track trade traffic
train travel treat tree trial tribe truck trust tunnel turn twin type uncle under union unit upper
urban useful valley value vapour vessel video village violin visit voice volume voyage wagon walk
wall warm wash watch water wave wealth weather week weight west wheat wheel whisper white wide wild
window winter wire wise wonder wood wool world write yard year yellow young zebra zone
""".split()  # noqa: SIM905 (a word list reads better as text)


# -- schema instances ------------------------------------------------------------------

def _sentence(seed: str, path: str) -> str:
    rng = random.Random(f"{seed}|{path}")
    words = rng.choices(_VOCAB, k=rng.randint(12, 25))
    end = "?" if any(k in path.rsplit(".", 1)[-1].lower() for k in ("question", "prompt")) else "."
    return words[0].capitalize() + " " + " ".join(words[1:]) + end


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        node: Any = root
        for part in ref[1:].split("/"):
            if part:
                node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
        schema, seen = node, seen + 1
    return schema if isinstance(schema, dict) else {}


def _number(s: dict[str, Any], integer: bool) -> int | float:
    if "maximum" in s:
        v = s["maximum"]
    elif "exclusiveMaximum" in s:
        v = s["exclusiveMaximum"] - 1
    else:
        v = 1
        if "minimum" in s and v < s["minimum"]:
            v = s["minimum"]
        elif "exclusiveMinimum" in s and v <= s["exclusiveMinimum"]:
            v = s["exclusiveMinimum"] + 1
    return int(v) if integer else v


def instance(schema: dict[str, Any], seed: str, path: str = "$", root: dict[str, Any] | None = None) -> Any:
    """A deterministic value that conforms to (the common parts of) `schema`."""
    root = schema if root is None else root
    s = _resolve(schema, root)
    if "const" in s:
        return s["const"]
    if s.get("enum"):
        return s["enum"][0]
    for key in ("anyOf", "oneOf"):
        if s.get(key):
            options = [_resolve(o, root) for o in s[key]]
            choice = next((o for o in options if o.get("type") != "null"), options[0])
            return instance(choice, seed, path, root)
    if s.get("allOf"):
        merged: dict[str, Any] = {}
        for part in s["allOf"]:
            merged.update(_resolve(part, root))
        return instance(merged, seed, path, root)
    t = s.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t is None:
        t = "object" if "properties" in s else "array" if "items" in s else "string"
    if t == "object":
        return {name: instance(sub, seed, f"{path}.{name}", root) for name, sub in s.get("properties", {}).items()}
    if t == "array":
        n = max(int(s.get("minItems", 1)), 1)
        if "maxItems" in s:
            n = min(n, int(s["maxItems"]))
        prefix = s.get("prefixItems") or []
        raw_items = s.get("items")
        items: dict[str, Any] = raw_items if isinstance(raw_items, dict) else {}
        out = [instance(prefix[i] if i < len(prefix) else items, seed, f"{path}[{i}]", root) for i in range(n)]
        if s.get("uniqueItems") and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in out):
            out = [v - i for i, v in enumerate(out)]  # numbers would all be the maximum
        return out
    if t == "integer":
        return _number(s, integer=True)
    if t == "number":
        return _number(s, integer=False)
    if t == "boolean":
        return True
    if t == "null":
        return None
    text = _sentence(seed, path)
    if "maxLength" in s and len(text) > int(s["maxLength"]):
        text = text[: int(s["maxLength"])].rstrip()
    while len(text) < int(s.get("minLength", 0)):
        text += " " + _sentence(seed, path + f"+{len(text)}")
    return text


# -- the server ------------------------------------------------------------------------

class _State:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        wake = getattr(self, "wake", None)
        if wake is not None:
            wake.set()  # hung requests of earlier tests answer now instead of lingering
        self.wake = asyncio.Event()
        self.rules: list[dict[str, Any]] = []
        self.latency_s = 0.0
        self.latency_jitter = 0.0
        self.latency_rng = random.Random(0)
        self.reject_json_schema = False
        self.fault_rates: dict[str, float] = {}
        self.fault_seed = 0
        self.fault_rng = random.Random(self.fault_seed)
        self.hang_s = 30.0
        self.retry_after_ms = 50.0
        self.faults: Counter[str] = Counter()
        self.requests = 0
        self.by_status: Counter[int] = Counter()
        self.prompt_tokens = 0
        self.completion_tokens = 0
        # Requests of before the reset (hung ones just woken) no longer count as in flight here.
        self.epoch = getattr(self, "epoch", 0) + 1
        self.in_flight = 0
        self.max_in_flight = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=200)
        self.timeline = _Timeline()

    def started(self) -> None:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.timeline.event(self.in_flight, started=1)

    def finished(self) -> None:
        self.in_flight -= 1
        self.timeline.event(self.in_flight, answered=1)


class _Timeline:
    """When chat requests came and went, in buckets of `BUCKET_S` from the first one after a reset.

    Kept by the server so that a benchmark needs no polling (which costs both sides CPU)
    to time a run: the first request's arrival, the last answer's departure (wall clock,
    `time.time()`), and per bucket the requests started, answered and the most in flight.
    """

    BUCKET_S = 0.1

    def __init__(self) -> None:
        self.first_at: float | None = None
        self.last_answer_at: float | None = None
        self.started: list[int] = []
        self.answered: list[int] = []
        self.peak: list[int] = []

    def event(self, in_flight: int, started: int = 0, answered: int = 0) -> None:
        now = time.time()
        if self.first_at is None:
            self.first_at = now
        i = int((now - self.first_at) / self.BUCKET_S)
        before = in_flight - started + answered
        while len(self.started) <= i:  # buckets without events still hold what was in flight
            self.started.append(0)
            self.answered.append(0)
            self.peak.append(before)
        self.started[i] += started
        self.answered[i] += answered
        self.peak[i] = max(self.peak[i], in_flight)
        if answered:
            self.last_answer_at = now

    def as_json(self) -> dict[str, Any]:
        return {"first_request_at": self.first_at, "last_answer_at": self.last_answer_at, "bucket_s": self.BUCKET_S,
                "started": self.started, "answered": self.answered, "peak_in_flight": self.peak}


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):  # content parts
                return " ".join(p.get("text", "") for p in c if isinstance(p, dict))
            return str(c or "")
    return ""


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    rf = body.get("response_format")
    if not isinstance(rf, dict):
        return None
    if rf.get("type") == "json_schema":
        js = rf.get("json_schema") or {}
        return js.get("schema") if isinstance(js.get("schema"), dict) else {}
    if rf.get("type") == "json_object":
        return rf.get("schema") if isinstance(rf.get("schema"), dict) else {"type": "object"}
    return None


def _check_faults(payload: dict[str, Any]) -> str | None:
    """What is wrong with the fault settings of a configure payload, if anything."""
    rates = payload.get("fault_rates")
    if rates is not None:
        if not isinstance(rates, dict):
            return "'fault_rates' must be an object of kind -> probability"
        unknown = set(rates) - set(FAULT_KINDS)
        if unknown:
            return f"unknown fault kinds {sorted(unknown)}; known: {list(FAULT_KINDS)}"
        for kind, p in rates.items():
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
                return f"fault rate {kind!r} must be a number between 0 and 1, got {p!r}"
        if sum(rates.values()) > 1.0 + 1e-9:
            return f"fault rates sum to {sum(rates.values())}, more than 1"
    seed = payload.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        return f"'seed' must be an integer, got {seed!r}"
    for key in ("hang_s", "retry_after_ms"):
        v = payload.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            return f"{key!r} must be a number >= 0, got {v!r}"
    return None


def _draw_fault(state: _State) -> str | None:
    """One draw from the fault RNG: the kind of fault for this request, or None."""
    if not state.fault_rates:
        return None
    u = state.fault_rng.random()
    edge = 0.0
    for kind in FAULT_KINDS:
        edge += state.fault_rates.get(kind, 0.0)
        if u < edge:
            return kind
    return None


def _check_rule(rule: Any) -> str | None:
    if not isinstance(rule, dict):
        return "a rule must be a JSON object"
    unknown = set(rule) - _RULE_KEYS
    if unknown:
        return f"unknown rule keys {sorted(unknown)}; known: {sorted(_RULE_KEYS)}"
    if "response" in rule and not isinstance(rule["response"], dict):
        return "'response' must be a JSON object"
    if "raw" in rule and not isinstance(rule["raw"], str):
        return "'raw' must be a string"
    if "after" in rule and (not isinstance(rule["after"], int) or rule["after"] < 0):
        return "'after' must be a whole number >= 0"
    return None


def build_app() -> Any:
    """The Starlette app (one `_State` per app)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    state = _State()
    counter = iter(range(1, 1 << 62))

    def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(obj, ensure_ascii=False).encode("utf-8"), status_code=status,
                        headers=headers, media_type="application/json")

    def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        state.by_status[status] += 1
        return _json({"error": {"message": message, "type": "fake_error", "code": status}}, status, headers)

    async def chat(request: Request) -> Response:
        raw_body = await request.body()
        epoch = state.epoch
        state.started()
        try:
            try:
                body = json.loads(raw_body)
                messages = body["messages"]
            except (ValueError, KeyError, TypeError):
                return _error(400, "body must be JSON with 'messages'")
            state.recent.append(body)
            fault = _draw_fault(state)  # drawn for every request: the sequence depends on the order only
            rf = body.get("response_format")
            if state.reject_json_schema and isinstance(rf, dict) and rf.get("type") == "json_schema":
                # What llama-cpp-python's server (0.3.36) answers to OpenAI's structured-output form.
                return _error(500, "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
                                   "'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\", "
                                   "'input': 'json_schema'}")
            rule = None
            last_user = _last_user_text(messages)
            for r in state.rules:
                if r["times_left"] != 0 and (r.get("match") is None or r["match"] in last_user):
                    if r["skip_left"] > 0:  # `after`: let this many matching requests through first
                        r["skip_left"] -= 1
                        continue
                    rule = r
                    r["times_left"] -= 1
                    r["hits"] += 1
                    break
            if rule is not None:
                fault = None  # a scripted answer wins over a fault
            if fault is not None:
                state.faults[fault] += 1
            fault_header = {"x-fake-fault": fault} if fault is not None else None
            if state.latency_s > 0:
                j = state.latency_jitter
                await asyncio.sleep(state.latency_s * (1.0 + state.latency_rng.uniform(-j, j) if j else 1.0))
            if fault == "429":
                ms = state.retry_after_ms
                return _error(429, "fake fault: rate limited", {
                    "retry-after-ms": f"{ms:g}", "Retry-After": f"{ms / 1000:g}", "x-fake-fault": fault})
            if fault == "500":
                return _error(500, "fake fault: internal server error", fault_header)
            if fault == "hang":
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(state.wake.wait(), state.hang_s)
            if rule is not None and rule.get("hang_s"):
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(state.wake.wait(), float(rule["hang_s"]))
            if rule is not None and rule.get("status"):
                status = int(rule["status"])
                headers = {"Retry-After": str(rule["retry_after"])} if rule.get("retry_after") is not None else None
                return _error(status, rule.get("message") or f"scripted HTTP {status}", headers)
            if rule is not None and "raw" in rule:
                content = rule["raw"]
            elif rule is not None and "response" in rule:
                content = json.dumps(rule["response"], ensure_ascii=False)
            else:
                schema = _schema_of(body)
                seed = hashlib.sha256(raw_body).hexdigest()[:32]
                content = (json.dumps(instance(schema, seed), ensure_ascii=False) if schema is not None
                           else _sentence(seed, "$"))
                if fault == "invalid_json":
                    # A reply cut off half way: an object that is never closed is no JSON, not even in part.
                    content = content[: max(len(content) // 2, 1)] if content.startswith("{") \
                        else '{"' + content[: len(content) // 2]
            prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages if isinstance(m, dict)) // 4 + 1
            completion_tokens = len(content) // 4 + 1
            state.prompt_tokens += prompt_tokens
            state.completion_tokens += completion_tokens
            state.by_status[200] += 1
            return _json({
                "id": f"chatcmpl-fake-{next(counter)}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model") or MODEL_ID,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens},
            }, headers=fault_header)
        finally:
            if state.epoch == epoch:
                state.finished()

    async def models(request: Request) -> Response:
        return _json({"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "benchsmith"}]})

    async def add_rules(request: Request) -> Response:
        payload = await request.json()
        rules = payload if isinstance(payload, list) else [payload]
        for rule in rules:
            problem = _check_rule(rule)
            if problem:
                return JSONResponse({"error": problem}, status_code=400)
        for rule in rules:
            times = rule.get("times")
            state.rules.append({**rule, "times_left": -1 if times is None else int(times),
                                "skip_left": int(rule.get("after", 0)), "hits": 0})
        return JSONResponse({"ok": True, "rules": len(state.rules)})

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def configure(request: Request) -> Response:
        payload = await request.json()
        if not isinstance(payload, dict):
            return JSONResponse({"error": "settings must be a JSON object"}, status_code=400)
        unknown = set(payload) - _SETTINGS
        if unknown:
            return JSONResponse({"error": f"unknown settings {sorted(unknown)}; known: {sorted(_SETTINGS)}"},
                                status_code=400)
        problem = _check_faults(payload)
        if problem:
            return JSONResponse({"error": problem}, status_code=400)
        state.latency_s = float(payload.get("latency_s", state.latency_s))
        if payload.get("latency_jitter") is not None:
            jitter = float(payload["latency_jitter"])
            if not 0.0 <= jitter <= 1.0:
                return JSONResponse({"error": "latency_jitter must be between 0 and 1"}, status_code=400)
            state.latency_jitter = jitter
        state.reject_json_schema = bool(payload.get("reject_json_schema", state.reject_json_schema))
        state.hang_s = float(payload.get("hang_s", state.hang_s))
        state.retry_after_ms = float(payload.get("retry_after_ms", state.retry_after_ms))
        if payload.get("fault_rates") is not None:
            state.fault_rates = {k: float(v) for k, v in payload["fault_rates"].items() if v > 0}
        if payload.get("seed") is not None:
            state.fault_seed = int(payload["seed"])
        if payload.get("fault_rates") is not None or payload.get("seed") is not None:
            state.fault_rng = random.Random(state.fault_seed)  # the sequence starts again
        if payload.get("latency_jitter") is not None or payload.get("seed") is not None:
            state.latency_rng = random.Random(state.fault_seed)
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> Response:
        return JSONResponse({
            "requests": state.requests, "by_status": {str(k): v for k, v in state.by_status.items()},
            "prompt_tokens": state.prompt_tokens, "completion_tokens": state.completion_tokens,
            "in_flight": state.in_flight, "max_in_flight": state.max_in_flight, "latency_s": state.latency_s,
            "latency_jitter": state.latency_jitter,
            "rules": [{k: v for k, v in r.items()} for r in state.rules],
            "faults": dict(state.faults), "fault_rates": dict(state.fault_rates), "seed": state.fault_seed,
            "hang_s": state.hang_s, "timeline": state.timeline.as_json(),
        })

    async def recent(request: Request) -> Response:
        return JSONResponse(list(state.recent))

    return Starlette(routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/_fake/rules", add_rules, methods=["POST"]),
        Route("/_fake/reset", reset, methods=["POST"]),
        Route("/_fake/configure", configure, methods=["POST"]),
        Route("/_fake/stats", stats, methods=["GET"]),
        Route("/_fake/requests", recent, methods=["GET"]),
    ])


def serve(host: str, port: int) -> None:
    """Run the server in this process until SIGTERM/SIGINT."""
    import uvicorn

    # uvloop/httptools when installed: the throughput bench needs a fast server.
    # No proxy-header middleware and no Date/Server headers: per-request work the benches don't need.
    uvicorn.run(build_app(), host=host, port=port, log_level="warning", access_log=False, backlog=2048,
                timeout_graceful_shutdown=1, timeout_keep_alive=30, proxy_headers=False, server_header=False,
                date_header=False)


# -- running it from tests -------------------------------------------------------------

class FakeOpenAIServer:
    """The fake server in a subprocess on a free loopback port; a context manager.

    >>> with FakeOpenAIServer() as srv:
    ...     srv.add_rule(match="capital", response={"answer": "Paris"})
    ...     client = LLMClient(base_url=srv.base_url, model=srv.model)
    """

    model = MODEL_ID

    def __init__(self, host: str = "127.0.0.1", *, startup_timeout_s: float = 30.0,
                 log_path: Path | None = None) -> None:
        self.host = host
        self.port: int | None = None
        self.startup_timeout_s = startup_timeout_s
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"benchsmith-fake-openai-{os.getpid()}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._http: httpx.Client | None = None

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (ends in /v1)."""
        return f"{self.root_url}/v1"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> Self:
        """Start the subprocess and wait until it answers."""
        from benchsmith.process import free_port, spawn, stop, wait_until_ready

        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        last_error: Exception | None = None
        for _ in range(3):  # a free port can be taken between our check and the server's bind
            self.port = free_port(self.host)
            self._proc = spawn([sys.executable, "-m", "benchsmith.testing.fake_openai",
                                "--host", self.host, "--port", str(self.port)], log_path=self.log_path, env=env)
            try:
                wait_until_ready(self._proc, f"{self.base_url}/models", timeout_s=self.startup_timeout_s,
                                 what="fake OpenAI server", log_path=self.log_path)
            except RuntimeError as err:
                stop(self._proc)
                last_error = err
                continue
            except BaseException:
                stop(self._proc)
                raise
            self._http = httpx.Client(base_url=self.root_url, timeout=10.0, trust_env=False)
            return self
        raise RuntimeError(str(last_error))

    def stop(self) -> None:
        """Stop the subprocess (idempotent)."""
        from benchsmith.process import stop

        if self._http is not None:
            self._http.close()
            self._http = None
        if self._proc is not None:
            stop(self._proc, grace_s=3.0)
            self._proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        if self._http is None:
            raise RuntimeError("the fake OpenAI server is not running")
        r = self._http.request(method, path, json=payload)
        if r.status_code != 200:
            raise ValueError(f"fake server {path}: HTTP {r.status_code}: {r.text}")
        return r.json()

    def add_rule(self, **rule: Any) -> None:
        """Script answers or faults; see the module docstring for the keys."""
        self._call("POST", "/_fake/rules", rule)

    def reset(self) -> None:
        """Forget rules, counters and settings."""
        self._call("POST", "/_fake/reset")

    def configure(self, **settings: Any) -> None:
        """Set `latency_s` (async delay before every answer) and `latency_jitter` (its spread, a
        share of it), `reject_json_schema` (act like llama.cpp), or random faults: `fault_rates`
        ({'429'|'500'|'hang'|'invalid_json': probability}), `seed`, `hang_s`, `retry_after_ms`
        (see the module docstring)."""
        self._call("POST", "/_fake/configure", settings)

    def stats(self) -> dict[str, Any]:
        """{'requests', 'by_status', 'prompt_tokens', 'completion_tokens', 'max_in_flight', 'rules', 'faults', ...}."""
        return self._call("GET", "/_fake/stats")  # type: ignore[no-any-return]

    def requests(self) -> list[dict[str, Any]]:
        """The bodies of the most recent chat requests (up to 200), oldest first."""
        return self._call("GET", "/_fake/requests")  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server for benchsmith tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
