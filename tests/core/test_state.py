"""transition_to refuses a move its TRANSITIONS table does not allow, with a translatable message."""

import pytest

from accounts.choices import VerificationStatus
from audit.models import AuditEvent
from core import state
from core.errors import InvalidTransition
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_refused_transition_names_the_model_and_both_states_and_writes_nothing():
    org = OrganizationFactory(status=VerificationStatus.PENDING)
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidTransition) as exc:
        org.transition_to(VerificationStatus.SUSPENDED)
    assert exc.value.code == "invalid_transition"
    assert str(exc.value) == "organisation: pending → suspended is not allowed."
    org.refresh_from_db()
    assert org.status == VerificationStatus.PENDING
    assert AuditEvent.objects.count() == before


def test_refusal_message_goes_through_gettext_with_placeholders(monkeypatch):
    catalogue = {"%(model)s: %(old)s → %(new)s is not allowed.": "%(model)s 不允许从 %(old)s 变为 %(new)s。"}
    monkeypatch.setattr(state, "_", lambda message: catalogue.get(message, message))
    org = OrganizationFactory(status=VerificationStatus.PENDING)
    with pytest.raises(InvalidTransition) as exc:
        org.transition_to(VerificationStatus.SUSPENDED)
    assert str(exc.value) == "organisation 不允许从 pending 变为 suspended。"
