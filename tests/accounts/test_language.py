# ruff: noqa: RUF001 - the Chinese mail text has full-width punctuation on purpose
"""A user's language: saved by the language switch and at sign-up, and the language of the mail they get."""

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts import services
from accounts.models import User
from tests.factories import InvitationFactory, OrganizationFactory, UserFactory
from tests.factories.accounts import NEW_PASSWORD, owner_of, signup_data

pytestmark = pytest.mark.django_db

SWITCH = reverse("set_language")


def switch(client, language: str, next_url: str = "/market/"):
    return client.post(SWITCH, {"language": language, "next": next_url})


# --- the preference ----------------------------------------------------------------------------------------------


def test_a_signed_in_users_switch_is_saved_as_their_preference(client):
    user = UserFactory()
    client.force_login(user)
    response = switch(client, "zh-hans")
    assert response.status_code == 302 and response.url == "/market/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    user.refresh_from_db()
    assert user.language == "zh-hans"
    switch(client, "en")
    user.refresh_from_db()
    assert user.language == "en"


def test_a_guest_switches_with_the_cookie_only(client):
    response = switch(client, "zh-hans")
    assert response.status_code == 302 and response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_a_language_the_site_does_not_offer_is_not_saved(client):
    user = UserFactory(language="en")
    client.force_login(user)
    switch(client, "fr")
    user.refresh_from_db()
    assert user.language == "en"


def test_next_must_stay_on_the_site(client):
    client.force_login(UserFactory())
    response = switch(client, "zh-hans", next_url="https://evil.example/phish")
    assert response.status_code == 302 and response.url == "/"


def test_the_switch_needs_the_csrf_token():
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert switch(client, "zh-hans").status_code == 403
    user.refresh_from_db()
    assert user.language == ""


def test_signing_up_keeps_the_language_of_the_page(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert client.post(reverse("accounts:register"), signup_data()).status_code == 302
    assert User.objects.get(email="wang.fang@example.com").language == "zh-hans"


def test_an_invited_guest_signing_up_keeps_the_language_of_the_page(client, org):
    _invitation, token = InvitationFactory(organization=org, email="guest@example.com")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    data = {"full_name": "Guest", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client.post(reverse("accounts:invitation_signup", args=[token]), data).status_code == 302
    assert User.objects.get(email="guest@example.com").language == "zh-hans"


# --- the verification decision ------------------------------------------------------------------------------------


@pytest.fixture
def regulator():
    return owner_of(OrganizationFactory(kind="regulator", can_sell=False, can_buy=False))


def _pending(*, owner_language: str, **fields):
    org = OrganizationFactory(status="pending", owner=UserFactory(language=owner_language), **fields)
    licence = SimpleUploadedFile("l.pdf", b"%PDF-1.4 licence scan")
    return services.organization_upload_licence(organization=org, by=owner_of(org), licence=licence)


def test_the_decision_is_mailed_in_the_owners_language(regulator, django_capture_on_commit_callbacks):
    # given a Chinese-speaking and an English-speaking owner, and a regulator working in Chinese
    chinese = _pending(owner_language="zh-hans", name="Qingdao Harbour Data")
    english = _pending(owner_language="en", name="Yantai Ocean Data")
    translation.activate("zh-hans")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.organization_reject(organization=chinese, by=regulator, reason="Blurred.")
        services.organization_reject(organization=english, by=regulator, reason="Blurred.")
    # then
    to_chinese, to_english = mail.outbox
    assert to_chinese.subject == "Databourse：Qingdao Harbour Data的认证状态变更为“已驳回”"
    assert "监管机构给出的理由：" in to_chinese.body and "Blurred." in to_chinese.body
    assert to_english.subject == "Databourse: Yantai Ocean Data is now Rejected"
    assert "Reason given by the regulator:" in to_english.body


def test_a_contact_with_an_account_gets_their_own_language(regulator, django_capture_on_commit_callbacks):
    contact = UserFactory(language="en")
    org = _pending(owner_language="zh-hans", contact_email=contact.email)
    with django_capture_on_commit_callbacks(execute=True):
        services.organization_reject(organization=org, by=regulator, reason="Blurred.")
    assert mail.outbox[0].to == [contact.email] and mail.outbox[0].subject.endswith("is now Rejected")


# --- invitations ---------------------------------------------------------------------------------------------------


def test_an_invitation_is_in_the_invitees_language_or_else_the_inviters(django_capture_on_commit_callbacks):
    # given an English-speaking and a Chinese-speaking inviter, and an invitee who has an account in Chinese
    english_org = OrganizationFactory(owner=UserFactory(language="en"), name="Weihai Data")
    chinese_org = OrganizationFactory(owner=UserFactory(language="zh-hans"), name="Rizhao Data")
    UserFactory(email="wang@example.com", language="zh-hans")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        InvitationFactory(organization=english_org, email="wang@example.com")
        InvitationFactory(organization=chinese_org, email="new@example.com")
        InvitationFactory(organization=english_org, email="smith@example.com")
    # then
    to_wang, to_new, to_smith = mail.outbox
    assert to_wang.subject == "您受邀加入 Databourse 上的Weihai Data" and "点击此处接受邀请：" in to_wang.body
    assert to_new.subject == "您受邀加入 Databourse 上的Rizhao Data"
    assert to_smith.subject == "You are invited to join Weihai Data on Databourse"
    assert "Accept the invitation here:" in to_smith.body


def test_names_in_plain_text_mail_are_not_html_escaped(django_capture_on_commit_callbacks):
    org = OrganizationFactory(name="Smith & Wang Data")
    with django_capture_on_commit_callbacks(execute=True):
        InvitationFactory(organization=org, email="new@example.com")
    assert "Smith & Wang Data" in mail.outbox[0].body and "&amp;" not in mail.outbox[0].body
