import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import VerificationStatus
from accounts.models import Organization
from audit.models import AuditEvent
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import PASSWORD, owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def regulator():
    org = OrganizationFactory(kind="regulator", can_buy=False)
    return member(org, "admin")


def _otp_login(client, user):
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture
def pending_org():
    org = OrganizationFactory(status=VerificationStatus.PENDING)
    org.business_licence.save("licence.pdf", ContentFile(b"%PDF-1.4 scan"), save=True)
    return org


def test_admin_login_requires_a_totp_token(client, regulator, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp delays retries after a failure; not what is tested here
    device = TOTPDevice.objects.create(user=regulator, name="phone", confirmed=True)
    url = reverse("admin:login")
    response = client.post(
        url,
        {"username": regulator.email, "password": PASSWORD, "otp_device": device.persistent_id, "otp_token": "000000"},
    )
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated
    token = f"{totp(device.bin_key):06d}"
    response = client.post(
        url,
        {
            "username": regulator.email,
            "password": PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": token,
            "next": "/admin/",
        },
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_staff_without_verified_device_is_kept_out(client, regulator):
    client.force_login(regulator)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_non_regulators_are_kept_out(client, org):
    client.force_login(owner_of(org))
    assert client.get("/admin/").status_code == 302


def test_regulator_reviews_the_queue_and_verifies_with_a_reason(client, regulator, pending_org):
    _otp_login(client, regulator)
    listing = client.get(reverse("admin:accounts_organization_changelist") + "?status__exact=pending")
    assert pending_org.name in listing.content.decode()
    page = client.get(reverse("admin:accounts_organization_change", args=[pending_org.pk]))
    assert b"decide/verify/" in page.content and b"decide/suspend/" not in page.content
    url = reverse("admin:accounts_organization_decide", args=[pending_org.pk, "verify"])
    empty = client.post(url, {"reason": ""})
    assert empty.status_code == 200 and b"required" in empty.content.lower()
    response = client.post(url, {"reason": "Licence checked against the registry."})
    assert response.status_code == 302
    pending_org.refresh_from_db()
    assert pending_org.status == VerificationStatus.VERIFIED
    event = AuditEvent.objects.get(action="organization.verified", object_id=str(pending_org.pk))
    assert event.actor_id == str(regulator.pk)


def test_bulk_reject_action_asks_for_a_reason(client, regulator, pending_org):
    _otp_login(client, regulator)
    url = reverse("admin:accounts_organization_changelist")
    data = {"action": "decide_reject", "_selected_action": [pending_org.pk]}
    ask = client.post(url, data)
    assert ask.status_code == 200 and b"reason" in ask.content
    done = client.post(url, {**data, "reason": "Licence expired."})
    assert done.status_code == 302
    assert Organization.objects.get(pk=pending_org.pk).status == VerificationStatus.REJECTED


def test_licence_opens_for_regulators(client, regulator, pending_org):
    _otp_login(client, regulator)
    response = client.get(reverse("admin:accounts_organization_licence", args=[pending_org.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_ledger_is_read_only_in_the_admin(client, regulator, pending_org):
    _otp_login(client, regulator)
    event = AuditEvent.objects.first()
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    page = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
