"""Plain text files: decoded (UTF-8, else a detected encoding recorded in the metadata), newlines
normalised, no structure beyond paragraphs. The title is a short first line, if the file has one."""

from __future__ import annotations

from pathlib import Path

from benchsmith.ingest.base import (
    Converted,
    SkipFile,
    decode_text,
    describe_head,
    looks_binary,
    normalise_newlines,
)

_MAX_TITLE = 100


def _first_line_title(text: str) -> str | None:
    """A first line short enough to be a title and not a sentence ('Travel Policy', not 'We pay...')."""
    first = text.split("\n", 1)[0].strip()
    if 0 < len(first) <= _MAX_TITLE and not first.endswith((".", ",", ";", ":")):
        return first
    return None


def convert_text(path: Path) -> Converted:
    """Read a plain text file."""
    data = path.read_bytes()
    if looks_binary(data[:8192]):
        raise SkipFile("binary", f"binary data, not text ({describe_head(data)})")
    raw, encoding, was_utf8 = decode_text(data)
    text = normalise_newlines(raw).strip()
    if not text:
        raise SkipFile("no_text", "the file holds only whitespace")
    metadata: dict[str, object] = {}
    if not was_utf8:
        metadata["encoding"] = encoding
    return Converted(text=text, title=_first_line_title(text), metadata=metadata)
