"""What every format converter shares: the result shape, the skip signal, a text builder
that records headings and pages as offsets, and small helpers for bytes, encodings and dates.

A converter turns one file into a `Converted` (text plus structure) or raises `SkipFile`
with a short reason code; the folder walker (folder.py) adds provenance (path, hash, date
fallback) and turns it into a `benchsmith.documents.Document`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from benchsmith.documents import PageSpan, Section
from benchsmith.errors import BenchsmithError


class IngestError(BenchsmithError):
    """A documents folder that cannot be ingested at all (missing, empty, nothing matches the globs)."""


class SkipFile(Exception):
    """Raised by a converter for a file that yields no document; `reason` is a SkippedDocument code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Converted:
    """A converter's output: text with structure, before provenance is attached."""

    text: str
    title: str | None = None
    declared_date: date | None = None
    date_field: str | None = None  # which declared field the date came from, for the metadata
    pages: list[PageSpan] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


# --- building text with structure -------------------------------------------------------------

_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    """Collapse every run of whitespace to one space and trim (inline text, headings)."""
    return _WS.sub(" ", text).strip()


class TextBuilder:
    """Appends blocks of text and records where headings start, so offsets are right by construction.

    Paragraphs are separated by a blank line; consecutive `line`s of one group (a list's items, a
    table's rows) by a single newline; a heading is always a line of its own.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._len = 0
        self._group: str | None = None  # the group of the last line; None after a paragraph or heading
        self._headings: list[tuple[int, int, str]] = []  # (start, level, heading)

    @property
    def length(self) -> int:
        return self._len

    def _append(self, text: str, group: str | None) -> int:
        if self._len:
            sep = "\n" if (group is not None and group == self._group) else "\n\n"
            self._parts.append(sep)
            self._len += len(sep)
        start = self._len
        self._parts.append(text)
        self._len += len(text)
        self._group = group
        return start

    def heading(self, text: str, level: int) -> None:
        """A heading line; it opens a section that runs to the next heading of the same or a higher level."""
        text = squash(text)
        if not text:
            return
        start = self._append(text, None)
        self._headings.append((start, max(1, min(9, level)), text))

    def paragraph(self, text: str) -> None:
        """A block separated from its neighbours by a blank line (empty text is ignored)."""
        text = text.strip()
        if text:
            self._append(text, None)

    def line(self, text: str, group: str = "list") -> None:
        """A line directly under the previous line of the same group (list items, one table's rows);
        a new group starts after a blank line."""
        text = text.strip()
        if text:
            self._append(text, group)

    def build(self) -> tuple[str, list[Section]]:
        """The joined text and its sections (ends filled in)."""
        text = "".join(self._parts)
        return text, close_sections(self._headings, len(text))


def close_sections(headings: list[tuple[int, int, str]], text_len: int) -> list[Section]:
    """Sections from (start, level, heading) triples: each ends where the next heading of the same
    or a higher level (smaller number) starts, or at the end of the text."""
    ordered = sorted(headings, key=lambda h: h[0])
    out: list[Section] = []
    for i, (start, level, heading) in enumerate(ordered):
        end = text_len
        for later_start, later_level, _ in ordered[i + 1:]:
            if later_level <= level:
                end = later_start
                break
        out.append(Section(heading=heading, level=level, start=start, end=end))
    return out


# --- bytes ------------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# C0 controls other than tab, newline, carriage return, form feed and escape: rare in real text.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark declares, if the data starts with one."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc
    return None


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file look like binary data rather than text.

    A NUL byte (outside UTF-16/32 text, which carries a BOM) or more than 5 % control
    characters: text files of any 8-bit or UTF-8 encoding have neither.
    """
    if not head or bom_encoding(head) in ("utf-16", "utf-32"):
        return False
    if b"\x00" in head:
        return True
    return len(_CONTROL.findall(head)) > 0.05 * len(head)


def describe_head(head: bytes) -> str:
    """The first bytes, printable, for a skip detail ('starts with 89 50 4e 47 ...')."""
    return "starts with " + " ".join(f"{b:02x}" for b in head[:8])


# Encodings that decode the same Western-European bytes; charset detection often names one of the
# Central-European siblings (cp1250) for French or German text where cp1252 is the real one.
_WESTERN = ("cp1252", "latin_1", "iso8859_15")


def decode_text(data: bytes) -> tuple[str, str, bool]:
    """Decode text bytes: (text, encoding, was_utf8).

    UTF-8 (or a BOM's encoding) first; else the encoding charset-normalizer detects, preferring
    cp1252 when it decodes the bytes just as well (the usual case for Western text); else strict
    cp1252. Raises SkipFile('not_utf8') when nothing decodes the bytes.
    """
    bom = bom_encoding(data)
    if bom:
        try:
            return data.decode(bom), bom, bom == "utf-8-sig"
        except UnicodeDecodeError as err:
            raise SkipFile("not_utf8", f"has a {bom} byte-order mark but does not decode as {bom}: {err.reason} "
                                       f"at byte {err.start}") from None
    try:
        return data.decode("utf-8"), "utf-8", True
    except UnicodeDecodeError as err:
        utf8_error = f"{err.reason} at byte {err.start}"
    from charset_normalizer import from_bytes  # late: only non-UTF-8 files need it

    matches = list(from_bytes(data))
    if matches:
        best = matches[0]
        for m in matches:
            if m.chaos <= best.chaos + 0.01 and any(w in m.could_be_from_charset for w in _WESTERN):
                try:
                    return data.decode("cp1252"), "cp1252", False
                except UnicodeDecodeError:
                    break
        return str(best), best.encoding, False
    try:
        return data.decode("cp1252"), "cp1252", False
    except UnicodeDecodeError:
        raise SkipFile("not_utf8", f"not UTF-8 ({utf8_error}) and no other text encoding fits the bytes") from None


_CTRL_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffe\uffff]")


def normalise_newlines(text: str) -> str:
    """CRLF/CR to LF, form feeds to blank lines, stray control characters removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    return _CTRL_TEXT.sub("", text)


# --- dates ------------------------------------------------------------------------------------

_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")


def parse_date(value: Any) -> date | None:
    """A date from a declared value: date/datetime objects, ISO 8601, PDF 'D:YYYYMMDD...' or RFC 2822.

    Returns None for anything unparseable or implausible (before 1900), so a bad declared date
    falls back to the file's modified date instead of failing the file.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        d = value.date()
    elif isinstance(value, date):
        d = value
    else:
        s = str(value).strip()
        if not s:
            return None
        d = None
        try:
            d = datetime.fromisoformat(s).date()
        except ValueError:
            pass
        if d is None:
            m = _PDF_DATE.match(s)
            if m and (s.startswith("D:") or len(s) >= 8):
                try:
                    d = date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
                except ValueError:
                    d = None
        if d is None:
            try:
                d = parsedate_to_datetime(s).date()
            except (TypeError, ValueError, IndexError):
                d = None
        if d is None:
            try:
                d = date.fromisoformat(s[:10])
            except ValueError:
                return None
    assert d is not None  # every branch above set a date or returned
    return d if d.year >= 1900 else None


def mtime_date(timestamp: float) -> date:
    """A file's modified time as a UTC date (UTC so the result does not depend on the machine's zone)."""
    return datetime.fromtimestamp(timestamp, tz=UTC).date()
