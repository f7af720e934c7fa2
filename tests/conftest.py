import pytest
from rest_framework.test import APIClient

from tests.factories import OrganizationFactory
from tests.factories.accounts import PASSWORD, owner_of


@pytest.fixture(autouse=True)
def _media_and_cache(settings, tmp_path):
    """Each test gets empty file storage (the in-memory storage otherwise outlives a test) and an empty cache."""
    from django.core.cache import cache
    from django.core.files.storage import default_storage, storages
    from django.utils.functional import empty

    settings.MEDIA_ROOT = tmp_path / "media"
    storages._storages = {}
    default_storage._wrapped = empty
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in zh-hans must not leave the next test in Chinese."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


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
