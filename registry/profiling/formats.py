"""File formats: sniffing the format from name and content, and preparing text (encoding, CSV delimiter)."""

import codecs
import csv
import re
from enum import StrEnum
from pathlib import Path

from registry import encoding as enc
from registry.profiling.model import ProfilingError

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_DELIMITERS = (",", ";", "|", "\t")


class FileFormat(StrEnum):
    CSV = "csv"
    TSV = "tsv"
    PARQUET = "parquet"
    JSONL = "jsonl"


# --- format sniffing -----------------------------------------------------------------------------------------------


def sniff_format(path: str | Path, declared_name: str) -> FileFormat:
    """The file's format from the extension of `declared_name` and the first bytes of its content.

    Parquet is recognised by its `PAR1` magic, and must agree with the name; text that is binary (NUL bytes, known
    binary magic numbers, many control bytes in the first 64 KiB) is rejected with code `binary_content`. A name
    without a known extension is judged by its content alone.
    """
    head = enc.read_head(path, enc.BINARY_SNIFF_BYTES)
    if not _text_head(head).strip(b" \t\r\n"):
        raise ProfilingError("empty", "the file is empty")
    by_name = _EXTENSIONS.get(Path(declared_name).suffix.lower())
    if head.startswith(b"PAR1"):
        if by_name not in (None, "parquet"):
            raise ProfilingError("format_mismatch", f"{declared_name} holds Parquet data")
        return FileFormat.PARQUET
    if by_name == "parquet":
        raise ProfilingError("format_mismatch", f"{declared_name} is not a Parquet file (no PAR1 magic)")
    if enc.looks_binary(head):
        raise ProfilingError("binary_content", f"{declared_name} holds binary data, not text")
    first = _first_text_byte(head)
    if by_name == "jsonl" or (by_name is None and first == b"{"):
        if first != b"{":
            raise ProfilingError("unsupported_format", "JSON files must hold one JSON object per line")
        return FileFormat.JSONL
    if by_name is None and _first_line(head).count(b"\t") > _first_line(head).count(b","):
        return FileFormat.TSV
    return FileFormat(by_name or "csv")


def _text_head(head: bytes) -> bytes:
    """The first bytes as UTF-8 for sniffing: a UTF-8 BOM dropped, UTF-16/32 with a BOM decoded (a cut-off last
    character ignored). Other encodings are told apart later, when the text is prepared."""
    encoding = enc.bom_encoding(head)
    if encoding not in (None, enc.UTF8_BOM):
        return head.decode(encoding, errors="ignore").encode(enc.UTF8)
    return head.removeprefix(codecs.BOM_UTF8)


def _first_text_byte(head: bytes) -> bytes:
    return _text_head(head).lstrip()[:1]


def _first_line(head: bytes) -> bytes:
    return _text_head(head).split(b"\n", 1)[0]


# --- text preparation and the CSV dialect --------------------------------------------------------------------------


def _prepare_text(path: Path, file_format: FileFormat, private: Path, chunk_bytes: int):
    """(path DuckDB reads, detected encoding, CSV delimiter): transcodes to UTF-8 in `private` when needed."""
    if file_format is FileFormat.PARQUET:
        return path, None, None
    try:
        encoding = enc.detect_encoding(path)
        source = path
        # DuckDB's JSON reader rejects a BOM, its CSV reader skips it.
        if enc.needs_transcoding(encoding) or (file_format is FileFormat.JSONL and encoding == enc.UTF8_BOM):
            source = private / "utf8-copy"
            enc.transcode_to_utf8(path, source, encoding, chunk_bytes=chunk_bytes)
    except enc.UndecodableError as exc:
        raise ProfilingError("encoding", str(exc)) from exc
    if file_format is FileFormat.JSONL:
        return source, encoding, None
    if file_format is FileFormat.TSV:
        return source, encoding, "\t"
    return source, encoding, detect_delimiter(source)


def detect_delimiter(source: Path) -> str:
    """The candidate (, ; | tab) that occurs most often, outside quotes, in the header line; ',' if none does."""
    line = _first_line(enc.read_head(source, enc.BINARY_SNIFF_BYTES)).decode(enc.UTF8, errors="replace")
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = {delimiter: unquoted.count(delimiter) for delimiter in _DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def _read_header(source: Path, delimiter: str) -> list[str]:
    line = _first_line(enc.read_head(source, enc.BINARY_SNIFF_BYTES)).decode(enc.UTF8, errors="replace")
    return next(csv.reader([line.removeprefix("\ufeff").rstrip("\r")], delimiter=delimiter), [])
