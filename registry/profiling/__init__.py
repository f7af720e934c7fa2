"""Profiling engine for uploaded data product files (CSV, TSV, Parquet, JSON Lines), run inside a Celery task.

Pure Python + DuckDB, no Django. DuckDB scans the file where it lies; Python never holds more than a few MiB of it.
Non-UTF-8 text (GBK, GB18030, ...) is first transcoded to a private UTF-8 temporary file (see registry.encoding).

Public API::

    sniff_format(path, declared_name) -> FileFormat
    profile_file(path, *, declared_name, declared_types=None, patterns=None, update_frequency=None, today=None,
                 progress=None, memory_limit="512MB", sample_size=20) -> Profile
    sample_rows(path, *, declared_name, n=20) -> list[dict[str, str | None]]
    column_values(path, *, declared_name, limit=10000, method="head") -> dict[str, list[str]]
    open_dataset(path, *, declared_name, ...) -> Dataset   # context manager: one sniff/transcode, several reads

Scans: the statistics, validity, consistency, uniqueness and newest-date figures come from one aggregate query over
all columns; the top values from one GROUPING SETS query over the columns that qualify; files of at most
EXACT_UNIQUENESS_MAX_ROWS rows get one more query for an exact duplicate count.

Quality scores (GB/T 36344-2018 dimensions), each 0-100 rounded to one decimal:

- completeness = mean over columns of (1 - null_count / row_count) x 100.
- uniqueness = distinct full rows / row_count x 100, i.e. 1 - the duplicate-row share. Rows are compared by a
  64-bit hash of all their values; the distinct count is exact up to EXACT_UNIQUENESS_MAX_ROWS rows and a
  HyperLogLog estimate (approx_count_distinct, about +-2 %) above, capped at row_count.
- validity = share of non-null values, over all columns, that conform to their declaration: `declared_types`
  (integer, decimal, date, datetime, text, boolean; checked with TRY_CAST, plus the usual Chinese date spellings
  for date) and `patterns` (regexp_full_match on the value as text). Values of undeclared columns count as
  valid. 100 when there is no non-null value.
- consistency = share of rows that pass every automatic cross-column rule, x 100 (100 when no rule applies):
  * ordered pairs: for two columns whose names differ only by start/end, begin/end, from/to, min/max,
    开始/结束, 起始/终止, 起始/结束, 生效/失效, 最小/最大 or 最低/最高 (e.g. start_date/end_date,
    开始日期/结束日期) and that are both temporal or both numeric: start <= end;
  * non-negative amounts: numeric columns named like amount, amt, price, qty, quantity, cost, fee, 金额, 价格,
    单价, 数量, 费用: value >= 0.
  A NULL on either side passes a rule (completeness already counts it).
- timeliness = from the age in days of the newest date (the latest DATE/TIMESTAMP value, or value of a column
  declared date/datetime, that is not after `today`: planned end dates and expiry dates in the future say nothing
  about freshness) and the declared update period P (realtime and daily 1 day, weekly 7, monthly 30, quarterly 91,
  yearly 365): 100 when age <= P, then falling linearly to 0 at age = 4P, i.e. 100 x (4P - age) / 3P; always 100
  for `once`. None (left out of overall) when no date was found or no update frequency was declared.
- overall = weighted mean of the available scores with weights completeness .25, validity .25, uniqueness .2,
  consistency .15, timeliness .15, renormalised over the scores that are not None.
"""

from registry.profiling.dataset import (
    EXACT_UNIQUENESS_MAX_ROWS,
    MAX_TYPE_RETRIES,
    STAGES,
    Dataset,
    Progress,
    column_values,
    open_dataset,
    profile_file,
    sample_rows,
)
from registry.profiling.formats import FileFormat, sniff_format
from registry.profiling.model import ColumnProfile, ConsistencyRule, Profile, ProfilingError, QualityScores
from registry.profiling.quality import (
    DECLARED_TYPES,
    ONCE,
    UPDATE_PERIOD_DAYS,
    WEIGHTS,
    pattern_error,
    quality_scores,
    timeliness_score,
)
from registry.profiling.stats import TOP_VALUES, TOP_VALUES_MAX_DISTINCT, TOP_VALUES_MAX_UNIQUE_SHARE

__all__ = [
    "DECLARED_TYPES",
    "EXACT_UNIQUENESS_MAX_ROWS",
    "MAX_TYPE_RETRIES",
    "ONCE",
    "STAGES",
    "TOP_VALUES",
    "TOP_VALUES_MAX_DISTINCT",
    "TOP_VALUES_MAX_UNIQUE_SHARE",
    "UPDATE_PERIOD_DAYS",
    "WEIGHTS",
    "ColumnProfile",
    "ConsistencyRule",
    "Dataset",
    "FileFormat",
    "Profile",
    "ProfilingError",
    "Progress",
    "QualityScores",
    "column_values",
    "open_dataset",
    "pattern_error",
    "profile_file",
    "quality_scores",
    "sample_rows",
    "sniff_format",
    "timeliness_score",
]
