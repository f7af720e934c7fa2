"""Profiling runs on Celery workers (eagerly in the one-command run)."""

import logging
from dataclasses import asdict

from celery import shared_task

from registry import services
from registry.column_rules import declarations
from registry.masking import mask_free_text, mask_rows, mask_value
from registry.models import ProductVersion
from registry.pii import scan_table
from registry.profiling import ProfilingError, open_dataset
from registry.storage import local_path

logger = logging.getLogger(__name__)
PII_SAMPLE_VALUES = 10_000
SAMPLE_ROWS = 20


@shared_task(name="registry.version_profile", acks_late=True)
def version_profile(version_id: int) -> dict:
    """Profile a version with DuckDB, scan it for personal information and keep a masked sample."""
    version = ProductVersion.objects.select_related("product").filter(pk=version_id).first()
    if version is None:
        return {"status": "gone"}
    try:
        result = _profile(version)
    except ProfilingError as exc:
        message = safe_message(exc.message)
        services.version_rejected_file(version_id=version_id, code=exc.code, message=message, line=exc.line)
        return {"status": "rejected", "code": exc.code, "line": exc.line}
    except Exception as exc:
        logger.exception("Profiling version %s failed", version_id)
        services.version_profile_failed(version_id=version_id, message=safe_message(f"{type(exc).__name__}: {exc}"))
        raise
    services.version_profiled(version_id=version_id, **result)
    return {"status": "done"}


def safe_message(message: str) -> str:
    """An error message fit to store and show: DuckDB quotes the offending raw row ("Original Line: ..."),
    which may hold personal information, so it and everything after it are cut and the rest is masked."""
    kept = []
    for line in message.splitlines():
        if "original line" in line.lower():
            break
        kept.append(line)
    return mask_free_text("\n".join(kept).strip())[:1000]


def mask_profile(data: dict, findings: list) -> dict:
    """The profile without raw values: no sample rows; min, max and top values masked like the sample."""
    data.pop("sample_rows", None)
    kinds = {finding.column: finding.kind for finding in findings}
    for column in data.get("columns", []):
        kind = kinds.get(column["name"])

        def mask(value, kind=kind):
            if not isinstance(value, str):
                return value
            return mask_value(kind, value) if kind else mask_free_text(value)

        column["min"], column["max"] = mask(column.get("min")), mask(column.get("max"))
        if kind:  # a mean of phone numbers says nothing useful and leaks their range
            column["mean"] = column["stddev"] = None
        for item in column.get("top_values") or []:
            item["value"] = mask(item["value"])
    return data


def _profile(version: ProductVersion) -> dict:
    def progress(percent: int, stage: str) -> None:
        services.version_progress(version_id=version.pk, percent=percent, stage=stage)

    suffix = "." + version.file_format
    rules = version.product.column_rules or {}
    declared_types, patterns = declarations(rules)
    with (
        local_path(version.file, suffix=suffix) as path,
        open_dataset(path, declared_name=version.original_name, progress=progress) as dataset,
    ):
        profile = dataset.profile(
            declared_types=declared_types,
            patterns=patterns,
            update_frequency=version.product.update_frequency,
            progress=progress,
        )
        findings = scan_table(dataset.column_values(PII_SAMPLE_VALUES))
        sample = mask_rows(dataset.sample_rows(SAMPLE_ROWS), findings)
    data = mask_profile(profile.to_dict(), findings)
    data["column_rules"] = rules  # the rules in force: the product's may change before the next upload
    return {
        "profile": data,
        "pii_findings": [asdict(finding) for finding in findings],
        "masked_sample": sample,
        "encoding": profile.encoding,
    }
