"""The built-in negative-list rules (national data security rules and personal-information protection)."""

from django.db import migrations

BUILTIN = [
    ("core-data", "core_data", "Core data is not traded",
     "Core data cannot be registered for trading (national data security rules)."),
    ("pii-not-deidentified", "pii_not_deidentified", "Personal information must be de-identified",
     "The product contains personal information but says nothing about how it was de-identified; "
     "personal information that is not de-identified cannot be listed."),
    ("level4-sandbox-only", "level4_sandbox_only", "Level-4 data only through the sandbox",
     "Highly sensitive (level 4) data can only be offered through the sandbox, never as a download or API."),
]


def create(apps, schema_editor):
    Rule = apps.get_model("registry", "NegativeListRule")
    for code, kind, name, message in BUILTIN:
        Rule.objects.update_or_create(code=code, defaults={"kind": kind, "name": name, "message": message})


def remove(apps, schema_editor):
    apps.get_model("registry", "NegativeListRule").objects.filter(code__in=[b[0] for b in BUILTIN]).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
