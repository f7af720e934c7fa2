"""The catalogue's filters read the listing alone: its product's sector and classification and the kinds of its active
plans are stored on it (filled here for the listings there are). On PostgreSQL only, partial indexes over the published
listings follow each sort and filter of the catalogue (SQLite can neither index NULLS LAST nor include columns; the
one-command run's catalogue is small).

Each index ends with the newest-first tie-breakers, so that a page is an index's first entries. The newest-first one
includes every other filter column, so that the capped count (at most 1,001 entries, marketplace.filters.MAX_RESULTS)
of any combination of filters is an index-only scan; the sort and the selective filters' indexes are counted off their
own keys. A search walks the newest-first index (a common word's newest matches come first) or, for a rare word, the
GIN index of 0002. These replace 0004's (status, price or quality) indexes.
"""

from django.db import migrations, models
from django.db.models import Case, Exists, OuterRef, Subquery, Value, When
from django.db.models.functions import Concat, Trim

PLAN_KINDS = ("licence", "subscription", "metered_api", "sandbox")  # PlanKind's order, frozen here
FILTERS = "sector, classification, organization_id, min_price, quality_score, plan_kinds"
NEWEST = "published_at DESC, id DESC"
PUBLISHED = "WHERE status = 'published'"
INDEXES = {
    "listing_catalogue_newest": f"({NEWEST}) INCLUDE ({FILTERS})",
    "listing_catalogue_price": f"(min_price ASC NULLS LAST, {NEWEST})",
    "listing_catalogue_price_desc": f"(min_price DESC NULLS LAST, {NEWEST})",
    "listing_catalogue_quality": f"(quality_score DESC NULLS LAST, {NEWEST})",
    "listing_catalogue_sector": f"(sector, {NEWEST})",
    "listing_catalogue_classification": f"(classification, {NEWEST})",
    "listing_catalogue_merchant": f"(organization_id, {NEWEST})",
}
REPLACED = {  # migration 0004's
    "listing_price_asc": "(status, min_price ASC NULLS LAST)",
    "listing_price_desc": "(status, min_price DESC NULLS LAST)",
    "listing_quality_desc": "(status, quality_score DESC NULLS LAST)",
}


def fill(apps, schema_editor):
    """The new fields of the listings there are, as marketplace.search.catalogue_fields computes them."""
    Listing, PricePlan = apps.get_model("marketplace", "Listing"), apps.get_model("marketplace", "PricePlan")
    DataProduct = apps.get_model("registry", "DataProduct")
    active = PricePlan.objects.filter(listing=OuterRef("pk"), is_active=True).order_by()
    product = DataProduct.objects.filter(pk=OuterRef("product_id"))
    kinds = [Case(When(Exists(active.filter(kind=kind)), then=Value(f"{kind} ")), default=Value(""))
             for kind in PLAN_KINDS]  # fmt: skip
    Listing.objects.using(schema_editor.connection.alias).update(
        sector=Subquery(product.values("sector")),
        classification=Subquery(product.values("classification")),
        plan_kinds=Trim(Concat(*kinds)),
    )


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in REPLACED:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        for name, columns in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON marketplace_listing {columns} {PUBLISHED}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        for name, columns in REPLACED.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON marketplace_listing {columns}")


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0004_listing_sort_indexes"), ("registry", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="listing",
            name="sector",
            field=models.CharField(
                blank=True,
                choices=[
                    ("agriculture", "Agriculture"),
                    ("manufacturing", "Manufacturing"),
                    ("construction", "Construction"),
                    ("marine", "Marine"),
                    ("transport", "Transport and logistics"),
                    ("shipping_trade", "Shipping and trade finance"),
                    ("finance", "Finance"),
                    ("healthcare", "Healthcare"),
                    ("culture_tourism", "Culture and tourism"),
                    ("commerce", "Commerce"),
                    ("energy", "Energy"),
                    ("social", "Social services"),
                    ("government", "Public administration"),
                ],
                editable=False,
                max_length=30,
                verbose_name="sector",
            ),
        ),
        migrations.AddField(
            model_name="listing",
            name="classification",
            field=models.CharField(
                blank=True,
                choices=[("general", "General data"), ("important", "Important data"), ("core", "Core data")],
                editable=False,
                max_length=20,
                verbose_name="classification",
            ),
        ),
        migrations.AddField(
            model_name="listing",
            name="plan_kinds",
            field=models.CharField(
                blank=True, editable=False, max_length=100, verbose_name="kinds of the active plans"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(create, drop),
    ]
