"""The catalogue's one FilterSet: the HTML catalogue (/market/) and the API (`GET /api/v1/listings/`) both use it.

Without `own`, only published listings are listed; `own=true` lists the caller's organisations' listings in any state.
`q` is the full-text search of marketplace.search (PostgreSQL search vectors, a plain LIKE fallback on SQLite); the
ordering is applied last, so `relevance` can use the rank the search annotates. Every filter and sort reads columns of
the listing itself (denormalised by marketplace.search.refresh_catalogue_fields), each followed by an index on
PostgreSQL (migration 0005). Ids (`merchant`) are plain numbers: a model choice filter would tell callers which
organisations exist.

`ListingFilter.results()` is what a page is cut from, in a fixed number of queries whatever the catalogue's size and
the page's length: one query reads a page with its capped count (CatalogueResults). A browse (no `q`) holds at most
MAX_RESULTS listings; a search its SEARCH_WINDOW newest matches, ranked. So a common word or an unfiltered catalogue
costs no more than a rare word.
"""

import copy
from functools import cache
from typing import Any

import django_filters
from django import forms
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    F,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from marketplace import search
from marketplace.choices import ListingStatus, PlanKind
from marketplace.models import Listing, PricePlan
from registry.choices import Classification, Sector, SensitivityLevel

ORDERINGS = {
    "relevance": _("Best match"),
    "newest": _("Newest first"),
    "price": _("Price: lowest first"),
    "-price": _("Price: highest first"),
    "quality": _("Quality: best first"),
}
# Each ordering follows a partial index over the published listings with the same key, NULLS order and tie-breakers
# (migration 0005), so a page is read off the index instead of sorting the catalogue.
NEWEST = ("-published_at", "-pk")
PLAN_KIND_ORDER = list(PlanKind.values)
ORDER_BY = {
    "newest": NEWEST,
    "price": ("min_price", *NEWEST),
    "-price": (F("min_price").desc(nulls_last=True), *NEWEST),
    "quality": (F("quality_score").desc(nulls_last=True), *NEWEST),
}
# A browse holds at most this many listings (like GitHub's search): counting every listing of a 100,000-listing
# catalogue would cost more than the page itself, and nobody reads past it.
MAX_RESULTS = 1000
# A search ranks (and pages through) its newest this many matches. Finding them walks the newest-first index until
# that many matched, so a word in 5% of the catalogue reads twenty entries per match: the window is kept small enough
# for that to stay cheap, and the answer says `capped` when more matched.
SEARCH_WINDOW = 200
APPLIED_AROUND = frozenset({"q", "own", "ordering"})  # by filter_queryset itself, around the other filters


def expected_page(number: Any, per_page: int) -> slice:
    """The rows of page `number` (Paginator.get_page's reading of it: anything but a positive number is page 1)."""
    try:
        number = max(int(number), 1)
    except (TypeError, ValueError):
        number = 1
    return slice((number - 1) * per_page, number * per_page)


class CatalogueResults:
    """What Paginator pages through: a filtered, ordered catalogue of at most `limit` listings (MAX_RESULTS; a search:
    SEARCH_WINDOW), and `capped` says whether more matched. Told which page is wanted (`expect`), it reads that page
    and the count in one query: the count, of `matching` (the same listings as bare rows) up to `limit` + 1, is a
    subquery off an index that runs once. A page past the end costs one more query, for the count."""

    ordered = True

    def __init__(self, queryset: QuerySet, *, matching: QuerySet, limit: int = MAX_RESULTS) -> None:
        self.queryset, self.matching, self.limit = queryset, matching, limit
        self._matched: int | None = None
        self._expected: slice | None = None
        self._rows: list[Listing] = []

    def expect(self, page: slice) -> "CatalogueResults":
        self._expected = page
        return self

    @property
    def matched(self) -> int:
        """How many listings matched, counted up to limit + 1."""
        if self._matched is None and self._expected is not None:
            self._rows = self._read(self._expected, counted=True)
            if self._rows or self._expected.start == 0:
                self._matched = self._matched_of(self._rows[0]) if self._rows else 0
        if self._matched is None:
            self._matched = self._capped().count()
        return self._matched

    @property
    def capped(self) -> bool:
        return self.matched > self.limit

    def count(self) -> int:
        return min(self.matched, self.limit)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[Listing]:
        expected = self._expected
        if self._rows and key.start == expected.start and key.stop <= expected.stop:
            return self._rows[: key.stop - key.start]
        return self._read(key)

    def _capped(self) -> QuerySet:
        return self.matching.order_by().values("pk")[: self.limit + 1]

    def _read(self, key: slice, *, counted: bool = False) -> list:
        queryset = self.queryset
        if counted:
            count = Subquery(self._capped(), template="(SELECT COUNT(*) FROM (%(subquery)s) AS capped)")
            queryset = queryset.annotate(matched=ExpressionWrapper(count, output_field=IntegerField()))
        return list(queryset[key])

    @staticmethod
    def _matched_of(entry: Any) -> int:
        return entry["matched"] if isinstance(entry, dict) else entry.matched


# What a catalogue entry shows of the listing (and sorts by): no search text or vector, no terms.
CATALOGUE_FIELDS = (
    "title", "description", "status", "organization_id", "product_id", "min_price", "quality_score", "sector",
    "classification", "plan_kinds", "rating_average", "review_count", "published_at",
)  # fmt: skip
ENTRY_ANNOTATIONS = (
    "product_title", "product_sector", "product_classification", "product_sensitivity_level", "sandbox_only",
    "merchant_name",
)  # fmt: skip
# An entry as a row (`ListingFilter.results(rows=True)`): the listing's id, CATALOGUE_FIELDS and the annotations.
ENTRY_VALUES = ("id", *CATALOGUE_FIELDS, *ENTRY_ANNOTATIONS)


def catalogue_listings(*, entry_only: bool = True) -> QuerySet:
    """Listings with what a catalogue entry shows, in one query whatever the page size: the listing's own columns, the
    product's and the merchant's few as annotations (`product_title`, `product_sector`, `product_classification`,
    `product_sensitivity_level`, `sandbox_only`, `merchant_name`: no model instances to build), the rating as
    subqueries. `entry_only=False` loads every field,
    the product, the merchant and the active plans (`active_plans`), for a listing's own page."""
    if not entry_only:
        active_plans = Prefetch("plans", queryset=PricePlan.objects.filter(is_active=True), to_attr="active_plans")
        listings = Listing.objects.select_related("product", "organization").defer("search_text", "search_vector")
        return listings.prefetch_related(active_plans)
    return Listing.objects.only(*CATALOGUE_FIELDS).annotate(
        product_title=F("product__title"),
        product_sector=F("product__sector"),  # as registered, for a draft too (`sector` is the catalogue's copy)
        product_classification=F("product__classification"),
        product_sensitivity_level=F("product__sensitivity_level"),
        # DataProduct.sandbox_only, in SQL
        sandbox_only=ExpressionWrapper(
            Q(product__sensitivity_level__gte=SensitivityLevel.HIGHLY_SENSITIVE), output_field=BooleanField()
        ),
        merchant_name=F("organization__name"),
    )


@cache
def _entries() -> QuerySet:
    """catalogue_listings(), built once: resolving its subqueries costs more than cloning the result."""
    return catalogue_listings()


def catalogue_entries() -> QuerySet:
    """The queryset ListingFilter filters for a catalogue page: every listing, with what an entry shows."""
    return _entries().all()


def active_plan_kinds(listing: Listing) -> list[str]:
    """The kinds of the listing's prefetched active plans (`catalogue_listings(entry_only=False)`), each once, in the
    order PlanKind lists them."""
    return sorted({plan.kind for plan in listing.active_plans}, key=PLAN_KIND_ORDER.index)


def bound(field: str, lookup: str, label: Any, help_text: Any, **limits: Any) -> django_filters.NumberFilter:
    """A lower or upper bound on a number of the listing (never negative)."""
    return django_filters.NumberFilter(
        label=label, field_name=field, lookup_expr=lookup, min_value=0, help_text=help_text, **limits
    )


class SharedFields(dict):
    """A form class's fields, shared by its forms rather than deep-copied into each (as Django does, for forms that
    change their fields): the catalogue's filter form changes none, and its choices are the costly part to copy."""

    def __deepcopy__(self, memo: dict) -> dict:
        return dict(self)


@cache
def _form_class(filterset_class: type) -> type[forms.Form]:
    """The form of a FilterSet class, built once (django-filter builds it, and every field, again per request)."""
    filters = copy.deepcopy(filterset_class.base_filters)
    fields = {name: filter_.field for name, filter_ in filters.items()}
    form_class = type(f"{filterset_class.__name__}Form", (filterset_class._meta.form,), fields)
    form_class.base_fields = SharedFields(form_class.base_fields)
    return form_class


class ListingFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        max_length=200,
        help_text=_("Words in titles, descriptions, tags and column names; Chinese works too."),
    )
    sector = django_filters.ChoiceFilter(
        label=_("Sector"), field_name="sector", choices=Sector.choices, empty_label=_("All sectors")
    )
    classification = django_filters.ChoiceFilter(
        label=_("Classification"),
        field_name="classification",
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
    # `plan_kinds` holds the active plans' kinds space-separated, and no kind's value is part of another's.
    plan_kind = django_filters.ChoiceFilter(
        label=_("Plan"),
        field_name="plan_kinds",
        lookup_expr="contains",
        choices=PlanKind.choices,
        empty_label=_("Any kind of plan"),
    )
    merchant = django_filters.NumberFilter(
        label=_("Merchant"), field_name="organization_id", min_value=1, help_text=_("The merchant organisation's id.")
    )
    own = django_filters.BooleanFilter(
        label=_("Only my organisations' listings"),
        help_text=_("Your organisations' listings in any state instead of the published catalogue."),
    )
    ordering = django_filters.ChoiceFilter(
        label=_("Sort by"),
        choices=list(ORDERINGS.items()),
        empty_label=None,
        help_text=_(
            "`relevance` (the default: best match for `q`, else newest), `newest`, `price`, `-price`, `quality`."
        ),
    )

    class Meta:
        model = Listing
        fields: list[str] = []

    def __init__(self, data: Any = None, queryset: QuerySet | None = None, *, request: Any = None,
                 prefix: str | None = None) -> None:  # fmt: skip
        # BaseFilterSet.__init__, but with a shallow copy of each filter where django-filter deep-copies them (their
        # choices and labels) per request: their state is their configuration, and none is a `method` filter (which
        # would need its own bound copy): filter_queryset applies q, own and ordering itself.
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = catalogue_entries() if queryset is None else queryset
        self.request, self.form_prefix = request, prefix
        self.filters = {name: copy.copy(filter_) for name, filter_ in self.base_filters.items()}
        for filter_ in self.filters.values():
            filter_.model, filter_.parent = self.queryset.model, self
        self.searching, self.matching = False, self.queryset

    def get_form_class(self) -> type[forms.Form]:
        return _form_class(type(self))

    def results(self, *, rows: bool = False) -> CatalogueResults:
        """The answer as Paginator pages through it (a search: its ranked window of newest matches); `rows`: entries
        as dicts of ENTRY_VALUES rather than listings (no model instances to build)."""
        queryset = self.qs.values(*ENTRY_VALUES) if rows else self.qs
        limit = SEARCH_WINDOW if self.searching else MAX_RESULTS
        return CatalogueResults(queryset, matching=self.matching, limit=limit)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        query = data.get("q") or ""
        # The count reads bare rows (no join, no annotation): `matching`. The page is `queryset` (with what an entry
        # shows) narrowed the same way, or, for a search, its newest SEARCH_WINDOW matches.
        self.matching = self.narrow(Listing.objects.all(), data)
        self.searching = bool(search.query_words(query))
        if self.searching:
            self.matching = search.matching(self.matching, query)
            queryset = self.search(queryset, self.matching, query)
        else:
            queryset = self.narrow(queryset, data)
        return self.order(queryset, data.get("ordering") or "relevance")

    def narrow(self, queryset: QuerySet, data: dict) -> QuerySet:
        """The published listings (or, with `own`, the caller's organisations' in any state) that the filters other
        than the search let through."""
        if data.get("own"):
            user = getattr(self.request, "user", None)
            queryset = queryset.filter(pk__in=Listing.objects.restrict(user, "view").values("pk"))
        else:
            queryset = queryset.filter(status=ListingStatus.PUBLISHED)
        for name, value in data.items():
            if name not in APPLIED_AROUND:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    @staticmethod
    def search(queryset: QuerySet, matching: QuerySet, query: str) -> QuerySet:
        """The listings of `queryset` among the newest SEARCH_WINDOW of `matching` (the listings that match every word
        of `query`), with their relevance on PostgreSQL."""
        newest = matching.order_by(*NEWEST).values("pk")[:SEARCH_WINDOW]
        found = queryset.filter(pk__in=newest)
        relevance = search.relevance(query)
        return found if relevance is None else found.alias(relevance=relevance)

    @staticmethod
    def order(queryset: QuerySet, ordering: str) -> QuerySet:
        """Sort; `relevance` is the search's rank plus a boost for title matches, else the newest first."""
        if ordering == "relevance":
            if "relevance" not in queryset.query.annotations:
                return queryset.order_by(*NEWEST)
            return queryset.order_by(F("relevance").desc(), *NEWEST)
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
