"""Sandbox benchmark: a GROUP BY aggregate over a generated 10M-row Parquet file through the full sandbox path
(`sandbox.engine.run_query`: parse, policy check, disclosure rewrite, locked-down DuckDB, disclosure control) next to
the same SQL on a bare DuckDB connection and the same aggregate in pandas, all in the same run.

Goals (issue 6): within 1.3x of bare DuckDB, and faster than pandas (ratio under 1.0).

The file (district 16 values, age band 8, gender 2, an aggregate-only income, a masked name; about 50 MB) is
generated once by DuckDB itself (COPY from a range) in a temporary directory and needs no database. 10M rows is the
issue's size and the default: generating takes under 10 s and the whole benchmark about a minute.
BENCH_SANDBOX_ROWS overrides the row count.

Fair baselines:
- bare DuckDB runs on a fresh in-memory connection per query (as the sandbox opens one per query) with the sandbox's
  threads = 1 and memory limit, reading the same Parquet file with read_parquet(), and fetches every group. The
  ratio is therefore what the sandbox machinery costs, not a difference in parallelism.
- pandas reads the same Parquet file (pyarrow, only the three columns the query needs, use_threads=False: one thread
  like the sandbox) and groups it. The sandbox's whole query reads the file too, so the Result times pandas' whole
  job including the read. Printed beside it for information: the groupby alone (the frame already in memory, which
  no fresh sandbox query has), the read with pyarrow's default threads, and the string columns read as categoricals
  (read_dictionary; pandas' fastest groupby here). pandas reads strings as its default string dtype otherwise.
"""

import atexit
import os
import tempfile
from functools import cache
from pathlib import Path

import duckdb

from bench.harness import Result, best_of, compare

ROWS = int(os.environ.get("BENCH_SANDBOX_ROWS", "10000000"))
MEMORY_LIMIT = "512MB"
SQL = "SELECT district, age_band, count(*) AS n, avg(income) AS mean_income FROM data GROUP BY 1, 2"
GROUPS = 16 * 8
COLUMNS = {
    "district": "visible",
    "age_band": "visible",
    "gender": "visible",
    "income": "aggregate_only",
    "name": "masked",
}


def generate_parquet(path: Path, rows: int) -> None:
    """People: 16 districts, 8 age bands, 2 genders spread by hash, an income, a name as its masked form."""
    with duckdb.connect() as connection:
        connection.execute("SET enable_progress_bar = false")
        connection.execute(
            f"""
        COPY (
            SELECT 'district_' || lpad((hash(i) % 16)::VARCHAR, 2, '0') AS district,
                   ['0-17', '18-24', '25-34', '35-44', '45-54', '55-64', '65-74', '75+'][1 + (hash(i + 1) % 8)::INT]
                       AS age_band,
                   ['F', 'M'][1 + (hash(i + 2) % 2)::INT] AS gender,
                   (20000 + hash(i + 3) % 180000)::INTEGER AS income,
                   ['张', '王', '李', '刘', '陈', '杨', '赵', '黄'][1 + (i % 8)::INT] || '**' AS name
            FROM range({int(rows)}) t(i)
        ) TO '{path}' (FORMAT parquet)
        """  # noqa: S608 (a generated range, no input)
        )


def bare_duckdb(path: Path) -> list[tuple]:
    """The same SQL on a fresh connection with the sandbox's thread count and memory limit, `data` a plain view."""
    with duckdb.connect(":memory:", config={"threads": 1, "memory_limit": MEMORY_LIMIT}) as connection:
        connection.execute("SET enable_progress_bar = false")
        connection.execute(f"CREATE VIEW data AS SELECT * FROM read_parquet('{path}')")  # noqa: S608
        return connection.execute(SQL).fetchall()


def read_for_pandas(path: Path, *, use_threads: bool = False, categorical: bool = False):
    """The three columns the query needs; strings as pandas' string dtype, or as categoricals when asked."""
    import pandas as pd

    dictionary = {"read_dictionary": ["district", "age_band"]} if categorical else {}
    return pd.read_parquet(path, columns=["district", "age_band", "income"], use_threads=use_threads, **dictionary)


def group_in_pandas(frame):
    groups = frame.groupby(["district", "age_band"], sort=False, observed=True)
    return groups.agg(n=("income", "size"), mean_income=("income", "mean"))


def sandbox_query(path: Path):
    from sandbox.engine import Policy, run_query

    policy = Policy(columns=COLUMNS, memory_limit=MEMORY_LIMIT, max_execution_ms=120_000)
    return lambda: run_query(SQL, parquet_path=str(path), policy=policy)


@cache
def dataset() -> Path:
    """The generated file, made once for both benchmarks (the directory is removed when the process exits)."""
    directory = tempfile.TemporaryDirectory(prefix="bench-sandbox-")
    atexit.register(directory.cleanup)
    path = Path(directory.name) / "people.parquet"
    generate_parquet(path, ROWS)
    result, bare, grouped = sandbox_query(path)(), bare_duckdb(path), group_in_pandas(read_for_pandas(path))
    # The rows are spread evenly, so no group is suppressed: all three must give every group.
    assert len(result.rows) == len(bare) == len(grouped) == GROUPS, "not every group came back"
    assert result.suppressed_rows == 0
    return path


def _label(path: Path) -> str:
    return f"sandbox GROUP BY {ROWS:,} rows {path.stat().st_size / 1e6:.0f} MB"


def bench_sandbox_vs_duckdb() -> Result:
    path = dataset()
    return compare(_label(path), sandbox_query(path), "bare DuckDB, threads=1", lambda: bare_duckdb(path), goal=1.3)


def bench_sandbox_vs_pandas() -> Result:
    path = dataset()

    def pandas_job():
        return group_in_pandas(read_for_pandas(path))

    result = compare(_label(path), sandbox_query(path), "pandas read_parquet + groupby", pandas_job, goal=1.0, repeat=3)
    frame = read_for_pandas(path)
    groupby_only = best_of(lambda: group_in_pandas(frame), repeat=2)
    threaded = best_of(lambda: group_in_pandas(read_for_pandas(path, use_threads=True)), repeat=2)
    categorical = best_of(lambda: group_in_pandas(read_for_pandas(path, categorical=True)), repeat=2)
    print(
        f"pandas, {ROWS:,} rows: groupby alone (frame in memory) {groupby_only * 1000:.0f} ms; "
        f"read with pyarrow's default threads + groupby {threaded * 1000:.0f} ms; "
        f"read as categoricals + groupby {categorical * 1000:.0f} ms"
    )
    return result


BENCHMARKS = [bench_sandbox_vs_duckdb, bench_sandbox_vs_pandas]
