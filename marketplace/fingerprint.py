"""Per-contract fingerprints in delivered files, and tracing a leaked copy back to the contract it was delivered under.

Marking
    Every record of a text file (the header too: it is just one more record) carries one bit, the low bit of a MAC
    of its canonical content under the contract key (keyed BLAKE2b). The contract key is HMAC-SHA256(master key,
    "contract:" + contract number); the master key is MARKETPLACE_FINGERPRINT_KEY, or derived from SECRET_KEY when
    that is empty (keep either stable: with another key no earlier copy can be traced). The canonical content is the
    record's values only — CSV/TSV: its fields after unquoting, joined by U+001F; JSON Lines: the line without the
    whitespace outside strings — so the bit depends on what the record says, never on the mark itself, on its
    position or on the file's encoding. The bit is written without changing any value:

    - CSV/TSV: fields are written with minimal quoting (the delimiter, quotes and line breaks force quotes; a quoted
      empty field stays `""`, which PostgreSQL's COPY reads as '' where an empty one is NULL), except the *carrier*,
      the first non-empty field that needs no quotes, which is quoted when the bit is 1. A record with no such field
      (all empty, or all needing quotes) carries no bit.
    - JSON Lines: bit 0 is written with no whitespace outside strings (`{"a":1,"b":2}`), bit 1 with one space after
      every `:` and `,` (`{"a": 1, "b": 2}`). `{}` carries no bit.
    - Parquet is delivered as Parquet, not as CSV: a buyer who paid for a typed, columnar file gets one. DuckDB
      re-writes it with two key-value metadata entries, the contract's fingerprint id and a keyed tag (so a copied
      label cannot be forged for another contract). Values and types are kept; the original file's own key-value
      metadata and row-group layout are not.

    Text keeps its encoding (a GBK file is delivered in GBK, with a byte-order mark if it had one): the exchange
    delivers what the merchant registered, and the bit is computed on the decoded text, so a copy re-encoded to UTF-8
    still traces. Line endings follow the file's first line. Files are read and written record by record.

Tracing
    For each candidate contract: n, the distinct marked records of the leaked copy (records are de-duplicated first,
    identical records carry identical bits), and k, those whose mark equals the contract's bit. The source contract
    matches ~100 %, every other one ~50 % (its bits are coin flips independent of the marks). Confidence is the
    binomial z-score z = (k - n/2) / sqrt(n/4); a contract is named only at z >= MIN_Z = 5, which a contract that
    did not deliver the file reaches with odds below 1 in 3 million (so tens of thousands of candidates still leave
    a false naming unlikely). A copy mixed from two contracts' files names both. At most MAX_TRACE_RECORDS records
    are read. A copy whose records all carry the same mark has been re-formatted (re-exported): it is not traced.

What survives, what does not
    Survives: shuffled records; a dropped header; dropped records (25 distinct records matching 100 % reach z = 5;
    a few hundred give z > 15); added foreign records (they dilute the share, the z-score of the source stays high);
    re-encoding (GBK, GB18030, UTF-8, a BOM added or removed); LF <-> CRLF; any tool that moves lines without
    re-formatting them (sort, grep, head, split, cat, most editors).
    Does not survive: re-export through a spreadsheet, pandas, a database or `jq`, which re-quote or re-space every
    record; edited values (that record's bit becomes noise; the rest still count); dropped, added or reordered
    columns (the content of every record changes); Parquet re-written by any tool (the metadata is dropped) or
    converted to CSV. TSV: the exchange (DuckDB, Python's csv, pandas) reads quotes in TSV, but strict IANA TSV has
    no quoting, so a tool that only splits on tabs sees the carrier's quotes as part of its value.
"""

import codecs
import csv
import functools
import hashlib
import hmac
import io
import math
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from registry import encoding as enc
from registry.profiling.dataset import connect
from registry.profiling.formats import FileFormat, detect_delimiter, sniff_format
from registry.profiling.sql import sql_literal

SCHEME = "fp1"
MIN_Z = 5.0
MAX_TRACE_RECORDS = 20_000
# A quoted value still open after this many characters is malformed: the text is taken as it stands.
MAX_RECORD_CHARS = 1024 * 1024
CHUNK_CHARS = 64 * 1024
PARQUET_ID_KEY = "databourse.fingerprint"
PARQUET_TAG_KEY = "databourse.fingerprint_tag"
DUCKDB_MEMORY = "512MB"

_SEPARATOR = "\x1f"
# The csv module refuses fields over 128 KiB by default; DuckDB, which accepted the file, reads lines up to 2 MB.
csv.field_size_limit(max(csv.field_size_limit(), 4 * 1024 * 1024))
# Possessive: a quote that only looks closed because it is the first half of a doubled "" must not end the value.
_QUOTED = re.compile(r'"((?:[^"]++|"")*+)"')
_JSON_STRING = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")')
_JSON_SPACE = re.compile(r"[ \t\r\n]+")


# --- keys ----------------------------------------------------------------------------------------------------------


def master_key() -> bytes:
    """MARKETPLACE_FINGERPRINT_KEY, or a key derived from SECRET_KEY for this purpose only."""
    configured = settings.MARKETPLACE_FINGERPRINT_KEY
    if configured:
        return configured.encode()
    return hmac.digest(settings.SECRET_KEY.encode(), b"databourse.marketplace.fingerprint", "sha256")


def contract_key(number: str) -> bytes:
    """The key whose bits mark every file delivered under the contract."""
    return hmac.digest(master_key(), b"contract:" + number.encode(), "sha256")


def fingerprint_id(number: str) -> str:
    """The public name of a contract's fingerprint (stored with each download); reveals neither key nor contract."""
    return f"{SCHEME}-{hmac.new(master_key(), b'id:' + number.encode(), 'sha256').hexdigest()[:32]}"


def parquet_tag(number: str) -> str:
    """The keyed tag a Parquet delivery carries next to its fingerprint id."""
    return hmac.new(contract_key(number), b"parquet", "sha256").hexdigest()[:32]


def record_bit(key: bytes, content: bytes) -> int:
    """The bit a record with this canonical content carries under `key`: keyed BLAKE2b, a MAC like HMAC-SHA256 and
    about three times faster on short records (which matters at tens of millions of records per file)."""
    return hashlib.blake2b(content, key=key, digest_size=8).digest()[-1] & 1


# --- marking text --------------------------------------------------------------------------------------------------


def mark_text(
    stream: BinaryIO, *, file_format: str, encoding: str | None, key: bytes, delimiter: str | None = None
) -> Iterator[bytes]:
    """The marked file, in the source's own encoding, as chunks of about CHUNK_CHARS characters."""
    codec = enc.decoding_codec(encoding or enc.UTF8)
    text = io.TextIOWrapper(stream, encoding=codec, newline="")
    if file_format == FileFormat.JSONL:
        lines = (_mark_json_line(line, key) for line in text)
    else:
        lines = _mark_delimited(text, key, delimiter or ("\t" if file_format == FileFormat.TSV else ","))
    encoder = codecs.getincrementalencoder(codec)()
    buffer: list[str] = []
    size = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= CHUNK_CHARS:
            yield encoder.encode("".join(buffer))
            buffer, size = [], 0
    tail = encoder.encode("".join(buffer), final=True)
    if tail:
        yield tail


def _split_newline(line: str) -> tuple[str, str]:
    if line.endswith("\n"):
        return (line[:-2], "\r\n") if line.endswith("\r\n") else (line[:-1], "\n")
    return (line[:-1], "\r") if line.endswith("\r") else (line, "")


class _Lines:
    """The lines a csv.reader pulls, kept until taken: the raw text of the record it just returned."""

    def __init__(self, text: Iterable[str]) -> None:
        self.text, self.raw = iter(text), []

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = next(self.text)
        self.raw.append(line)
        return line

    def take(self) -> str:
        raw, self.raw = "".join(self.raw), []
        return raw


def _mark_delimited(text: Iterable[str], key: bytes, delimiter: str) -> Iterator[str]:
    """Python's csv module (C) splits the records; only a record with quotes and empty values is split again by
    `_fields`, to learn which empty values were quoted (and keep them so)."""
    lines, newline = _Lines(text), None
    for values in csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True):
        raw = lines.take()
        newline = newline or _split_newline(raw)[1] or "\n"
        if '"' not in raw:
            yield _format_plain(values, key, delimiter) + newline
            continue
        fields = _fields(_split_newline(raw)[0], delimiter) if "" in values else None
        empties = fields[1] if fields is not None and len(fields[0]) == len(values) else None
        yield _format_quoted(values, empties, key, delimiter) + newline


# `quoted` is None for a record without any quote character (most records): then no value needs quotes either.
Fields = tuple[list[str], list[bool] | None]


def _records(text: Iterable[str], delimiter: str) -> Iterator[tuple[list[str], list[bool] | None, str]]:
    """(values, which were quoted, line ending) of each record; a quoted value may span lines."""
    pending = ""
    for line in text:
        raw = pending + line if pending else line
        body, end = _split_newline(raw)
        fields = _fields(body, delimiter)
        if fields is None and len(raw) < MAX_RECORD_CHARS:  # a quoted value goes on on the next line
            pending = raw
            continue
        pending = ""
        values, quoted = fields or (body.split(delimiter), None)
        yield values, quoted, end
    if pending:  # an unterminated quote at the end of the file: the text as it stands
        body, end = _split_newline(pending)
        yield body.split(delimiter), None, end


def _fields(body: str, delimiter: str) -> Fields | None:
    """Split one record (RFC 4180 quoting); None when a quoted value is still open at its end."""
    if '"' not in body:
        return body.split(delimiter), None
    values, quoted, pos, size = [], [], 0, len(body)
    while True:
        opens = body.startswith('"', pos)
        match = _QUOTED.match(body, pos) if opens else None
        if opens and match is None:
            return None
        stop = body.find(delimiter, match.end() if match else pos)
        stop = size if stop < 0 else stop
        whole = match is not None and match.end() == stop
        # A field with text after its closing quote is not RFC 4180: it is taken as it stands.
        values.append(match[1].replace('""', '"') if whole else body[pos:stop])
        quoted.append(whole)
        if stop >= size:
            return values, quoted
        pos = stop + len(delimiter)


def _needs_quotes(value: str, delimiter: str) -> bool:
    return delimiter in value or '"' in value or "\n" in value or "\r" in value


def _carrier(values: list[str], quoted: list[bool] | None, delimiter: str) -> int | None:
    """The field that carries the bit: the first non-empty one that needs no quotes."""
    if not values:
        return None
    if quoted is None:
        return 0 if values[0] else next((i for i, value in enumerate(values) if value), None)
    return next((i for i, value in enumerate(values) if value and not _needs_quotes(value, delimiter)), None)


def _delimited_content(values: list[str]) -> bytes:
    return _SEPARATOR.join(values).encode()


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _format_plain(values: list[str], key: bytes, delimiter: str) -> str:
    """A record written without any quote: no value needs one, the carrier may get one."""
    carrier = _carrier(values, None, delimiter)
    if carrier is not None and record_bit(key, _delimited_content(values)):
        values[carrier] = '"' + values[carrier] + '"'
    return delimiter.join(values)


def _format_quoted(values: list[str], quoted: list[bool] | None, key: bytes, delimiter: str) -> str:
    """Minimal quoting, the carrier quoted for a 1, and the empty values that were quoted (`quoted`) kept so."""
    special = _special_characters(delimiter)
    out = [_quote(value) if special.search(value) else value for value in values]
    carrier = next((i for i, value in enumerate(values) if value and out[i] is value), None)
    if carrier is not None and record_bit(key, _delimited_content(values)):
        out[carrier] = _quote(values[carrier])
    if quoted is not None:
        kept = zip(values, quoted, out, strict=True)
        out = ['""' if was_quoted and not value else text for value, was_quoted, text in kept]
    return delimiter.join(out)


@functools.cache
def _special_characters(delimiter: str) -> re.Pattern:
    """What forces quotes on a value (see `_needs_quotes`)."""
    return re.compile(f'[{re.escape(delimiter)}"\r\n]')


def _json_parts(body: str) -> list[str]:
    """The line split into text outside strings (even indexes, whitespace removed) and strings (odd indexes)."""
    parts = _JSON_STRING.split(body)
    parts[::2] = [_JSON_SPACE.sub("", part) for part in parts[::2]]
    return parts


def _mark_json_line(line: str, key: bytes) -> str:
    body, end = _split_newline(line)
    if not body.strip():
        return line
    parts = _json_parts(body)
    if record_bit(key, "".join(parts).encode()) == 1:
        parts[::2] = [part.replace(":", ": ").replace(",", ", ") for part in parts[::2]]
    return "".join(parts) + (end or "\n")


# --- marking Parquet -----------------------------------------------------------------------------------------------


def mark_parquet(source: Path, target: Path, *, number: str) -> None:
    """Re-write a Parquet file with the contract's fingerprint id and tag in its key-value metadata (DuckDB)."""
    private = Path(tempfile.mkdtemp(prefix="databourse-mark-", dir=target.parent))
    connection = connect(source, private, DUCKDB_MEMORY)
    try:
        out = private / "marked.parquet"
        metadata = f"{sql_literal(PARQUET_ID_KEY)}: {sql_literal(fingerprint_id(number))}, "
        metadata += f"{sql_literal(PARQUET_TAG_KEY)}: {sql_literal(parquet_tag(number))}"
        # Every value in this SQL goes through sql_literal().
        copy = f"COPY (SELECT * FROM read_parquet({sql_literal(str(source))})) TO {sql_literal(str(out))} "  # noqa: S608
        connection.execute(copy + f"(FORMAT parquet, KV_METADATA {{{metadata}}})")
        out.replace(target)
    finally:
        connection.close()
        shutil.rmtree(private, ignore_errors=True)


def _parquet_metadata(path: Path) -> dict[str, str]:
    private = Path(tempfile.mkdtemp(prefix="databourse-trace-"))
    connection = connect(path, private, DUCKDB_MEMORY)
    try:
        sql = f"SELECT key, value FROM parquet_kv_metadata({sql_literal(str(path))})"  # noqa: S608
        rows = connection.execute(sql).fetchall()
    finally:
        connection.close()
        shutil.rmtree(private, ignore_errors=True)
    return {bytes(k).decode(errors="replace"): bytes(v).decode(errors="replace") for k, v in rows}


# --- reading the marks of a leaked copy ----------------------------------------------------------------------------


@dataclass
class Marks:
    """What a (leaked) file carries: the (content, bit) of its distinct marked records, or Parquet metadata."""

    file_format: str
    records: list[tuple[bytes, int]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def uniform(self) -> bool:
        """Every record marked alike: the copy was re-formatted (or is too short to tell)."""
        return len({bit for _, bit in self.records}) < 2


def read_marks(path: Path, *, limit: int = MAX_TRACE_RECORDS) -> Marks:
    """Sniff the file's format and encoding and read the marks of up to `limit` distinct records."""
    file_format = sniff_format(path, path.name)
    if file_format is FileFormat.PARQUET:
        return Marks(file_format, metadata=_parquet_metadata(path))
    codec = enc.decoding_codec(enc.detect_encoding(path))
    with open(path, encoding=codec, newline="") as text:
        if file_format is FileFormat.JSONL:
            observed = (_json_mark(line) for line in text)
        else:
            delimiter = "\t" if file_format is FileFormat.TSV else detect_delimiter(path)
            observed = (_delimited_mark(values, quoted, delimiter) for values, quoted, _ in _records(text, delimiter))
        return Marks(file_format, records=_distinct(observed, limit))


def _delimited_mark(values: list[str], quoted: list[bool] | None, delimiter: str) -> tuple[bytes, int] | None:
    carrier = _carrier(values, quoted, delimiter)
    if carrier is None:
        return None
    return _delimited_content(values), int(quoted is not None and quoted[carrier])


def _json_mark(line: str) -> tuple[bytes, int] | None:
    body, _ = _split_newline(line)
    raw = _JSON_STRING.split(body)
    parts = _json_parts(body)
    if not any(":" in part or "," in part for part in parts[::2]):
        return None
    return "".join(parts).encode(), int(any(" " in part for part in raw[::2]))


def _distinct(observed: Iterable[tuple[bytes, int] | None], limit: int) -> list[tuple[bytes, int]]:
    seen: dict[bytes, int] = {}
    for item in observed:
        if item is not None and item[0] not in seen:
            seen[item[0]] = item[1]
            if len(seen) >= limit:
                break
    return list(seen.items())


# --- scoring candidates --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """How well one contract's key explains a file's marks."""

    number: str
    records: int
    matches: int
    method: str = "records"

    @property
    def share(self) -> float:
        return self.matches / self.records if self.records else 0.0

    @property
    def z(self) -> float:
        """Binomial z-score against chance (p = 1/2); infinite for a verified Parquet tag."""
        if self.method == "metadata":
            return math.inf if self.matches else 0.0
        if not self.records:
            return 0.0
        return (self.matches - self.records / 2) / math.sqrt(self.records / 4)

    @property
    def named(self) -> bool:
        return self.z >= MIN_Z


def score(marks: Marks, numbers: Iterable[str]) -> list[Match]:
    """Each candidate contract's match against the marks, best first."""
    results = [_score_one(marks, number) for number in numbers]
    return sorted(results, key=lambda match: (-match.z, -match.share, match.number))


def _score_one(marks: Marks, number: str) -> Match:
    if marks.file_format == FileFormat.PARQUET:
        found = marks.metadata.get(PARQUET_ID_KEY) == fingerprint_id(number)
        verified = found and hmac.compare_digest(marks.metadata.get(PARQUET_TAG_KEY, ""), parquet_tag(number))
        return Match(number, 1, int(verified), method="metadata")
    if marks.uniform:
        return Match(number, len(marks.records), 0)
    key = contract_key(number)
    matches = sum(1 for content, bit in marks.records if record_bit(key, content) == bit)
    return Match(number, len(marks.records), matches)
