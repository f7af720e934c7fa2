"""Text-encoding handling for uploaded data files: binary detection, encoding detection and streaming transcoding.

DuckDB reads UTF-8 (and UTF-16 / Latin-1) natively; every other encoding needs its `encodings` extension, which
cannot be downloaded here. So non-UTF-8 text is transcoded to a UTF-8 temporary file first, chunk by chunk, with an
incremental decoder so that a multibyte character split across two chunks is decoded whole. Nothing here reads a
whole file into memory.
"""

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

BINARY_SNIFF_BYTES = 64 * 1024
ENCODING_SAMPLE_BYTES = 4 * 1024 * 1024
TRANSCODE_CHUNK_BYTES = 1024 * 1024
# Above this share of control bytes in the first 64 KiB a file is not text, even without NUL bytes.
MAX_CONTROL_BYTE_SHARE = 0.05

UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"
GBK = "gbk"
GB18030 = "gb18030"

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, UTF8_BOM),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Bytes that never occur in text files: C0 controls other than \t \n \v \f \r, ESC excepted, plus DEL.
_CONTROL_BYTES = frozenset(range(0x00, 0x09)) | (frozenset(range(0x0E, 0x20)) - {0x1B}) | {0x7F}
_BINARY_MAGIC = (
    b"PK\x03\x04",
    b"%PDF",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"\x1f\x8b",
    b"SQLite format 3",
    b"\xd0\xcf\x11\xe0",
)


class UndecodableError(ValueError):
    """The bytes are not text in any encoding we accept; `offset` is the first bad byte when known."""

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


def read_head(path: str | Path, size: int) -> bytes:
    """The first `size` bytes of a file."""
    with open(path, "rb") as handle:
        return handle.read(size)


def bom_encoding(head: bytes) -> str | None:
    """The encoding a byte-order mark announces, if the data starts with one."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


def looks_binary(head: bytes) -> bool:
    """True when the first bytes of a file are not text: a known binary magic number, NUL bytes or many controls.

    UTF-16/32 text holds NUL bytes, so a file that starts with their byte-order mark is text.
    """
    if not head or bom_encoding(head) not in (None, UTF8_BOM):
        return False
    if head.startswith(_BINARY_MAGIC) or b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte in _CONTROL_BYTES)
    return controls / len(head) > MAX_CONTROL_BYTE_SHARE


def detect_encoding(path: str | Path, *, sample_bytes: int = ENCODING_SAMPLE_BYTES) -> str:
    """The Python codec name of a text file's encoding, judged on its first `sample_bytes`.

    Order: a byte-order mark; strict UTF-8; GBK, then GB18030 (its superset, which adds four-byte sequences), unless
    the decoded text is full of Private Use Area characters (the sign of Big5 or Shift_JIS read as GBK); then
    charset_normalizer's best guess. The sample may end inside a multibyte character, so it is decoded as a stream
    that is not final. Raises UndecodableError when nothing fits.
    """
    sample = read_head(path, sample_bytes)
    if (encoding := bom_encoding(sample)) is not None:
        return encoding
    if _decodes(sample, UTF8):
        return UTF8
    for encoding in (GBK, GB18030):
        if (text := _decoded(sample, encoding)) is not None and not _has_private_use(text):
            return encoding
    guess = from_bytes(sample).best()
    if guess is None:
        raise UndecodableError("the file is not text in UTF-8, GBK/GB18030 or another recognisable encoding")
    return guess.encoding


def needs_transcoding(encoding: str) -> bool:
    """DuckDB reads UTF-8 with or without a BOM itself; everything else is converted first."""
    return encoding not in (UTF8, UTF8_BOM)


def decoding_codec(encoding: str) -> str:
    """The codec used to decode a detected encoding: GBK text is decoded as GB18030, its strict superset."""
    return GB18030 if encoding == GBK else encoding


def transcode_to_utf8(
    source: str | Path, target: str | Path, encoding: str, *, chunk_bytes: int = TRANSCODE_CHUNK_BYTES
) -> int:
    """Stream `source` in `encoding` into `target` as UTF-8 (no BOM); return the bytes written.

    Reads `chunk_bytes` at a time; the incremental decoder keeps the head of a multibyte character that a chunk
    boundary cuts and finishes it with the next chunk. A BOM in the source is dropped. Raises UndecodableError with
    the absolute offset of the first undecodable byte.
    """
    decoder = codecs.getincrementaldecoder(decoding_codec(encoding))(errors="strict")
    offset = written = 0
    with open(source, "rb") as src, open(target, "wb") as dst:
        while True:
            chunk = src.read(chunk_bytes)
            final = not chunk
            pending = _pending(decoder)
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                bad = max(offset - pending + exc.start, 0)
                raise UndecodableError(f"byte {bad} is not valid {encoding}", offset=bad) from exc
            if offset == 0 and text.startswith("\ufeff"):
                text = text[1:]
            written += dst.write(text.encode(UTF8))
            offset += len(chunk)
            if final:
                return written


def _decoded(sample: bytes, encoding: str) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return None


def _decodes(sample: bytes, encoding: str) -> bool:
    return _decoded(sample, encoding) is not None


def _has_private_use(text: str) -> bool:
    """GBK's user-defined areas decode to the Private Use Area; real text hardly ever uses them, while other
    double-byte encodings read as GBK (Big5, Shift_JIS) land there all the time."""
    return sum(1 for char in text if "\ue000" <= char <= "\uf8ff") > max(1, len(text) // 1000)


def _pending(decoder: codecs.IncrementalDecoder) -> int:
    """How many bytes of an unfinished character the decoder carried over from the previous chunk."""
    state = decoder.getstate()
    return len(state[0]) if isinstance(state, tuple) and isinstance(state[0], bytes) else 0
