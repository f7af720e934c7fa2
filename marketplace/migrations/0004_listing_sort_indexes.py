"""Indexes for the catalogue's sorts by price and by quality, NULLs last, on PostgreSQL only (SQLite cannot
index NULLS LAST; the one-command run's catalogue is small)."""

from django.db import migrations

INDEXES = {
    "listing_price_asc": "(status, min_price ASC NULLS LAST)",
    "listing_price_desc": "(status, min_price DESC NULLS LAST)",
    "listing_quality_desc": "(status, quality_score DESC NULLS LAST)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, columns in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON marketplace_listing {columns}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0003_offer_pending_usage_index")]
    operations = [migrations.RunPython(create, drop)]
