"""Factories for every model; tests build data with these, never with fixture files."""

from tests.factories.accounts import (
    ApiKeyFactory,
    InvitationFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    credit_code,
    member,
)

__all__ = [
    "ApiKeyFactory",
    "InvitationFactory",
    "MembershipFactory",
    "OrganizationFactory",
    "UserFactory",
    "credit_code",
    "member",
]
