"""Reading the PDFs reportlab writes, for assertions: the page text, the document information, the page count."""

import re
import zlib
from base64 import a85decode


def content(pdf: bytes) -> str:
    """The decoded page streams (reportlab writes ASCII85 over Flate), for looking for Helvetica text."""
    streams = re.findall(rb"/Filter \[ /ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)endstream", pdf, re.S)
    text = "\n".join(zlib.decompress(a85decode(stream.strip(), adobe=True)).decode("latin-1") for stream in streams)
    return text.replace("\\(", "(").replace("\\)", ")")


def info(pdf: bytes, key: str) -> str:
    """A document-information string, unescaped and decoded (UTF-16 with a byte-order mark when not ASCII)."""
    raw = re.search(rb"/" + key.encode() + rb" \(((?:\\.|[^\\)])*)\)", pdf, re.S)[1]
    data = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m[1], 8)]) if m[1].isdigit() else m[1], raw)
    return data.decode("utf-16") if data.startswith(b"\xfe\xff") else data.decode("latin-1")


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))
