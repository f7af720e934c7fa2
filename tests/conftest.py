import pytest
from rest_framework.test import APIClient

from tests.factories import OrganizationFactory
from tests.factories.accounts import PASSWORD, owner_of


@pytest.fixture(autouse=True)
def _media_and_cache(settings, tmp_path):
    from django.core.cache import cache

    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def org(db):
    """A verified enterprise organisation."""
    return OrganizationFactory()


@pytest.fixture
def other_org(db):
    """Another verified organisation: its objects must be invisible to `org`'s members."""
    return OrganizationFactory()


@pytest.fixture
def owner(org):
    return owner_of(org)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
