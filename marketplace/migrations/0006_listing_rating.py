"""The catalogue reads a listing's rating off the listing: the reviews' average and count are stored on it (filled
here for the listings there are; marketplace.services.feedback keeps them current)."""

from django.db import migrations, models
from django.db.models import Avg, Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def fill(apps, schema_editor):
    """The rating of the listings there are, as marketplace.services.feedback.rating_fields computes it."""
    Listing, Review = apps.get_model("marketplace", "Listing"), apps.get_model("marketplace", "Review")
    reviews = Review.objects.filter(listing=OuterRef("pk")).order_by().values("listing")
    reviewed = Listing.objects.using(schema_editor.connection.alias).filter(pk__in=Review.objects.values("listing"))
    reviewed.update(
        rating_average=Subquery(reviews.annotate(value=Avg("rating")).values("value")),
        review_count=Coalesce(
            Subquery(reviews.annotate(value=Count("pk")).values("value"), output_field=IntegerField()), Value(0)
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0005_listing_catalogue_fields")]
    operations = [
        migrations.AddField(
            model_name="listing",
            name="rating_average",
            field=models.FloatField(blank=True, editable=False, null=True, verbose_name="average rating"),
        ),
        migrations.AddField(
            model_name="listing",
            name="review_count",
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name="number of reviews"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
