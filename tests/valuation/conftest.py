import pytest

from tests.factories.registry import DataProductFactory, upload_version
from tests.factories.valuation import valuation_of
from valuation.models import Valuation

CLEAN_CSV = b"date,tons\n" + b"".join(b"2026-11-%02d,%d\n" % (d, d) for d in range(1, 11))


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Request a valuation and let its (eager) Celery task run; returns it fresh."""

    def request(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            valuation = valuation_of(*args, **kwargs)
        return Valuation.objects.get(pk=valuation.pk)

    return request


@pytest.fixture
def product(django_capture_on_commit_callbacks):
    """A draft product with one profiled version (ten days of dated figures: a quality score to value with)."""
    product = DataProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        upload_version(product, CLEAN_CSV)
    return product
