"""`python manage.py trace_leak FILE [--product ID]`: name the contract a leaked copy of a delivered file came from.

Candidates are the contracts that had a file delivered: downloads, and what other apps deliver (the sandbox's
released results, through `downloads.on_leak_candidates`). A text file with fewer distinct marked records than
MIN_Z² cannot name anybody even if every record matches (z = sqrt(n)), so it is reported as too short to trace.
"""

import math
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from marketplace import fingerprint
from marketplace.models import Contract, Download
from marketplace.services.downloads import delivery_log, leak_candidates
from registry.encoding import UndecodableError
from registry.profiling import ProfilingError

DOWNLOADS_SHOWN = 10
# The fewest distinct records that can reach the threshold: n records all matching give z = sqrt(n).
MIN_TRACE_RECORDS = math.ceil(fingerprint.MIN_Z**2)


class Command(BaseCommand):
    help = (
        "Compare a leaked file's per-record fingerprint with every contract that had a file of the product delivered "
        "(downloads, released sandbox results) and name the contract it came from (confidence: binomial z-score; "
        f"nobody is named below z = {fingerprint.MIN_Z:g}, which needs at least {MIN_TRACE_RECORDS} distinct records)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The leaked copy (CSV, TSV, JSON Lines or Parquet; any name, any encoding).")
        parser.add_argument("--product", type=int, help="Only compare contracts on this data product (its id).")
        parser.add_argument(
            "--max-records", type=int, default=fingerprint.MAX_TRACE_RECORDS, help="Distinct records to read at most."
        )

    def handle(self, *args, file: str, product: int | None, max_records: int, **options) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        try:
            marks = fingerprint.read_marks(path, limit=max_records)
        except (ProfilingError, UndecodableError, UnicodeDecodeError, OSError) as exc:
            raise CommandError(f"{path} cannot be read: {exc}") from exc
        contracts = {contract.number: contract for contract in leak_candidates(product_id=product)}
        if not contracts:
            raise CommandError("No contract has had a file delivered" + (f" of product {product}." if product else "."))
        self._describe(marks, len(contracts))
        if marks.file_format != "parquet" and len(marks.records) < MIN_TRACE_RECORDS:
            raise CommandError(self._too_few(marks))
        results = fingerprint.score(marks, contracts)
        named = [match for match in results if match.named]
        if not named:
            raise CommandError(self._no_match(marks, results))
        for match in named:
            self._report(contracts[match.number], match)

    def _describe(self, marks: fingerprint.Marks, candidates: int) -> None:
        if marks.file_format == "parquet":
            found = "a fingerprint in its metadata" if marks.metadata.get(fingerprint.PARQUET_ID_KEY) else "no metadata"
            self.stdout.write(f"Parquet file with {found}; {candidates} candidate contract(s).")
        else:
            self.stdout.write(
                f"{marks.file_format.upper()} file: {len(marks.records)} distinct marked records; "
                f"{candidates} candidate contract(s)."
            )

    def _too_few(self, marks: fingerprint.Marks) -> str:
        return (
            f"Too few rows to trace: the file has {len(marks.records)} distinct marked record(s), and naming a "
            f"contract needs at least {MIN_TRACE_RECORDS} (z = {fingerprint.MIN_Z:g} when every record matches). "
            "Small results, such as a sandbox export of a few aggregated groups, cannot be traced by their fingerprint."
        )

    def _no_match(self, marks: fingerprint.Marks, results: list[fingerprint.Match]) -> str:
        if marks.file_format != "parquet" and marks.uniform:
            return (
                "No contract matches: every record of this file is formatted alike, so it has been re-exported "
                "(a spreadsheet, a database, pandas) or is too short, and carries no readable fingerprint."
            )
        best = results[0]
        if marks.file_format == "parquet":
            return "No contract matches: the file carries no fingerprint of any candidate (re-written or not ours)."
        return (
            f"No contract matches. Best: {best.number}, {best.matches} of {best.records} records "
            f"({best.share:.1%}), z = {best.z:.1f}, below the threshold of {fingerprint.MIN_Z:g}."
        )

    def _report(self, contract: Contract, match: fingerprint.Match) -> None:
        buyer = contract.buyer
        self.stdout.write(self.style.SUCCESS(f"Contract {contract.number}"))
        self.stdout.write(f"  buyer:      {buyer.name} ({buyer.credit_code})")
        self.stdout.write(f"  product:    {contract.listing.product.title} (listing {contract.listing.title})")
        if match.method == "metadata":
            self.stdout.write("  confidence: certain (the Parquet metadata carries this contract's keyed tag)")
        else:
            self.stdout.write(
                f"  confidence: {match.matches} of {match.records} records match ({match.share:.1%}), "
                f"z = {match.z:.1f} (threshold {fingerprint.MIN_Z:g})"
            )
        delivered = Download.objects.filter(entitlement__contract=contract).select_related("user", "version")
        for download in delivered.order_by("-created_at")[:DOWNLOADS_SHOWN]:
            when = timezone.localtime(download.created_at).strftime("%Y-%m-%d %H:%M:%S %Z")
            self.stdout.write(
                f"  downloaded: {when} by {download.user.email} from {download.ip_address or '-'}, "
                f"v{download.version.number}, {download.size} bytes, sha256 {download.sha256}"
            )
        for entry in delivery_log(contract)[:DOWNLOADS_SHOWN]:
            when = timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S %Z")
            self.stdout.write(f"  downloaded: {when} by {entry.email} from {entry.ip or '-'}, {entry.what}")
