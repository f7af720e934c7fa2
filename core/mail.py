"""Mail in each recipient's language, whatever language is active where it is sent (a request, a Celery worker).

Recipients are grouped by their preferred language (`User.language`); each group gets one message whose subject and
body are rendered inside `translation.override` of that language. Subjects are therefore passed lazily: a
`gettext_lazy` string, or a callable that formats a `gettext` string when it is called.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.functional import Promise

__all__ = ["Subject", "send_mail_to"]
logger = logging.getLogger(__name__)
Subject = str | Promise | Callable[[], str]


def send_mail_to(
    recipients: Iterable[Any],
    subject: Subject,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    language: str | None = None,
) -> int:
    """Mail `template` to users or addresses, each in their own language; returns how many addresses were mailed.

    An address with no user, or a user with no preference, gets `language` (default: the site's). A mail server
    that refuses is logged, not raised: callers send notices about facts that stand either way.
    """
    context = {"site_url": settings.SITE_URL, **(context or {})}
    sent = 0
    for lang, addresses in sorted(recipient_languages(recipients, default=language).items()):
        with translation.override(lang):
            sent += _send(_subject_text(subject), render_to_string(template, context), addresses, template, lang)
    return sent


def recipient_languages(recipients: Iterable[Any], *, default: str | None = None) -> dict[str, list[str]]:
    """Addresses grouped by language, each address once (case-insensitively), sorted within a group."""
    by_email: dict[str, tuple[str, str]] = {}  # lower-cased address -> (address, preference)
    for recipient in recipients:
        email, preference = (recipient, None) if isinstance(recipient, str) else (recipient.email, recipient.language)
        if email and email.lower() not in by_email:
            by_email[email.lower()] = (email, preference)
    _fill_preferences(by_email)
    groups: dict[str, list[str]] = defaultdict(list)
    for email, preference in by_email.values():
        groups[_supported(preference) or _supported(default) or settings.LANGUAGE_CODE].append(email)
    return {lang: sorted(emails) for lang, emails in groups.items()}


def _fill_preferences(by_email: dict[str, tuple[str, str | None]]) -> None:
    """Look up, in one query, the preference of the users behind bare addresses."""
    bare = [key for key, (_email, preference) in by_email.items() if preference is None]
    if not bare:
        return
    users = get_user_model().objects.filter(email__in=bare).values_list("email", "language")
    for email, preference in users:
        key = email.lower()
        by_email[key] = (by_email[key][0], preference)


def _supported(language: str | None) -> str | None:
    return language if language in dict(settings.LANGUAGES) else None


def _subject_text(subject: Subject) -> str:
    # Mail headers are one line: a translator's stray newline must not break the message.
    text = str(subject() if callable(subject) else subject)
    return " ".join(text.split())


def _send(subject: str, body: str, addresses: list[str], template: str, language: str) -> int:
    try:
        send_mail(subject=subject, message=body, from_email=None, recipient_list=addresses)
    except OSError:
        logger.warning("Could not mail %s to %d recipients (%s)", template, len(addresses), language, exc_info=True)
        return 0
    return len(addresses)
