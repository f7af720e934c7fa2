"""Text-encoding handling for uploaded data files: binary detection, encoding detection and streaming transcoding.

Accepted text: UTF-8 (with or without a byte-order mark), GBK and GB18030, and UTF-16 with a byte-order mark (what
spreadsheets save as "Unicode text"). Everything else (Shift_JIS, EUC-KR, Big5, Latin-1, Windows-125x, UTF-32, UTF-16
without a BOM) is refused with UnsupportedEncodingError naming what the file looks like, rather than read as GBK or
as some single-byte code page with garbled headers.

GBK decodes almost any byte soup, so a sample that decodes as GBK must also read like Chinese: at least 80 % of its
non-ASCII characters among the 6,763 hanzi and the symbols of GB2312 (the common simplified characters; Shift_JIS,
Big5 and Latin-1 bytes read as GBK land mostly outside it), few kana (EUC-JP shares GB2312's kana rows), not only
hanzi of the byte rows where EUC-KR has its hangul, and charset_normalizer's statistics must not prefer a Korean,
Japanese or Big5 reading that has no GB reading at all. A sample of mostly traditional characters is accepted only
when charset_normalizer reads it as GB18030. A refused sample is named after the reading that fits its own script
(kana for Japanese, hangul for Korean), else charset_normalizer's best guess.

DuckDB reads UTF-8 natively; every other encoding needs its `encodings` extension, which cannot be downloaded here.
So non-UTF-8 text is transcoded to a UTF-8 temporary file first, chunk by chunk, with an incremental decoder so that
a multibyte character split across two chunks is decoded whole. Nothing here reads a whole file into memory.
"""

import codecs
from itertools import islice
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

BINARY_SNIFF_BYTES = 64 * 1024
ENCODING_SAMPLE_BYTES = 4 * 1024 * 1024
TRANSCODE_CHUNK_BYTES = 1024 * 1024
# Above this share of control bytes in the first 64 KiB a file is not text, even without NUL bytes.
MAX_CONTROL_BYTE_SHARE = 0.05

UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"
UTF16 = "utf-16"
GBK = "gbk"
GB18030 = "gb18030"
ACCEPTED = "UTF-8, GBK/GB18030 or UTF-16 with a byte-order mark"
# Names of what a refused file looks like that are words rather than encoding names (the services translate them).
SINGLE_BYTE = "a single-byte encoding such as Latin-1 or Windows-1252"
UTF16_NO_BOM = "UTF-16 without a byte-order mark"
# How GBK-decodable text must look to be taken for Chinese (see the module docstring).
MIN_COMMON_SHARE = 0.8
MAX_KANA_SHARE = 0.1
JUDGED_CHARS = 20_000
MIN_HANGUL_ROW_HANZI = 20
STATISTICS_SAMPLE_BYTES = 64 * 1024
UTF16_MIN_NUL_SHARE = 0.2
_GB_FAMILY = frozenset({"gb18030", "gbk", "gb2312", "hz"})
_ENCODING_NAMES = (
    (frozenset({"shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213"}), "Shift_JIS"),
    (frozenset({"euc_jp", "euc_jis_2004", "euc_jisx0213", "iso2022_jp"}), "EUC-JP"),
    (frozenset({"euc_kr", "cp949", "johab", "iso2022_kr"}), "EUC-KR"),
    (frozenset({"big5", "big5hkscs", "cp950"}), "Big5"),
    (frozenset({"utf-32", "utf-32-le", "utf-32-be"}), "UTF-32"),
    (frozenset({"utf-16", "utf-16-le", "utf-16-be"}), UTF16_NO_BOM),
)
_OTHER_CJK = frozenset({"Shift_JIS", "EUC-JP", "EUC-KR", "Big5"})

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


class UnsupportedEncodingError(UndecodableError):
    """The file is text, but in an encoding we do not accept; `detected` names it (None when nothing fits)."""

    def __init__(self, detected: str | None) -> None:
        self.detected = detected
        what = (
            f"the text encoding looks like {detected}"
            if detected
            else "the file is not text in any encoding we recognise"
        )
        super().__init__(f"{what}; only {ACCEPTED} is accepted")


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

    UTF-16/32 text holds NUL bytes, so a file that starts with their byte-order mark is text, and so is one that
    looks like UTF-16 without it (refused by `sniff_encoding`, with that name, rather than as binary).
    """
    if not head or bom_encoding(head) not in (None, UTF8_BOM) or _utf16_without_bom(head):
        return False
    if head.startswith(_BINARY_MAGIC) or b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte in _CONTROL_BYTES)
    return controls / len(head) > MAX_CONTROL_BYTE_SHARE


def detect_encoding(path: str | Path, *, sample_bytes: int = ENCODING_SAMPLE_BYTES) -> str:
    """The Python codec name of a text file's encoding, judged on its first `sample_bytes` (see `sniff_encoding`)."""
    return sniff_encoding(read_head(path, sample_bytes))


def sniff_encoding(sample: bytes) -> str:
    """The codec of a text sample: utf-8-sig or utf-16 by their byte-order mark, utf-8, gbk or gb18030.

    The sample may end inside a multibyte character, so it is decoded as a stream that is not final. Raises
    UnsupportedEncodingError, naming what the sample looks like, for every other encoding.
    """
    if (encoding := bom_encoding(sample)) is not None:
        if encoding in (UTF8_BOM, UTF16):
            return encoding
        raise UnsupportedEncodingError(encoding_name(encoding))
    if _utf16_without_bom(sample):
        raise UnsupportedEncodingError(UTF16_NO_BOM)
    if _decodes(sample, UTF8):
        return UTF8
    for encoding in (GBK, GB18030):
        if (text := _decoded(sample, encoding)) is not None:
            _require_chinese(sample, text)
            return encoding
    raise UnsupportedEncodingError(_detected_name(_guesses(sample)))


def encoding_name(codec: str | None) -> str | None:
    """A name people know for a codec charset_normalizer or a byte-order mark reported (None stays None)."""
    if codec is None:
        return None
    canonical = codecs.lookup(codec).name
    for members, name in _ENCODING_NAMES:
        if canonical in members:
            return name
    return "GB18030" if canonical in _GB_FAMILY else SINGLE_BYTE


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


def _utf16_without_bom(head: bytes) -> bool:
    """UTF-16 text without a byte-order mark: the ASCII in it (delimiters, digits, line breaks) puts a NUL at every
    other byte, always on the same side, while binary data has NULs on both."""
    head = head[: BINARY_SNIFF_BYTES & ~1]
    if len(head) < 16:
        return False
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    return (even == 0 and odd >= UTF16_MIN_NUL_SHARE * half) or (odd == 0 and even >= UTF16_MIN_NUL_SHARE * half)


def _decoded(sample: bytes, encoding: str) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return None


def _decodes(sample: bytes, encoding: str) -> bool:
    return _decoded(sample, encoding) is not None


def _require_chinese(sample: bytes, text: str) -> None:
    """Refuse GBK-decodable bytes that are another encoding read as GBK (see the module docstring)."""
    chars = list(islice((char for char in text if char > "\x7f"), JUDGED_CHARS))
    if not chars:
        return
    guesses = _guesses(sample)
    if sum(1 for char in chars if _is_kana(char)) > MAX_KANA_SHARE * len(chars):  # EUC-JP, or Big5's A4 row
        raise UnsupportedEncodingError(_detected_name(guesses) or "EUC-JP")
    if _on_hangul_rows_only(chars):
        raise UnsupportedEncodingError("EUC-KR")
    best = encoding_name(guesses.best().encoding) if guesses else None
    if sum(1 for char in chars if _in_gb2312(char)) >= MIN_COMMON_SHARE * len(chars):
        has_gb_reading = any(codecs.lookup(guess.encoding).name in _GB_FAMILY for guess in guesses)
        if has_gb_reading or best not in _OTHER_CJK:
            return
    elif best == "GB18030":  # mostly traditional characters, and the statistics read them as GB18030
        return
    raise UnsupportedEncodingError(_detected_name(guesses))


def _on_hangul_rows_only(chars: list[str]) -> bool:
    """EUC-KR puts its hangul on the byte rows B0-C8, where GB2312 has the hanzi of the first 25 rows: Korean read
    as GBK uses those rows only, while Chinese with this many different hanzi almost surely uses the others too."""
    hanzi = {char for char in chars if "\u4e00" <= char <= "\u9fff"}
    return len(hanzi) >= MIN_HANGUL_ROW_HANZI and all(0xB0 <= char.encode(GB18030)[0] <= 0xC8 for char in hanzi)


def _is_kana(char: str) -> bool:
    return "\u3041" <= char <= "\u30fa" or "\uff66" <= char <= "\uff9f"


def _detected_name(guesses: Any) -> str | None:
    """What a refused sample looks like: a Japanese, then a Korean reading among charset_normalizer's that is in its
    own script, else its best non-GB guess. Its statistics alone are fooled by short samples (a few lines of
    Shift_JIS score best as EUC-KR) and readings in the wrong script are a tell."""
    readings = [(encoding_name(guess.encoding), str(guess)) for guess in guesses]
    for wanted in (("Shift_JIS", "EUC-JP"), ("EUC-KR",)):
        for name, text in readings:
            if name in wanted and _in_own_script(name, text):
                return name
    return next((name for name, _text in readings if name != "GB18030"), None)


def _in_own_script(name: str, text: str) -> bool:
    """Korean: mostly hangul. Japanese: some kana, not mostly half-width (Korean read as Shift_JIS is all of it)."""
    chars = [char for char in text if char > "\x7f"]
    if name == "EUC-KR":
        return 2 * sum(1 for char in chars if "\uac00" <= char <= "\ud7a3") >= len(chars)
    half_width = sum(1 for char in chars if "\uff66" <= char <= "\uff9f")
    return any(_is_kana(char) for char in chars) and 2 * half_width <= len(chars)


def _guesses(sample: bytes) -> Any:
    """charset_normalizer's readings of the first STATISTICS_SAMPLE_BYTES (a CharsetMatches, best first)."""
    return from_bytes(_statistics_sample(sample))


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _statistics_sample(sample: bytes) -> bytes:
    """At most STATISTICS_SAMPLE_BYTES, cut after a line break so that no multibyte character is cut in two (a cut
    one makes the GB reading fail)."""
    head = sample[:STATISTICS_SAMPLE_BYTES]
    if not head.endswith(b"\n") and (cut := head.rfind(b"\n")) > 0:
        return head[: cut + 1]
    return head


def _pending(decoder: codecs.IncrementalDecoder) -> int:
    """How many bytes of an unfinished character the decoder carried over from the previous chunk."""
    state = decoder.getstate()
    return len(state[0]) if isinstance(state, tuple) and isinstance(state[0], bytes) else 0
