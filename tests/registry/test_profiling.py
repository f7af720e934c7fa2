"""The profiling engine: formats, encodings, structural errors, statistics and the quality dimensions.

Every file is written by the test itself into tmp_path.
"""

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from registry import encoding as enc
from registry.profiling import (
    FileFormat,
    Profile,
    ProfilingError,
    column_values,
    open_dataset,
    profile_file,
    sample_rows,
    sniff_format,
    timeliness_score,
)
from tests.registry.encodings import ACCEPTED, REFUSED, TRADITIONAL

TODAY = date(2024, 3, 10)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def csv_text(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


def profile(path: Path, **kwargs) -> Profile:
    kwargs.setdefault("declared_name", path.name)
    kwargs.setdefault("today", TODAY)
    return profile_file(path, **kwargs)


# --- formats and encodings -----------------------------------------------------------------------------------------


def test_utf8_csv_statistics(tmp_path):
    rows = [f"{i},{'青岛' if i % 2 else '北京'},{i * 1.5},2024-03-0{i % 9 + 1}" for i in range(1, 11)]
    path = write(tmp_path / "orders.csv", csv_text("id,city,amount,day", rows))

    result = profile(path)

    assert (result.format, result.encoding, result.delimiter, result.row_count) == ("csv", "utf-8", ",", 10)
    assert [(c.name, c.type) for c in result.columns] == [
        ("id", "BIGINT"),
        ("city", "VARCHAR"),
        ("amount", "DOUBLE"),
        ("day", "DATE"),
    ]
    amount = result.column("amount")
    assert (amount.min, amount.max, amount.mean) == ("1.5", "15.0", 8.25)
    assert amount.stddev == pytest.approx(4.5412, abs=1e-3)
    assert result.column("city").top_values == (("北京", 5), ("青岛", 5))
    assert result.column("city").distinct_count == 2
    assert result.column("id").top_values is None  # unique: every count would be 1
    assert result.newest_date == date(2024, 3, 9)


def test_utf8_with_bom(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "名称,数量\n青岛,1\n北京,2\n".encode())

    result = profile(path)

    assert result.encoding == "utf-8-sig"
    assert [c.name for c in result.columns] == ["名称", "数量"]
    assert result.sample_rows[0] == {"名称": "青岛", "数量": "1"}


def test_gbk_csv_with_chinese_headers_and_values(tmp_path):
    rows = [f"{i},{city},{i * 100}" for i, city in enumerate(["青岛", "北京", "上海", "青岛", "深圳"], start=1)]
    path = write(tmp_path / "gbk.csv", csv_text("编号,城市,金额", rows), encoding="gbk")

    result = profile(path)
    rows_back = sample_rows(path, declared_name="gbk.csv")

    assert result.encoding == "gbk"
    assert [c.name for c in result.columns] == ["编号", "城市", "金额"]
    assert result.column("城市").top_values[0] == ("青岛", 2)
    assert rows_back[0] == {"编号": "1", "城市": "青岛", "金额": "100"}
    assert "青岛" in [row["城市"] for row in rows_back]


def test_gb18030_character_straddling_a_chunk_boundary(tmp_path):
    rare = "𠀀"  # U+20000: four bytes in GB18030, not in GBK
    text = csv_text("名称,备注", ["青岛,甲", f"{rare}岛,乙", "北京,丙"])
    data = text.encode("gb18030")
    start = data.index(rare.encode("gb18030"))
    chunk = start + 2  # the first chunk ends in the middle of the four-byte character
    path = tmp_path / "gb18030.csv"
    path.write_bytes(data)
    assert data[chunk - 2 : chunk + 2] == rare.encode("gb18030")

    result = profile(path, chunk_bytes=chunk)

    assert result.encoding == "gb18030"
    assert [row["名称"] for row in result.sample_rows] == ["青岛", f"{rare}岛", "北京"]


@pytest.mark.parametrize("chunk", range(1, 12))
def test_transcoding_is_exact_for_every_chunk_size(tmp_path, chunk):
    text = "编号,名称\n1,青岛𠀀\n2,€北京\n"
    source = tmp_path / "in.csv"
    source.write_bytes(text.encode("gb18030"))

    enc.transcode_to_utf8(source, tmp_path / "out.csv", "gb18030", chunk_bytes=chunk)

    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == text


def test_undecodable_bytes_name_their_offset(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes("名称\n青岛\n".encode("gb18030") + b"\xff\xff\n")

    with pytest.raises(enc.UndecodableError) as caught:
        enc.transcode_to_utf8(source, tmp_path / "out.csv", "gb18030", chunk_bytes=3)

    assert caught.value.offset == len("名称\n青岛\n".encode("gb18030"))


def test_invalid_utf8_after_the_detection_sample_is_an_encoding_error(tmp_path):
    path = tmp_path / "late.csv"
    row = b"1,abcdefghijklmnopqrstuvwxyz\n"
    with open(path, "wb") as handle:
        handle.write(b"id,text\n")
        for _ in range(enc.ENCODING_SAMPLE_BYTES // len(row) + 10):
            handle.write(row)
        handle.write(b"2,\xff\xfe broken\n")

    with pytest.raises(ProfilingError) as caught:
        profile(path)

    assert caught.value.code == "encoding"


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_other_encodings_are_refused_naming_what_they_look_like(tmp_path, case):
    content, looks_like = REFUSED[case]
    path = tmp_path / "data.csv"
    path.write_bytes(content)

    with pytest.raises(ProfilingError) as caught:
        profile(path)

    assert caught.value.code == "encoding"
    assert looks_like in caught.value.message and "UTF-8, GBK/GB18030" in caught.value.message


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepted_encodings(tmp_path, case):
    content, codec = ACCEPTED[case]
    path = tmp_path / "data.csv"
    path.write_bytes(content)

    result = profile(path)

    assert result.encoding == codec
    assert [c.name for c in result.columns] == ["日期", "港口"]
    assert result.sample_rows[0] == {"日期": "2026-11-01", "港口": "青岛"}


def test_traditional_characters_in_gbk_are_read(tmp_path):
    path = tmp_path / "big5-looking.csv"
    path.write_bytes(TRADITIONAL.encode("gbk"))

    result = profile(path)

    assert (result.encoding, result.columns[1].name) == ("gbk", "名稱")


def test_gbk_sample_cut_inside_a_character_is_still_gbk():
    data = "名称,城市\n" + "青岛,烟台\n" * 50
    sample = data.encode("gbk")[:-3]  # ends with the first byte of 台
    assert sample[-1] >= 0x81
    assert enc.sniff_encoding(sample) == "gbk"


@pytest.mark.parametrize(
    ("name", "text"), [("data.tsv", "日期\t港口\n2026-11-01\t青岛\n"), ("data.jsonl", '{"港口": "青岛"}\n')]
)
def test_utf16_tsv_and_json_lines_as_spreadsheets_save_them(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-16"))
    assert sniff_format(path, name).value == name.rsplit(".", 1)[1]

    result = profile(path)

    assert result.encoding == "utf-16"
    assert result.sample_rows[0]["港口"] == "青岛"


def test_tsv(tmp_path):
    path = write(tmp_path / "data.tsv", "name\tscore\nalice, b\t3\nbob\t4\n")

    result = profile(path)

    assert (result.format, result.delimiter, result.row_count) == ("tsv", "\t", 2)
    assert result.column("name").min == "alice, b"
    assert result.column("score").type == "BIGINT"


def test_semicolon_csv(tmp_path):
    path = write(tmp_path / "data.csv", 'name;note\n"a;b";x\nc;y\n')

    result = profile(path)

    assert result.delimiter == ";"
    assert result.sample_rows[0] == {"name": "a;b", "note": "x"}


def test_crlf_line_endings_and_quoted_newlines(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b'id,note\r\n1,"two\r\nlines"\r\n2,plain\r\n')

    result = profile(path)

    assert result.row_count == 2
    assert [row["note"] for row in result.sample_rows] == ["two\r\nlines", "plain"]


def test_lines_starting_with_hash_are_data_not_comments(tmp_path):
    result = profile(write(tmp_path / "hash.csv", csv_text("tag,n", ["#1,1", "#2,2", "3,3"])))

    assert result.row_count == 3
    assert result.column("tag").min == "#1"


def test_day_first_dates_are_recognised(tmp_path):
    rows = ["01/02/2024,1", "13/02/2024,2", "28/02/2024,3"]
    result = profile(write(tmp_path / "dmy.csv", csv_text("day,n", rows)), update_frequency="monthly")

    assert result.column("day").type == "DATE"
    assert result.newest_date == date(2024, 2, 28)
    assert result.sample_rows[1]["day"] == "13/02/2024"


def test_parquet_written_by_duckdb(tmp_path):
    path = tmp_path / "data.parquet"
    duckdb.execute(
        f"COPY (SELECT i AS id, 'city' || (i % 3) AS city, DATE '2024-03-01' + i::INT AS day FROM range(10) t(i)) "
        f"TO '{path}' (FORMAT parquet)"
    )

    result = profile(path, update_frequency="daily")

    assert (result.format, result.encoding, result.row_count) == ("parquet", None, 10)
    assert result.column("day").type == "DATE"
    assert result.newest_date == date(2024, 3, 10)
    assert result.quality.timeliness == 100.0
    assert result.column("city").top_values == (("city0", 4), ("city1", 3), ("city2", 3))


def test_json_lines(tmp_path):
    lines = [json.dumps({"id": i, "city": "青岛" if i % 2 else None, "tags": {"a": i}}) for i in range(6)]
    path = write(tmp_path / "data.jsonl", "\n".join(lines) + "\n")

    result = profile(path)

    assert (result.format, result.row_count) == ("jsonl", 6)
    assert result.column("city").null_count == 3
    assert result.column("tags").type.startswith("STRUCT")
    assert result.sample_rows[1]["city"] == "青岛"


def test_json_lines_with_a_broken_line(tmp_path):
    path = write(tmp_path / "data.jsonl", '{"a": 1}\n{"a": 2}\n{"a": \n')

    with pytest.raises(ProfilingError) as caught:
        profile(path)

    assert caught.value.code == "malformed"


# --- structural problems -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)

    with pytest.raises(ProfilingError) as caught:
        profile(path)

    assert caught.value.code == "empty"


def test_header_only(tmp_path):
    path = write(tmp_path / "header.csv", "id,name\n")

    with pytest.raises(ProfilingError) as caught:
        profile(path)

    assert caught.value.code == "no_rows"


@pytest.mark.parametrize("bad_row", ["6", "6,f,extra"])
def test_ragged_row_names_its_line(tmp_path, bad_row):
    rows = ["1,a", "2,b", "3,c", "4,d", "5,e", bad_row, "7,g", "8,h"]  # header is line 1: the bad row is line 7
    path = write(tmp_path / "ragged.csv", csv_text("id,name", rows))

    with pytest.raises(ProfilingError) as caught:
        profile(path)

    assert (caught.value.code, caught.value.line) == ("malformed", 7)
    assert "line 7" in str(caught.value)


def test_ragged_row_beyond_the_sniffer_sample_names_its_line(tmp_path):
    rows = [f"{i},x" for i in range(1, 30_000)]
    rows[25_000] = "25001"
    path = write(tmp_path / "ragged.csv", csv_text("id,name", rows))

    with pytest.raises(ProfilingError) as caught:
        profile(path)

    assert (caught.value.code, caught.value.line) == ("malformed", 25_002)


def test_value_breaking_the_sampled_type_widens_the_column(tmp_path):
    rows = [f"{i},{i}" for i in range(1, 30_000)]
    rows[-1] = "29999,n/a"
    path = write(tmp_path / "late.csv", csv_text("id,qty", rows))

    result = profile(path, declared_types={"qty": "integer"})

    assert result.column("qty").type == "VARCHAR"
    assert result.column("qty").invalid_count == 1
    assert any("qty" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    "content",
    [b"id,name\n1,\x00\x00\x00\x01\x02\n", bytes(range(256)) * 8, b"PK\x03\x04" + b"a,b\n" * 10],
)
def test_binary_content_named_csv(tmp_path, content):
    path = tmp_path / "data.csv"
    path.write_bytes(content)

    with pytest.raises(ProfilingError) as caught:
        sniff_format(path, "data.csv")

    assert caught.value.code == "binary_content"


def test_format_comes_from_name_and_content(tmp_path):
    parquet = tmp_path / "x.bin"
    duckdb.execute(f"COPY (SELECT 1 AS a) TO '{parquet}' (FORMAT parquet)")
    text = write(tmp_path / "x.txt", "a\tb\n1\t2\n")

    assert sniff_format(parquet, "upload") is FileFormat.PARQUET
    assert sniff_format(text, "upload") is FileFormat.TSV
    assert sniff_format(write(tmp_path / "j", '{"a": 1}\n'), "upload") is FileFormat.JSONL
    for name, path in (("data.csv", parquet), ("data.parquet", text)):
        with pytest.raises(ProfilingError) as caught:
            sniff_format(path, name)
        assert caught.value.code == "format_mismatch"


# --- quality dimensions (hand-computed) ----------------------------------------------------------------------------


def test_completeness(tmp_path):
    # 10 rows, 2 columns, 2 nulls in one column: mean of (1 - 0) and (1 - 0.2) = 90 %.
    rows = [f"{i},{'' if i in (3, 7) else 'v' + str(i)}" for i in range(10)]
    result = profile(write(tmp_path / "c.csv", csv_text("id,name", rows)))

    assert result.column("name").null_count == 2
    assert result.column("name").null_rate == 0.2
    assert result.quality.completeness == 90.0


def test_uniqueness(tmp_path):
    # 10 rows, one of them a copy of another: 9 distinct rows.
    rows = [f"{i},v{i}" for i in range(9)] + ["4,v4"]
    result = profile(write(tmp_path / "u.csv", csv_text("id,name", rows)))

    assert (result.distinct_rows, result.uniqueness_exact) == (9, True)
    assert result.quality.uniqueness == 90.0


def test_validity_of_a_declared_date_column(tmp_path):
    # 10 values, one of them not a date.
    rows = [f"2024-03-{day:02d}" for day in range(1, 10)] + ["2024-02-30"]
    result = profile(write(tmp_path / "v.csv", csv_text("day", rows)), declared_types={"day": "date"})

    assert result.column("day").invalid_count == 1
    assert result.quality.validity == 90.0


def test_validity_counts_undeclared_columns_as_valid_and_checks_patterns(tmp_path):
    # code: pattern, 2 of 10 break it; note: undeclared, 10 valid values: (20 - 2) / 20 = 90 %.
    rows = [f"{'AB' if i < 8 else 'x'}{100 + i},note{i}" for i in range(10)]
    result = profile(write(tmp_path / "p.csv", csv_text("code,note", rows)), patterns={"code": r"[A-Z]{2}\d{3}"})

    assert result.column("code").invalid_count == 2
    assert result.quality.validity == 90.0


@pytest.mark.parametrize(
    ("declared", "values", "invalid"),
    [
        ("integer", ["1", "2", "3.5", "x"], 2),
        ("decimal", ["1", "2.5", "-3", "abc"], 1),
        ("date", ["2024-01-02", "2024/01/02", "2024年1月2日", "20240102", "someday"], 1),
        ("datetime", ["2024-01-02 10:00:00", "2024-01-02", "later"], 1),
        ("boolean", ["true", "false", "是", "maybe"], 1),
        ("text", ["a", "1"], 0),
    ],
)
def test_declared_type_checks(tmp_path, declared, values, invalid):
    result = profile(write(tmp_path / "t.csv", csv_text("v", values)), declared_types={"v": declared})

    assert result.column("v").invalid_count == invalid


def test_consistency_end_before_start(tmp_path):
    # 10 rows, end_date before start_date in one of them.
    rows = [f"2024-01-{d:02d},2024-01-{d + 5:02d}" for d in range(1, 10)] + ["2024-01-20,2024-01-10"]
    result = profile(write(tmp_path / "k.csv", csv_text("start_date,end_date", rows)))

    assert [(r.kind, r.columns, r.violations) for r in result.consistency_rules] == [
        ("ordered", ("start_date", "end_date"), 1)
    ]
    assert result.quality.consistency == 90.0


def test_consistency_rules_for_chinese_names_and_amounts(tmp_path):
    # Row 1 breaks both rules, row 2 only the amount rule: 8 of 10 rows are consistent.
    rows = ["2024-02-01,2024-01-01,-5", "2024-01-01,2024-01-02,-1"] + ["2024-01-01,2024-01-02,3"] * 8
    result = profile(write(tmp_path / "k.csv", csv_text("开始日期,结束日期,合同金额", rows)))

    assert {(r.kind, r.columns, r.violations) for r in result.consistency_rules} == {
        ("ordered", ("开始日期", "结束日期"), 1),
        ("non_negative", ("合同金额",), 2),
    }
    assert result.quality.consistency == 80.0


def test_consistency_without_rules_is_full(tmp_path):
    result = profile(write(tmp_path / "k.csv", csv_text("a,b", ["1,2", "3,4"])))

    assert (result.consistency_rules, result.quality.consistency) == ((), 100.0)


def test_timeliness_of_a_daily_dataset_two_days_old(tmp_path):
    # Period 1 day, age 2 days: 100 x (4 - 2) / 3 = 66.7.
    rows = ["2024-03-01,1", "2024-03-08,2"]
    result = profile(write(tmp_path / "t.csv", csv_text("day,n", rows)), update_frequency="daily", today=TODAY)

    assert result.newest_date == date(2024, 3, 8)
    assert result.quality.timeliness == 66.7


def test_timeliness_formula():
    today = date(2024, 3, 10)
    assert timeliness_score(date(2024, 3, 3), "weekly", today) == 100.0
    assert timeliness_score(date(2024, 2, 11), "weekly", today) == pytest.approx(100 * (28 - 28) / 21)
    assert timeliness_score(date(2024, 2, 25), "weekly", today) == pytest.approx(100 * (28 - 14) / 21)
    assert timeliness_score(date(2020, 1, 1), "monthly", today) == 0.0
    assert timeliness_score(date(2020, 1, 1), "once", today) == 100.0
    assert timeliness_score(None, "daily", today) is None
    assert timeliness_score(date(2024, 3, 12), "daily", today) == 100.0


def test_future_dates_do_not_make_a_dataset_fresh(tmp_path):
    rows = ["2024-01-01,2030-01-01"]
    result = profile(write(tmp_path / "t.csv", csv_text("signed,expires", rows)), update_frequency="monthly")

    assert result.newest_date == date(2024, 1, 1)


def test_no_date_column_leaves_timeliness_out_of_overall(tmp_path):
    # completeness 90, validity 100, uniqueness 100, consistency 100; weights renormalised over 0.85.
    rows = [f"{i},{'' if i < 2 else 'x'}" for i in range(10)]
    result = profile(write(tmp_path / "o.csv", csv_text("id,name", rows)), update_frequency="daily")

    expected = (0.25 * 90 + 0.25 * 100 + 0.2 * 100 + 0.15 * 100) / 0.85
    assert result.quality.timeliness is None
    assert result.quality.overall == round(expected, 1)


def test_overall_with_every_dimension(tmp_path):
    rows = [f"{i},2024-03-08" for i in range(10)]
    result = profile(write(tmp_path / "o.csv", csv_text("id,day", rows)), update_frequency="daily")

    q = result.quality
    expected = 0.25 * 100 + 0.25 * 100 + 0.2 * 100 + 0.15 * 100 + 0.15 * q.timeliness
    assert q.timeliness == 66.7
    assert q.overall == round(expected, 1)


def test_bad_declarations_are_rejected(tmp_path):
    path = write(tmp_path / "d.csv", csv_text("a", ["1"]))

    with pytest.raises(ValueError, match="declared types"):
        profile(path, declared_types={"a": "money"})
    with pytest.raises(ValueError, match="pattern"):
        profile(path, patterns={"a": "(unclosed"})
    with pytest.raises(ValueError, match="frequency"):
        profile(path, update_frequency="hourly")


# --- the API around it ---------------------------------------------------------------------------------------------


def test_progress_stages_in_order(tmp_path):
    calls = []
    path = write(tmp_path / "p.csv", csv_text("a", ["1", "2"]))

    profile(path, progress=lambda pct, stage: calls.append((pct, stage)))

    assert [stage for _, stage in calls] == ["sniff", "encoding", "load", "stats", "quality", "sample", "done"]
    assert [pct for pct, _ in calls] == sorted(pct for pct, _ in calls)
    assert calls[-1] == (100, "done")


def test_profile_round_trips_through_json(tmp_path):
    rows = [f"{i},青岛,2024-03-0{i + 1},{i}.5" for i in range(5)]
    result = profile(write(tmp_path / "r.csv", csv_text("id,city,day,price", rows)), update_frequency="weekly")

    data = json.loads(json.dumps(result.to_dict()))

    assert data["newest_date"] == "2024-03-05"
    assert Profile.from_dict(data) == result


def test_column_values_for_the_pii_scanner(tmp_path):
    rows = [f"{i},{'' if i % 3 == 0 else '1380000' + str(1000 + i)}" for i in range(50)]
    path = write(tmp_path / "pii.csv", csv_text("id,mobile", rows))

    values = column_values(path, declared_name="pii.csv", limit=30)
    sampled = column_values(path, declared_name="pii.csv", limit=30, method="reservoir")

    assert values["id"] == [str(i) for i in range(30)]
    assert values["mobile"] == ["1380000" + str(1000 + i) for i in range(30) if i % 3]
    assert len(sampled["id"]) == 30


def test_duckdb_connection_is_locked_down(tmp_path):
    path = write(tmp_path / "a.csv", csv_text("a", ["1"]))
    other = write(tmp_path / "secret.csv", csv_text("s", ["x"]))

    with open_dataset(path, declared_name="a.csv") as dataset:
        with pytest.raises(duckdb.PermissionException):
            dataset.connection.execute(f"SELECT * FROM read_csv('{other}')").fetchall()
        with pytest.raises(duckdb.Error):
            dataset.connection.execute("SET enable_external_access = true")
        settings = dict(
            dataset.connection.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'autoload_known_extensions')"
            ).fetchall()
        )
    assert settings["threads"] in ("1", "2")
    assert settings["autoload_known_extensions"] == "false"


def test_temporary_files_are_removed(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    path = write(tmp_path / "gbk.csv", csv_text("城市", ["青岛"]), encoding="gbk")

    profile(path, work_dir=work)

    assert list(work.iterdir()) == []
