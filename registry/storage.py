"""Streaming uploads into storage with their SHA-256, and local copies for DuckDB."""

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile

CHUNK = 1024 * 1024


class HashingFile(File):
    """A File whose chunks update a SHA-256 as storage reads them: one pass, never the whole file in memory."""

    def __init__(self, file: File) -> None:
        super().__init__(file.file if hasattr(file, "file") else file, name=file.name)
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        self.seek(0)
        while chunk := self.read(chunk_size or CHUNK):
            self.sha256.update(chunk)
            self.bytes_read += len(chunk)
            yield chunk

    def multiple_chunks(self, chunk_size: int | None = None) -> bool:
        return True


def read_head(file: File, size: int = 64 * 1024) -> bytes:
    """The first bytes of an upload, leaving its position at the start."""
    file.seek(0)
    head = file.read(size)
    file.seek(0)
    return head


@contextmanager
def local_path(field: FieldFile, suffix: str = "") -> Iterator[Path]:
    """A local file path for a stored file: the file itself on disk storage, else a streamed temporary copy."""
    if isinstance(field.storage, FileSystemStorage):
        yield Path(field.path)
        return
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="databourse-")
    try:
        with os.fdopen(fd, "wb") as out, field.storage.open(field.name, "rb") as src:
            shutil.copyfileobj(src, out, CHUNK)
        yield Path(name)
    finally:
        os.unlink(name)
