import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import OrganizationKind, Role
from accounts.models import Membership, Organization, User
from audit.models import AuditEvent
from audit.services import ledger_verify
from registry.models import DataProduct, ProductVersion

# The sectors issue 2 names for the demo data: those a city data exchange has.
NAMED_SECTORS = {
    "agriculture",
    "manufacturing",
    "construction",
    "marine",
    "transport",
    "finance",
    "healthcare",
    "culture_tourism",
    "commerce",
    "social",
}
CAPABILITIES = ("can_sell", "can_buy", "can_operate_public_data", "can_appraise")


def _counts() -> dict[str, int]:
    models = (Organization, User, Membership, DataProduct, ProductVersion, TOTPDevice, AuditEvent)
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.django_db(transaction=True)
def test_seed_demo_is_idempotent_and_complete(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "regulator@demo.databourse.cn" in out and "Databourse-demo-2026" in out
    counts = _counts()

    call_command("seed_demo", "--quiet-logins")

    assert _counts() == counts  # nothing added, not even a ledger event
    assert Organization.objects.filter(status="pending").exists()
    assert set(DataProduct.objects.values_list("status", flat=True)) == {"registered", "submitted", "draft"}
    assert not ProductVersion.objects.exclude(profile_status="done").exists()
    assert ledger_verify().ok
    # One seeding is slow (every file is profiled), so the same run answers the questions below.
    _assert_every_sector_kind_capability_and_role()
    _assert_superuser_and_totp_devices_are_in_the_ledger()
    _assert_demo_trading()


def _assert_every_sector_kind_capability_and_role() -> None:
    registered = set(DataProduct.objects.filter(status="registered").values_list("sector", flat=True))
    assert NAMED_SECTORS - registered == set()
    under_review_or_draft = DataProduct.objects.filter(status__in=["submitted", "draft"])
    assert len(set(under_review_or_draft.values_list("sector", flat=True))) >= 5
    verified = Organization.objects.filter(status="verified")
    assert set(verified.values_list("kind", flat=True)) == set(OrganizationKind.values)
    enterprises = verified.filter(kind=OrganizationKind.ENTERPRISE)
    assert [c for c in CAPABILITIES if not enterprises.filter(**{c: True}).exists()] == []
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    assert Organization.objects.filter(credit_code__startswith="91370100").exists()  # a Jinan member too


def _assert_demo_trading() -> None:
    """Every merchant's registered product is on the exchange; the demo buyer has traded and asked for data."""
    from marketplace.models import Contract, Listing, Offer, Review

    registered = DataProduct.objects.filter(status="registered", organization__can_sell=True)
    assert set(Listing.objects.published().values_list("product", flat=True)) == set(
        registered.values_list("pk", flat=True)
    )
    assert set(Contract.objects.values_list("status", flat=True)) == {"active", "awaiting_payment"}
    assert Review.objects.exists() and Offer.objects.filter(status="pending").exists()


def _assert_superuser_and_totp_devices_are_in_the_ledger() -> None:
    admin = User.objects.get(email="admin@demo.databourse.cn", is_superuser=True)
    assert AuditEvent.objects.filter(action="user.superuser_created", object_id=str(admin.pk)).exists()
    devices = {str(pk) for pk in TOTPDevice.objects.values_list("pk", flat=True)}
    audited = set(AuditEvent.objects.filter(action="totp_device.created").values_list("object_id", flat=True))
    assert devices and devices == audited
