"""The per-contract fingerprint: value-preserving marks in CSV, TSV, JSON Lines and Parquet, and what survives."""

import csv
import io
import json
import random

import duckdb
import pytest

from marketplace import fingerprint as fp
from tests.factories.files import PORTS, port_csv

A, B, C = "DBC-2026-000101", "DBC-2026-000102", "DBC-2026-000103"


def mark(text: bytes, number: str = A, *, file_format: str = "csv", encoding: str = "utf-8", **kw) -> bytes:
    key = fp.contract_key(number)
    return b"".join(fp.mark_text(io.BytesIO(text), file_format=file_format, encoding=encoding, key=key, **kw))


def leaked(tmp_path, content: bytes, name: str = "leak.txt"):
    path = tmp_path / name
    path.write_bytes(content)
    return fp.read_marks(path)


def by_number(marks: fp.Marks, numbers=(A, B, C)) -> dict[str, fp.Match]:
    return {match.number: match for match in fp.score(marks, numbers)}


def duckdb_table(path) -> tuple[list, list]:
    connection = duckdb.connect()
    relation = f"read_csv('{path}')"
    schema = connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return schema, connection.execute(f"SELECT * FROM {relation}").fetchall()


# --- marks change no value ---------------------------------------------------------------------------------------


def test_marked_csv_reads_the_same_values_and_types(tmp_path):
    # given a CSV with quoted values, empty values and Chinese text
    original = port_csv().encode()
    # when it is marked
    marked = mark(original)
    # then Python's csv and DuckDB read exactly the same table, while the bytes differ
    assert marked != original
    assert list(csv.reader(io.StringIO(marked.decode(), newline=""))) == list(
        csv.reader(io.StringIO(original.decode(), newline=""))
    )
    (tmp_path / "original.csv").write_bytes(original)
    (tmp_path / "marked.csv").write_bytes(marked)
    assert duckdb_table(tmp_path / "marked.csv") == duckdb_table(tmp_path / "original.csv")


def test_quoted_empty_values_multiline_values_and_crlf_are_kept(tmp_path):
    original = b'id,label,memo\r\n1,"",plain\r\n2,,"two\r\nlines, with a comma"\r\n3,"say ""hi""",x\r\n'
    marked = mark(original)
    # CRLF stays CRLF; a quoted empty value stays quoted (PostgreSQL's COPY reads it as '', an empty one as NULL)
    assert marked.count(b"\r\n") == original.count(b"\r\n")
    assert b',"",' in marked and b"\r\n2,," in marked.replace(b'"2"', b"2")
    (tmp_path / "original.csv").write_bytes(original)
    (tmp_path / "marked.csv").write_bytes(marked)
    assert duckdb_table(tmp_path / "marked.csv") == duckdb_table(tmp_path / "original.csv")
    rows = duckdb_table(tmp_path / "marked.csv")[1]
    assert rows[1][2] == "two\r\nlines, with a comma" and rows[2][1] == 'say "hi"'


def test_the_mark_is_the_quoting_of_one_field_that_needs_none():
    original = port_csv().splitlines()
    marked = mark(port_csv().encode()).decode().splitlines()
    changed = [(before, after) for before, after in zip(original, marked, strict=True) if before != after]
    # about half of the records quote their first field, and nothing else changes
    assert 0.35 < len(changed) / len(original) < 0.65
    for before, after in changed:
        first, rest = before.split(",", 1)
        assert after == f'"{first}",{rest}'


def test_gbk_stays_gbk_with_the_same_text():
    original = port_csv().encode("gbk")
    marked = mark(original, encoding="gbk")
    assert list(csv.reader(io.StringIO(marked.decode("gbk"), newline=""))) == list(
        csv.reader(io.StringIO(original.decode("gbk"), newline=""))
    )
    with pytest.raises(UnicodeDecodeError):
        marked.decode("utf-8")


def test_a_utf8_byte_order_mark_is_kept():
    original = "\ufeff".encode() + port_csv(20).encode()
    assert mark(original, encoding="utf-8-sig").startswith(b"\xef\xbb\xbf")


def test_jsonl_marks_are_spacing_only():
    lines = [{"id": i, "port": PORTS[i % 5], "note": 'a, b: "c"', "tons": [1.5, 2]} for i in range(300)]
    original = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    marked = mark(original, file_format="jsonl").decode().splitlines()
    assert [json.loads(line) for line in marked] == lines
    spaced = sum(1 for line in marked if '": ' in line)
    assert 0.35 < spaced / len(marked) < 0.65


def test_the_stream_is_written_as_it_is_read():
    # given a source much larger than one chunk
    content = port_csv(20_000).encode()
    source = io.BytesIO(content)
    chunks = fp.mark_text(source, file_format="csv", encoding="utf-8", key=fp.contract_key(A))
    # when the first chunk comes out, most of the source has not been read yet
    first = next(chunks)
    assert len(first) < len(content) / 4
    assert source.tell() < len(content) / 2
    assert len(first) + sum(len(chunk) for chunk in chunks) > len(content)


# --- tracing ----------------------------------------------------------------------------------------------------


def test_the_source_matches_all_records_and_the_others_half(tmp_path):
    # given the same file delivered under three contracts
    copies = {number: mark(port_csv().encode(), number) for number in (A, B, C)}
    # when B's copy leaks with its rows shuffled, its header dropped and 30 % of its rows dropped
    records = copies[B].decode().splitlines(keepends=True)[1:]
    random.Random(5).shuffle(records)
    marks = leaked(tmp_path, "".join(records[: int(len(records) * 0.7)]).encode())
    # then B matches every record, with a high z-score, and A and C about half, named by nobody
    matches = by_number(marks)
    assert matches[B].share == 1.0 and matches[B].records == 210 and matches[B].z > 14 and matches[B].named
    for other in (A, C):
        assert 0.35 < matches[other].share < 0.65 and not matches[other].named
    assert fp.score(marks, (A, B, C))[0].number == B


def test_a_copy_reencoded_from_gbk_to_utf8_still_traces(tmp_path):
    marked = mark(port_csv().encode("gbk"), C, encoding="gbk")
    marks = leaked(tmp_path, marked.decode("gbk").encode("utf-8"))
    assert [match.number for match in fp.score(marks, (A, B, C)) if match.named] == [C]


def test_tsv_and_semicolon_files_trace(tmp_path):
    tsv = mark(port_csv(delimiter="\t").encode(), A, file_format="tsv")
    semicolon = mark(port_csv(delimiter=";").encode(), B, delimiter=";")
    assert by_number(leaked(tmp_path, tsv, "copy.tsv"))[A].named
    assert by_number(leaked(tmp_path, semicolon, "copy.csv"))[B].named


def test_a_jsonl_copy_traces_after_shuffling(tmp_path):
    original = "".join(json.dumps({"id": i, "port": PORTS[i % 5]}, ensure_ascii=False) + "\n" for i in range(200))
    lines = mark(original.encode(), B, file_format="jsonl").splitlines(keepends=True)
    random.Random(1).shuffle(lines)
    matches = by_number(leaked(tmp_path, b"".join(lines), "copy.jsonl"))
    assert matches[B].named and matches[B].share == 1.0 and not matches[A].named


def test_a_spreadsheet_reexport_carries_no_mark(tmp_path):
    marked = mark(port_csv().encode(), A).decode()
    rows = list(csv.reader(io.StringIO(marked, newline="")))
    for quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_ALL):
        out = io.StringIO()
        csv.writer(out, quoting=quoting).writerows(rows)
        marks = leaked(tmp_path, out.getvalue().encode())
        assert marks.uniform
        assert not any(match.named for match in fp.score(marks, (A, B, C)))


def test_a_short_excerpt_is_not_enough_to_name_anyone(tmp_path):
    records = mark(port_csv().encode(), A).splitlines(keepends=True)[1:16]
    match = by_number(leaked(tmp_path, b"".join(records)))[A]
    assert match.share == 1.0 and not match.named  # 15 records: z = 3.9 < 5


def test_parquet_carries_its_contract_in_the_metadata(tmp_path):
    source = tmp_path / "source.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT range AS id, 'port ' || range AS port FROM range(500)) TO '{source}' (FORMAT parquet)"
    )
    target = tmp_path / "delivered.parquet"
    fp.mark_parquet(source, target, number=B)
    connection = duckdb.connect()
    same = f"SELECT * FROM read_parquet('{source}') EXCEPT SELECT * FROM read_parquet('{target}')"
    assert connection.execute(same).fetchall() == []
    matches = by_number(fp.read_marks(target))
    assert matches[B].named and matches[B].method == "metadata"
    assert not matches[A].named and not matches[C].named


def test_keys_depend_on_the_configured_key(settings):
    settings.MARKETPLACE_FINGERPRINT_KEY = ""
    derived = fp.fingerprint_id(A)
    assert derived.startswith("fp1-") and derived != fp.fingerprint_id(B) and A not in derived
    settings.MARKETPLACE_FINGERPRINT_KEY = "a-stable-secret"
    assert fp.fingerprint_id(A) != derived
