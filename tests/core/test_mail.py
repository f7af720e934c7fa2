# ruff: noqa: RUF001 - the Chinese mail text has full-width punctuation on purpose
"""Mail in each recipient's language: grouping by preference, rendering inside the override, a refusing server."""

import logging

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import mail as core_mail
from core.mail import recipient_languages, send_mail_to
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEMPLATE = "accounts/email/verification_decision.txt"
# Strings the shipped zh_Hans catalogue translates already.
SUBJECT = gettext_lazy("Accept the invitation here:")
SUBJECT_ZH = "点击此处接受邀请："


@pytest.fixture
def rendered_in(monkeypatch):
    """Record the language active while each body is rendered."""
    languages = []

    def render(template, context):
        languages.append(translation.get_language())
        return f"body in {translation.get_language()}"

    monkeypatch.setattr(core_mail, "render_to_string", render)
    return languages


def test_recipients_are_grouped_by_preference_each_address_once(django_assert_num_queries):
    # given users with and without a preference, and bare addresses (one of them a Chinese user's)
    zh = UserFactory(email="wang@example.com", language="zh-hans")
    en = UserFactory(email="smith@example.com", language="en")
    blank = UserFactory(email="li@example.com", language="")
    recipients = [en, "WANG@example.com", blank, "nobody@example.com", zh, "smith@example.com"]
    # when / then: one query finds the users behind the bare addresses
    with django_assert_num_queries(1):
        groups = recipient_languages(recipients)
    assert groups == {
        "en": ["li@example.com", "nobody@example.com", "smith@example.com"],
        "zh-hans": ["WANG@example.com"],
    }


def test_users_need_no_query_and_a_fallback_applies_to_those_without_preference(django_assert_num_queries):
    users = [UserFactory(language=""), UserFactory(language="fr"), UserFactory(language="en")]
    with django_assert_num_queries(0):
        groups = recipient_languages(users, default="zh-hans")
    assert sorted(groups) == ["en", "zh-hans"]
    assert groups["zh-hans"] == sorted(user.email for user in users[:2])  # "fr" is not one of settings.LANGUAGES


def test_each_language_group_gets_one_message_rendered_in_its_language(rendered_in):
    # given a worker or a request that is in Chinese
    translation.activate("zh-hans")
    zh, en = UserFactory(language="zh-hans"), UserFactory(language="en")
    # when
    sent = send_mail_to([zh, en, "guest@example.com"], SUBJECT, TEMPLATE, {})
    # then: English (the site default) for the user and the address without a preference, whatever was active
    assert sent == 3 and rendered_in == ["en", "zh-hans"]
    english, chinese = mail.outbox
    assert sorted(english.to) == sorted([en.email, "guest@example.com"]) and chinese.to == [zh.email]
    assert (english.subject, english.body) == ("Accept the invitation here:", "body in en")
    assert (chinese.subject, chinese.body) == (SUBJECT_ZH, "body in zh-hans")
    assert translation.get_language() == "zh-hans"  # the caller's language is restored


def test_a_callable_subject_is_formatted_inside_the_override(rendered_in):
    user = UserFactory(language="zh-hans")
    send_mail_to([user], lambda: _("Databourse: %(org)s is now %(status)s") % {"org": "A", "status": "B"}, TEMPLATE)
    assert mail.outbox[0].subject == "Databourse：A的认证状态变更为“B”"


def test_real_templates_are_translated():
    reader = UserFactory(language="zh-hans")
    context = {"organization": {"name": "Qingdao Data", "get_status_display": "Verified", "status_reason": "OK"}}
    send_mail_to([reader, "someone@example.com"], SUBJECT, TEMPLATE, context)
    english, chinese = mail.outbox
    assert "Reason given by the regulator:" in english.body and "监管机构给出的理由：" in chinese.body


def test_a_refusing_mail_server_is_logged_and_counted_out(monkeypatch, caplog, rendered_in):
    delivered = []

    def refuse_chinese(*, subject, message, from_email, recipient_list):
        if translation.get_language() == "zh-hans":
            raise OSError("SMTP down")
        delivered.append(message)

    monkeypatch.setattr(core_mail, "send_mail", refuse_chinese)
    with caplog.at_level(logging.WARNING, logger="core.mail"):
        sent = send_mail_to([UserFactory(language="zh-hans"), "a@example.com", "b@example.com"], SUBJECT, TEMPLATE)
    assert sent == 2 and delivered == ["body in en"]
    assert "Could not mail" in caplog.text and "zh-hans" in caplog.text


def test_nobody_to_mail(rendered_in):
    assert send_mail_to([], SUBJECT, TEMPLATE) == 0
    assert send_mail_to(["", UserFactory.build(email="")], SUBJECT, TEMPLATE) == 0
    assert mail.outbox == [] and rendered_in == []


def test_a_subject_is_one_line(rendered_in):
    send_mail_to(["a@example.com"], "Two\nlines ", TEMPLATE)
    assert mail.outbox[0].subject == "Two lines"
