"""Downloads: signed links, the versions they deliver, the fingerprinted file, and every refusal before a byte."""

import csv
import hashlib
import io
from decimal import Decimal

import duckdb
import pytest
from django.core import signing
from django.utils import timezone

from audit.models import AuditEvent
from core.errors import NotFoundError
from marketplace import fingerprint
from marketplace.choices import ContractStatus
from marketplace.models import Contract, Download, Entitlement
from marketplace.services import contracts, downloads
from registry import services as registry_services
from registry.models import ProductVersion
from registry.tasks import version_profile
from tests.factories import member
from tests.factories.accounts import owner_of
from tests.factories.delivery import IP, access_of, buy, buyer_of, fetch
from tests.factories.files import port_csv
from tests.factories.marketplace import contract_on, plan_fields, published_listing, registered_product, regulator
from tests.factories.registry import upload_version

pytestmark = pytest.mark.django_db

CSV = port_csv().encode()


def register_version(product, content: bytes, name: str = "port.csv") -> ProductVersion:
    """A new version of a registered product, profiled, submitted and approved."""
    version = upload_version(product, content, name=name)
    version_profile(version.pk)
    registry_services.version_submit(version=version, by=owner_of(product.organization))
    registry_services.version_approve(version=version, by=regulator(), reason="Same source, new month.")
    return ProductVersion.objects.get(pk=version.pk)


def deliveries() -> int:
    return AuditEvent.objects.filter(action="download.delivered").count()


@pytest.fixture
def product():
    return registered_product(content=CSV)


@pytest.fixture
def listing(product):
    return published_listing(product)


@pytest.fixture
def entitlement(listing):
    return access_of(buy(listing))


# --- delivering ------------------------------------------------------------------------------------------------


def test_a_download_delivers_the_fingerprinted_file_and_logs_it(entitlement):
    # when the buyer downloads
    delivered = fetch(entitlement)
    # then the values are the merchant's, the bytes carry the contract's marks
    assert delivered != CSV
    assert list(csv.reader(io.StringIO(delivered.decode(), newline=""))) == list(
        csv.reader(io.StringIO(CSV.decode(), newline=""))
    )
    # and one download is logged, with the digest and size of what was delivered, and audited
    download = Download.objects.get()
    number = entitlement.contract.number
    assert download.fingerprint == fingerprint.fingerprint_id(number)
    assert (download.size, download.ip_address, download.user) == (len(delivered), IP, buyer_of(entitlement))
    assert download.sha256 == hashlib.sha256(delivered).hexdigest()
    event = AuditEvent.objects.get(action="download.delivered")
    assert event.organization_id == entitlement.contract.buyer_id
    assert event.data["complete"] is True and event.data["contract"] == number


def test_each_buyer_gets_a_file_marked_for_its_contract(listing, entitlement):
    other = access_of(buy(listing))
    first, second = fetch(entitlement), fetch(other)
    assert first != second
    numbers = (entitlement.contract.number, other.contract.number)
    for content, number in ((first, numbers[0]), (second, numbers[1])):
        marks = fingerprint.Marks("csv", records=_marks_of(content))
        assert [match.number for match in fingerprint.score(marks, numbers) if match.named] == [number]


def _marks_of(content: bytes) -> list[tuple[bytes, int]]:
    records = fingerprint._records(io.StringIO(content.decode(), newline=""), ",")
    return [mark for values, quoted, _ in records if (mark := fingerprint._delimited_mark(values, quoted, ","))]


def test_a_member_of_the_buyer_may_use_a_colleagues_link(entitlement):
    token = downloads.download_link(entitlement=entitlement, by=buyer_of(entitlement))
    colleague = member(entitlement.contract.buyer, "viewer")
    assert b"".join(downloads.download_open(token=token, user=colleague).chunks)
    assert Download.objects.get().user == colleague


def test_a_gbk_file_is_delivered_in_gbk():
    product = registered_product(content=port_csv().encode("gbk"))
    entitlement = access_of(buy(published_listing(product)))
    delivered = fetch(entitlement)
    assert "青岛港" in delivered.decode("gbk")
    token = downloads.download_link(entitlement=entitlement, by=buyer_of(entitlement))
    assert downloads.download_open(token=token, user=buyer_of(entitlement)).content_type == "text/csv; charset=gbk"


def test_a_client_that_goes_away_is_logged_with_the_bytes_it_got():
    big = registered_product(content=port_csv(3000).encode())
    entitlement = access_of(buy(published_listing(big)))
    token = downloads.download_link(entitlement=entitlement, by=buyer_of(entitlement))
    chunks = downloads.download_open(token=token, user=buyer_of(entitlement), ip=IP).chunks
    first = next(chunks)
    chunks.close()  # what the server does when the client disconnects
    download = Download.objects.get()
    assert download.size == len(first) < big.versions.get().size
    assert AuditEvent.objects.get(action="download.delivered").data["complete"] is False


def test_a_link_opened_but_never_read_logs_nothing(entitlement):
    token = downloads.download_link(entitlement=entitlement, by=buyer_of(entitlement))
    downloads.download_open(token=token, user=buyer_of(entitlement)).chunks.close()
    assert not Download.objects.exists() and deliveries() == 0


# --- which version -----------------------------------------------------------------------------------------------


def test_a_licence_keeps_the_version_bought_and_a_subscription_gets_new_ones(product):
    listing = published_listing(product, plans=[plan_fields("licence"), plan_fields("subscription")])
    licence, subscription = (access_of(buy(listing, plan=plan)) for plan in listing.plans.order_by("position"))
    new = register_version(product, port_csv(50).encode())
    assert downloads.deliverable_version(licence).number == 1
    assert downloads.deliverable_version(subscription) == new
    assert fetch(subscription).count(b"\n") == 51


def test_parquet_is_delivered_as_parquet_carrying_the_contract(product, tmp_path):
    listing = published_listing(product, plans=[plan_fields("subscription")])
    entitlement = access_of(buy(listing))
    source = tmp_path / "port.parquet"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{_csv_file(tmp_path)}')) TO '{source}' (FORMAT parquet)")
    register_version(product, source.read_bytes(), name="port.parquet")
    delivered = tmp_path / "delivered.parquet"
    delivered.write_bytes(fetch(entitlement))
    matches = fingerprint.score(fingerprint.read_marks(delivered), [entitlement.contract.number, "DBC-2026-999999"])
    assert [match.number for match in matches if match.named] == [entitlement.contract.number]
    assert duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{delivered}')").fetchone() == (300,)


def _csv_file(tmp_path):
    path = tmp_path / "port.csv"
    path.write_bytes(CSV)
    return path


# --- refusals: nothing is delivered, nothing is written -------------------------------------------------------------


def _refused(entitlement, token=None, user=None) -> str:
    user = user or buyer_of(entitlement)
    with pytest.raises((downloads.MarketError, NotFoundError)) as exc:
        token = token or downloads.download_link(entitlement=entitlement, by=user)
        downloads.download_open(token=token, user=user)
    assert not Download.objects.exists() and deliveries() == 0
    return exc.value


def test_an_expired_link_is_refused_with_a_clear_error(entitlement, settings, monkeypatch):
    settings.MARKETPLACE_DOWNLOAD_LINK_SECONDS = 60
    token = downloads.download_link(entitlement=entitlement, by=buyer_of(entitlement))
    later = signing.time.time() + 61
    monkeypatch.setattr(signing.time, "time", lambda: later)
    error = _refused(entitlement, token)
    assert (error.code, error.status) == ("link_expired", 410) and "expired" in str(error.message)


def test_a_tampered_link_is_not_valid(entitlement):
    token = downloads.download_link(entitlement=entitlement, by=buyer_of(entitlement))
    error = _refused(entitlement, token[:-2] + "xx")
    assert (error.code, error.status) == ("link_invalid", 404)


def test_a_download_after_the_contract_expired_is_refused(entitlement):
    # given a link handed out while the contract ran
    token = downloads.download_link(entitlement=entitlement, by=buyer_of(entitlement))
    # when the term ends and the contract expires
    Contract.objects.filter(pk=entitlement.contract_id).update(ends_at=timezone.now() - timezone.timedelta(hours=1))
    contracts.contract_expire(contract=entitlement.contract)
    # then the link no longer works, and says why
    error = _refused(entitlement, token)
    assert (error.code, error.status) == ("entitlement_ended", 403) and "ended" in str(error.message)
    with pytest.raises(downloads.DeliveryRefused):
        downloads.download_link(entitlement=entitlement, by=buyer_of(entitlement))


def test_a_terminated_contract_stops_downloads(entitlement):
    contracts.contract_terminate(contract=entitlement.contract, by=regulator(), reason="Breach of the licence.")
    error = _refused(entitlement)
    assert error.code == "entitlement_ended" and "Breach of the licence." in str(error.message)


def test_the_download_window_of_a_licence_closes_before_the_term(entitlement):
    Entitlement.objects.filter(pk=entitlement.pk).update(ends_at=timezone.now() - timezone.timedelta(minutes=1))
    entitlement.refresh_from_db()
    assert entitlement.contract.status == ContractStatus.ACTIVE
    assert _refused(entitlement).code == "entitlement_ended"


def test_nobody_outside_the_buyer_gets_the_file(entitlement):
    token = downloads.download_link(entitlement=entitlement, by=buyer_of(entitlement))
    merchant = owner_of(entitlement.contract.merchant)
    stranger = owner_of(contract_on(entitlement.contract.listing).buyer)
    for user in (merchant, stranger):
        assert _refused(entitlement, token, user=user).status == 404
        with pytest.raises(NotFoundError):
            downloads.download_link(entitlement=entitlement, by=user)


def test_sandbox_and_api_entitlements_deliver_no_file(product):
    plans = [plan_fields("sandbox", price=Decimal(0)), plan_fields("metered_api")]
    listing = published_listing(product, plans=plans)
    sandbox, api = (access_of(buy(listing, plan=plan)) for plan in listing.plans.order_by("position"))
    assert (sandbox.kind, api.kind) == ("sandbox", "api")
    for entitlement, word in ((sandbox, "sandbox"), (api, "API")):
        with pytest.raises(downloads.DeliveryRefused) as exc:
            downloads.download_link(entitlement=entitlement, by=buyer_of(entitlement))
        assert exc.value.code == "not_downloadable" and word in str(exc.value.message)


def test_a_withdrawn_product_is_not_delivered(product, entitlement):
    registry_services.product_suspend(product=product, by=regulator(), reason="Rights disputed.")
    assert _refused(entitlement).code == "product_unavailable"
