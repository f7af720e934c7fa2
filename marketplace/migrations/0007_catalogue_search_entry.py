"""The catalogue's search table (CatalogueSearchEntry): one narrow row per published, indexed listing, kept by a trigger
on PostgreSQL (filled here for the listings there are). SQLite leaves it empty: it searches `search_text`.

The trigger mirrors the listing: a published listing with a search vector has an entry with its publication time,
title and vector; any other listing has none. It fires on the columns it copies and on status, so every write path
keeps it (services, bulk updates, the admin, migrations); the foreign key keeps a TRUNCATE of the listings alone
from leaving entries behind (Django's flush truncates both).
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

TABLE = "marketplace_cataloguesearchentry"
SYNC = f"""
CREATE OR REPLACE FUNCTION marketplace_catalogue_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM {TABLE} WHERE listing_id = OLD.id;
    ELSIF NEW.status = 'published' AND NEW.search_vector IS NOT NULL THEN
        INSERT INTO {TABLE} AS entry (listing_id, published_at, title, vector)
        VALUES (NEW.id, NEW.published_at, NEW.title, NEW.search_vector)
        ON CONFLICT (listing_id) DO UPDATE
            SET published_at = EXCLUDED.published_at, title = EXCLUDED.title, vector = EXCLUDED.vector
            WHERE (entry.published_at, entry.title, entry.vector)
                IS DISTINCT FROM (EXCLUDED.published_at, EXCLUDED.title, EXCLUDED.vector);
    ELSE
        DELETE FROM {TABLE} WHERE listing_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER marketplace_catalogue_search_sync
    AFTER INSERT OR DELETE OR UPDATE OF status, published_at, title, search_vector ON marketplace_listing
    FOR EACH ROW EXECUTE FUNCTION marketplace_catalogue_search_sync();
INSERT INTO {TABLE} (listing_id, published_at, title, vector)
    SELECT id, published_at, title, search_vector FROM marketplace_listing
    WHERE status = 'published' AND search_vector IS NOT NULL;
"""
DROP = """
DROP TRIGGER IF EXISTS marketplace_catalogue_search_sync ON marketplace_listing;
DROP FUNCTION IF EXISTS marketplace_catalogue_search_sync();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SYNC)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0006_listing_rating")]

    operations = [
        migrations.CreateModel(
            name="CatalogueSearchEntry",
            fields=[
                (
                    "listing",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_entry",
                        serialize=False,
                        to="marketplace.listing",
                    ),
                ),  # fmt: skip
                ("published_at", models.DateTimeField(null=True)),
                ("title", models.CharField(max_length=200)),
                ("vector", django.contrib.postgres.search.SearchVectorField()),
            ],
            options={"indexes": [models.Index(fields=["-published_at", "-listing"], name="catalogue_search_newest")]},
        ),
        migrations.RunPython(create, drop),
    ]
