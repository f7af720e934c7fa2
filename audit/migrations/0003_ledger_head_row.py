"""Create the single ledger head row that every append locks."""

from django.db import migrations


def create_head(apps, schema_editor):
    LedgerHead = apps.get_model("audit", "LedgerHead")
    LedgerHead.objects.get_or_create(pk=1, defaults={"sequence": 0, "hash": "0" * 64})


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
