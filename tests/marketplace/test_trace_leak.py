"""`manage.py trace_leak`: a leaked copy names the contract it was delivered under, or nobody."""

import csv
import io
import random

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from marketplace.services import downloads
from tests.factories.delivery import access_of, buy, fetch
from tests.factories.files import port_csv
from tests.factories.marketplace import published_listing, registered_product

pytestmark = pytest.mark.django_db


def trace(path, *args) -> str:
    out = io.StringIO()
    call_command("trace_leak", str(path), *args, stdout=out)
    return out.getvalue()


def shuffled_without_header(content: bytes, keep: float = 0.7, encoding: str = "utf-8") -> str:
    records = content.decode(encoding).splitlines(keepends=True)[1:]
    random.Random(42).shuffle(records)
    return "".join(records[: int(len(records) * keep)])


@pytest.fixture
def sold():
    """One product bought and downloaded by three buyers: (product, [entitlement, ...], [delivered bytes, ...])."""
    product = registered_product(content=port_csv().encode())
    listing = published_listing(product)
    entitlements = [access_of(buy(listing)) for _ in range(3)]
    return product, entitlements, [fetch(entitlement) for entitlement in entitlements]


def test_a_shuffled_excerpt_without_header_names_its_contract(sold, tmp_path):
    # given the second buyer's copy, shuffled, its header and 30 % of its rows dropped
    product, entitlements, copies = sold
    leak = tmp_path / "found-on-a-forum.csv"
    leak.write_text(shuffled_without_header(copies[1]))
    # when it is traced
    report = trace(leak, "--product", str(product.pk))
    # then the second contract is named with its buyer, its download and the confidence; the others are not
    source = entitlements[1].contract
    assert f"Contract {source.number}" in report and source.buyer.name in report
    assert "210 of 210 records match (100.0%)" in report and "downloaded: " in report
    for other in (entitlements[0], entitlements[2]):
        assert other.contract.number not in report
    assert "3 candidate contract(s)" in report


def test_a_gbk_delivery_reencoded_to_utf8_still_names_its_contract(tmp_path):
    product = registered_product(content=port_csv().encode("gbk"))
    listing = published_listing(product)
    first, second = access_of(buy(listing)), access_of(buy(listing))
    fetch(first)
    leak = tmp_path / "leak.csv"
    leak.write_text(shuffled_without_header(fetch(second), encoding="gbk"), encoding="utf-8")
    report = trace(leak)
    assert f"Contract {second.contract.number}" in report and first.contract.number not in report


def test_a_file_never_delivered_matches_nobody(sold, tmp_path):
    leak = tmp_path / "other.csv"
    leak.write_text(shuffled_without_header(port_csv().encode()) + "2027-01-01,Dalian,B1,5,x\n")
    with pytest.raises(CommandError, match="No contract matches"):
        trace(leak)


def test_a_spreadsheet_reexport_is_reported_as_untraceable(sold, tmp_path):
    rows = list(csv.reader(io.StringIO(sold[2][0].decode(), newline="")))
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    leak = tmp_path / "reexported.csv"
    leak.write_text(out.getvalue())
    with pytest.raises(CommandError, match="re-exported"):
        trace(leak)


def test_only_contracts_of_the_product_are_compared(sold, tmp_path):
    other = registered_product()
    leak = tmp_path / "leak.csv"
    leak.write_bytes(sold[2][0])
    with pytest.raises(CommandError, match=f"No contract has had a file delivered of product {other.pk}"):
        trace(leak, "--product", str(other.pk))


def test_an_excerpt_too_short_to_reach_the_threshold_says_so(sold, tmp_path):
    # 24 distinct records all matching give z = 4.9: nobody can be named, whatever the file says; 25 give z = 5
    _product, entitlements, copies = sold
    records = copies[1].splitlines(keepends=True)[1:]
    leak = tmp_path / "excerpt.csv"
    leak.write_bytes(b"".join(records[:24]))
    with pytest.raises(CommandError, match="Too few rows to trace: the file has 24 distinct marked record"):
        trace(leak)
    leak.write_bytes(b"".join(records[:25]))
    assert f"Contract {entitlements[1].contract.number}" in trace(leak)


def test_apps_add_candidates_and_their_delivery_log_through_hooks(sold, monkeypatch):
    product, entitlements, _copies = sold
    elsewhere = access_of(buy(published_listing(product)))  # a contract with no download
    entry = downloads.DeliveryLogEntry(at=timezone.now(), email="someone@example.com", ip=None, what="a report")
    monkeypatch.setattr(downloads, "LEAK_CANDIDATE_HOOKS", [])
    monkeypatch.setattr(downloads, "DELIVERY_LOG_HOOKS", [])
    assert elsewhere.contract not in downloads.leak_candidates(product_id=product.pk)

    downloads.on_leak_candidates(lambda *, product_id: [elsewhere.contract_id])
    downloads.on_delivery_log(lambda *, contract: [entry] if contract == elsewhere.contract else [])
    assert set(downloads.leak_candidates(product_id=product.pk)) == {
        *(entitlement.contract for entitlement in entitlements), elsewhere.contract,
    }  # fmt: skip
    assert not downloads.leak_candidates(product_id=registered_product().pk).exists()
    assert downloads.delivery_log(elsewhere.contract) == [entry]


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        trace(tmp_path / "nothing.csv")
