"""`manage.py trace_leak`: a leaked copy names the contract it was delivered under, or nobody."""

import csv
import io
import random

import pytest
from django.core.management import CommandError, call_command

from tests.factories.marketplace import published_listing, registered_product
from tests.marketplace.test_downloads import access_of, buy, fetch
from tests.marketplace.test_fingerprint import port_csv

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
    with pytest.raises(CommandError, match=f"No contract has downloaded a file of product {other.pk}"):
        trace(leak, "--product", str(other.pk))


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        trace(tmp_path / "nothing.csv")
