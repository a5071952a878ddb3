"""Schema adjustments for servers that constrain output with a grammar (llama.cpp).

llama-cpp-python turns a JSON schema into a GBNF grammar but ignores `minimum` and
`maximum` on integers (a TODO in its converter), so a small model asked for a score of
1-5 happily writes 10, and the answer fails validation. Small integer ranges are sent as
an `enum`, which the grammar does enforce. Only what is *sent* changes: answers are
still validated against the original schema.
"""

from __future__ import annotations

from typing import Any

MAX_ENUM_SPAN = 50
"""Integer ranges up to this many values become an enum; wider ones are left alone."""


def grammar_friendly(schema: Any) -> Any:
    """A copy of `schema` with bounded small integer ranges spelled out as enums."""
    if isinstance(schema, list):
        return [grammar_friendly(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: grammar_friendly(v) for k, v in schema.items()}
    lo, hi = out.get("minimum"), out.get("maximum")
    if (out.get("type") == "integer" and "enum" not in out and isinstance(lo, int) and isinstance(hi, int)
            and 0 <= hi - lo < MAX_ENUM_SPAN):
        out["enum"] = list(range(lo, hi + 1))
    return out
