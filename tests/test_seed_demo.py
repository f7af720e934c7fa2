import pytest
from django.core.management import call_command

from accounts.models import Organization, User
from audit.services import ledger_verify
from registry.models import DataProduct, ProductVersion


@pytest.mark.django_db(transaction=True)
def test_seed_demo_is_idempotent_and_complete(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "regulator@demo.databourse.cn" in out and "Databourse-demo-2026" in out
    counts = (Organization.objects.count(), User.objects.count(), DataProduct.objects.count())
    call_command("seed_demo", "--quiet-logins")
    assert (Organization.objects.count(), User.objects.count(), DataProduct.objects.count()) == counts
    assert Organization.objects.filter(kind="regulator", status="verified").exists()
    assert Organization.objects.filter(status="pending").exists()
    assert set(DataProduct.objects.values_list("status", flat=True)) == {"registered", "submitted", "draft"}
    assert not ProductVersion.objects.exclude(profile_status="done").exists()
    assert ledger_verify().ok
