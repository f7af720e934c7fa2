"""The catalogue's one FilterSet: the HTML catalogue (/market/) and the API (`GET /api/v1/listings/`) both use it.

Without `own`, only published listings are listed; `own=true` lists the caller's organisations' listings in any state.
`q` is the full-text search of marketplace.search (PostgreSQL search vectors, a plain LIKE fallback on SQLite); the
ordering is applied last, so `relevance` can use the rank the search annotates. An answer holds at most MAX_RESULTS
listings, so that a common word or an unfiltered catalogue costs no more than a rare word (see MAX_RESULTS). Ids
(`merchant`) are plain numbers: a model choice filter would tell callers which organisations exist.
"""

from functools import cache
from typing import Any

import django_filters
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from marketplace import search
from marketplace.choices import ListingStatus, PlanKind
from marketplace.models import Listing, PricePlan
from marketplace.services import feedback
from registry.choices import Classification, Sector

ORDERINGS = {
    "relevance": _("Best match"),
    "newest": _("Newest first"),
    "price": _("Price: lowest first"),
    "-price": _("Price: highest first"),
    "quality": _("Quality: best first"),
}
# Each ordering follows an index on (status, <key>, with the same NULLS order), so a page is read off the index instead
# of sorting the catalogue; the tie-breakers are sorted within equal keys only. `newest` has its index on the model;
# `price`, `-price` and `quality` need three more: (status, min_price), (status, min_price DESC NULLS LAST) and
# (status, quality_score DESC NULLS LAST), not on the model yet.
NEWEST = ("-published_at", "-pk")
PLAN_KIND_ORDER = list(PlanKind.values)
ORDER_BY = {
    "newest": NEWEST,
    "price": ("min_price", *NEWEST),
    "-price": (F("min_price").desc(nulls_last=True), *NEWEST),
    "quality": (F("quality_score").desc(nulls_last=True), *NEWEST),
}
# A catalogue answer holds at most this many listings (like GitHub's search): counting, and ranking, every match of a
# common word in a 100,000-listing catalogue would cost more than the page itself, and nobody reads past it. A search
# ranks the newest MAX_RESULTS matches; the count stops there too (`CatalogueResults`).
MAX_RESULTS = 1000


class CatalogueResults:
    """What Paginator pages through: the first MAX_RESULTS listings of a filtered, ordered queryset (`capped` says
    whether more matched). One query reads their ids in order (off an index, or ranked among a search's candidates),
    which gives the count and every page; a second reads just the page's rows with what an entry shows
    (`catalogue_listings`), so joins, ratings and plans cost the same whatever the catalogue's size."""

    ordered = True

    def __init__(self, queryset: QuerySet) -> None:
        self.queryset = queryset
        self._ids: list[int] | None = None

    @property
    def ids(self) -> list[int]:
        if self._ids is None:
            self._ids = list(self.queryset.values_list("pk", flat=True)[: MAX_RESULTS + 1])
        return self._ids

    @property
    def capped(self) -> bool:
        return len(self.ids) > MAX_RESULTS

    def count(self) -> int:
        return min(len(self.ids), MAX_RESULTS)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[Listing]:
        ids = self.ids[:MAX_RESULTS][key]
        entries = _entries().in_bulk(ids)
        page = [entries[pk] for pk in ids if pk in entries]
        for listing in page:
            listing.plan_kinds = plan_kinds(listing)
        return page


# What a catalogue entry shows (and sorts by): nothing of the product's large JSON, no search text or vector.
CATALOGUE_FIELDS = (
    "title", "description", "status", "organization_id", "product_id", "min_price", "quality_score", "published_at",
    "created_at", "product__title", "product__sector", "product__classification", "product__sensitivity_level",
    "organization__name",
)  # fmt: skip


def catalogue_listings(*, entry_only: bool = True) -> QuerySet:
    """Listings with what a catalogue entry shows, in a fixed number of queries whatever the page size: the product
    and merchant joined, the rating as subqueries, the kinds of the active plans (`plan_kinds`: an array subquery on
    PostgreSQL, gathered from the prefetched plans elsewhere). `entry_only=False` loads every field and the active
    plans, for a listing's own page."""
    listings = feedback.with_ratings(Listing.objects.select_related("product", "organization"))
    active_plans = Prefetch("plans", queryset=PricePlan.objects.filter(is_active=True), to_attr="active_plans")
    if not entry_only:
        return listings.defer("search_text", "search_vector").prefetch_related(active_plans)
    listings = listings.only(*CATALOGUE_FIELDS)
    if connection.vendor != "postgresql":
        return listings.prefetch_related(active_plans)
    from django.contrib.postgres.expressions import ArraySubquery

    kinds = PricePlan.objects.filter(listing=OuterRef("pk"), is_active=True).order_by().values("kind").distinct()
    return listings.annotate(plan_kinds=ArraySubquery(kinds))


@cache
def _entries() -> QuerySet:
    """catalogue_listings(), built once: resolving its subqueries costs more than cloning the result."""
    return catalogue_listings()


def plan_kinds(listing: Listing) -> list[str]:
    """The kinds of the listing's active plans, each once, in the order PlanKind lists them."""
    kinds = getattr(listing, "plan_kinds", None)
    if kinds is None:
        kinds = [plan.kind for plan in listing.active_plans]
    return sorted(set(kinds), key=PLAN_KIND_ORDER.index)


def bound(field: str, lookup: str, label: Any, help_text: Any, **limits: Any) -> django_filters.NumberFilter:
    """A lower or upper bound on a number of the listing (never negative)."""
    return django_filters.NumberFilter(
        label=label, field_name=field, lookup_expr=lookup, min_value=0, help_text=help_text, **limits
    )


class ListingFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="keep",
        max_length=200,
        help_text=_("Words in titles, descriptions, tags and column names; Chinese works too."),
    )
    sector = django_filters.ChoiceFilter(
        label=_("Sector"), field_name="product__sector", choices=Sector.choices, empty_label=_("All sectors")
    )
    classification = django_filters.ChoiceFilter(
        label=_("Classification"),
        field_name="product__classification",
        choices=Classification.choices,
        empty_label=_("Any classification"),
    )
    price_min = bound("min_price", "gte", _("Price from (CNY)"), _("The lowest plan price is at least this (CNY)."))
    price_max = bound("min_price", "lte", _("Price up to (CNY)"), _("The lowest plan price is at most this (CNY)."))
    quality_min = bound(
        "quality_score",
        "gte",
        _("Quality at least"),
        _("The registered version's quality score (0-100)."),
        max_value=100,
    )
    plan_kind = django_filters.ChoiceFilter(
        label=_("Plan"), choices=PlanKind.choices, method="filter_plan_kind", empty_label=_("Any kind of plan")
    )
    merchant = django_filters.NumberFilter(
        label=_("Merchant"), field_name="organization_id", min_value=1, help_text=_("The merchant organisation's id.")
    )
    own = django_filters.BooleanFilter(
        label=_("Only my organisations' listings"),
        method="keep",
        help_text=_("Your organisations' listings in any state instead of the published catalogue."),
    )
    ordering = django_filters.ChoiceFilter(
        label=_("Sort by"),
        choices=list(ORDERINGS.items()),
        method="keep",
        empty_label=None,
        help_text=_(
            "`relevance` (the default: best match for `q`, else newest), `newest`, `price`, `-price`, `quality`."
        ),
    )

    class Meta:
        model = Listing
        fields: list[str] = []

    def filter_plan_kind(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        plans = PricePlan.objects.filter(listing=OuterRef("pk"), kind=value, is_active=True)
        return queryset.filter(Exists(plans))

    def keep(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset  # `q`, `own` and `ordering` are applied in filter_queryset, around the other filters

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        if data.get("own"):
            user = getattr(self.request, "user", None)
            queryset = queryset.filter(pk__in=Listing.objects.restrict(user, "view").values("pk"))
        else:
            queryset = queryset.filter(status=ListingStatus.PUBLISHED)
        queryset = super().filter_queryset(queryset)
        query = data.get("q") or ""
        return self.order(self.search(queryset, query), data.get("ordering") or "relevance", query)

    @staticmethod
    def search(queryset: QuerySet, query: str) -> QuerySet:
        """The newest MAX_RESULTS listings matching every word of `query`, with their rank on PostgreSQL."""
        matches = search.filter_search(queryset, query)
        if matches is queryset:  # no words to look for
            return queryset
        newest = matches.order_by(*NEWEST).values("pk")[:MAX_RESULTS]
        rank = search.rank(query)
        found = queryset.filter(pk__in=newest)
        return found if rank is None else found.annotate(rank=rank)

    @staticmethod
    def order(queryset: QuerySet, ordering: str, query: str) -> QuerySet:
        """Sort; `relevance` is the search rank plus a boost for title matches, else the newest first."""
        if ordering == "relevance":
            if "rank" not in queryset.query.annotations:
                return queryset.order_by(*NEWEST)
            relevance = F("rank") + search.title_boost(query)
            return queryset.alias(relevance=relevance).order_by(F("relevance").desc(), *NEWEST)
        return queryset.order_by(*ORDER_BY[ordering])

    @property
    def is_filtered(self) -> bool:
        """Whether a filter or a search narrows the catalogue (for the empty state and the "clear" link)."""
        return bool(self._narrowing())

    @property
    def filters_active(self) -> bool:
        """Whether a filter other than the search narrows the catalogue (the filter panel then starts open)."""
        return bool(self._narrowing() - {"q"})

    def _narrowing(self) -> set[str]:
        data = self.form.cleaned_data if self.is_bound and self.form.is_valid() else {}
        return {key for key, value in data.items() if key != "ordering" and value not in (None, "")}
