"""The catalogue's one FilterSet: the HTML catalogue (/market/) and the API (`GET /api/v1/listings/`) both use it.

Without `own`, only published listings are listed; `own=true` lists the caller's organisations' listings in any state.
`search` (the web catalogue's CatalogueFilter calls it `q`) is the full-text search of marketplace.search (PostgreSQL
search vectors, a plain LIKE fallback on SQLite); the ordering is applied last, so `relevance` can use the rank the
search annotates. Every filter and sort reads columns of the listing itself (denormalised by
marketplace.search.refresh_catalogue_fields), each followed by an index on PostgreSQL (migration 0005). Ids
(`merchant`) are plain numbers: a model choice filter would tell callers which organisations exist.

`ListingFilter.results()` is what a page is cut from, in a fixed number of queries whatever the catalogue's size and
the page's length: one query reads a page with its capped count (CatalogueResults; the API's, as rows, with SQL
written here: CatalogueRows). A browse (no search) holds at most
MAX_RESULTS listings; a search its SEARCH_WINDOW newest matches, ranked. So a common word or an unfiltered catalogue
costs no more than a rare word.
"""

import copy
from functools import cache
from typing import Any, NamedTuple

import django_filters
from django import forms
from django.db import connection
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
from django_filters.constants import EMPTY_VALUES

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
# A search ranks (and pages through) its newest this many matches. Finding them walks the search table newest first
# until that many matched, so a word in 5% of the catalogue reads twenty entries per match: the window is kept small
# enough for that to stay cheap, and the answer says `capped` when more matched.
SEARCH_WINDOW = 200
APPLIED_AROUND = frozenset({"search", "q", "own", "ordering"})  # by filter_queryset itself, around the other filters


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
            self._matched = self._count()
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

    def _count(self) -> int:
        return self._capped().count()

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


# --- the API's page, in SQL -----------------------------------------------------------------------------------------
# The API reads its pages (rows) with SQL written here, not built by Django: building and compiling a page's queryset
# (joins, annotations, the capped count, a search's window and rank) took Django about as long as PostgreSQL takes to
# answer it (a search: twice as long), on the exchange's busiest read. It is the query the ORM builds for
# ListingFilter.qs and CatalogueResults, which stay for the web catalogue (listings), for `own` (permission
# subqueries) and off PostgreSQL; tests compare the two, filter by filter and sort by sort. `published` is written
# in (not a parameter) so that a prepared statement's generic plan can still use the partial indexes (migration 0005);
# a search's words are written in for the reason WrittenSearchQuery gives; page bounds are numbers.

ENTRY_SQL = (
    "SELECT " + ", ".join(f"l.{Listing._meta.get_field(name).column}" for name in ("id", *CATALOGUE_FIELDS))
    + ", p.title, p.sector, p.classification, p.sensitivity_level, "
    + f"p.sensitivity_level >= {int(SensitivityLevel.HIGHLY_SENSITIVE)}, o.name{{matched}} "
    + "FROM marketplace_listing l JOIN registry_dataproduct p ON p.id = l.product_id "
    + "JOIN accounts_organization o ON o.id = l.organization_id "
)  # fmt: skip
CAPPED_SQL = "(SELECT COUNT(*) FROM (SELECT 1 FROM marketplace_listing l WHERE {where} LIMIT {limit}) AS capped)"
NEWEST_SQL = "l.published_at DESC, l.id DESC"
ORDER_SQL = {  # ORDER_BY's
    "newest": NEWEST_SQL,
    "price": f"l.min_price ASC, {NEWEST_SQL}",
    "-price": f"l.min_price DESC NULLS LAST, {NEWEST_SQL}",
    "quality": f"l.quality_score DESC NULLS LAST, {NEWEST_SQL}",
}
LOOKUP_SQL = {"exact": "=", "gte": ">=", "lte": "<=", "contains": "LIKE"}  # the lookups of ListingFilter's filters
PUBLISHED_SQL = f"l.status = '{ListingStatus.PUBLISHED}'"
# A search's newest SEARCH_WINDOW + 1 matches (the window is their first SEARCH_WINDOW, the capped count is theirs):
# found by walking the narrow search table (CatalogueSearchEntry) newest first, testing each entry's vector, over at
# most its SEARCH_DEPTH newest entries; when fewer matched there (a rare word), the listing's GIN index finds them all
# (the second half of `found` runs only then). The window is ranked (`rank`, the relevance: computed as the entries are
# read) or sorted by the listing's columns; `page` numbers it, and the page's entries are read for their positions.
# `filters` (the published listings that the other filters let through) narrows the walk through the listing.
SEARCH_DEPTH = 10_000
SEARCH_SQL = (
    "WITH recent AS MATERIALIZED (SELECT s.listing_id AS id, s.published_at, {entry_rank} AS rank "
    "FROM (SELECT listing_id, published_at, title, vector FROM marketplace_cataloguesearchentry "
    "ORDER BY published_at DESC, listing_id DESC LIMIT {depth}) s{listing} WHERE s.vector @@ {tsquery}{and_filters} "
    "ORDER BY s.published_at DESC, s.listing_id DESC LIMIT {found}), "
    "found AS MATERIALIZED (SELECT * FROM recent WHERE (SELECT COUNT(*) FROM recent) = {found} UNION ALL "
    "(SELECT l.id, l.published_at, {listing_rank} FROM marketplace_listing l WHERE {filters} "
    "AND l.search_vector @@ {tsquery} AND (SELECT COUNT(*) FROM recent) < {found} "
    "ORDER BY l.published_at DESC, l.id DESC LIMIT {found})), "
    "page AS MATERIALIZED (SELECT w.id, ROW_NUMBER() OVER (ORDER BY {order}) AS position "
    "FROM (SELECT * FROM found ORDER BY published_at DESC, id DESC LIMIT {limit}) w{window_listing}) "
    "{entries}JOIN page ON page.id = l.id WHERE page.position > {start} AND page.position <= {stop} "
    "ORDER BY page.position"
)
RANKED_WINDOW_SQL = "w.rank DESC, w.published_at DESC, w.id DESC"  # the relevance sort, over the window's ranks


class CatalogueSearch(NamedTuple):
    """A search as CatalogueRows reads it: its query, its tsquery (SQL), whether the window is sorted by relevance."""

    query: str
    tsquery: str
    ranked: bool


class CatalogueRows(CatalogueResults):
    """CatalogueResults as rows (dicts of ENTRY_VALUES), read with the SQL above: the published listings that the
    filters' `conditions` let through (with `params`), sorted by `order` (`order_params`); a search (`search`) reads
    its SEARCH_WINDOW newest matches of them instead (SEARCH_SQL)."""

    def __init__(
        self, *, conditions: list[str], params: list, order: str, order_params: list, limit: int,
        search: CatalogueSearch | None = None,
    ) -> None:  # fmt: skip
        super().__init__(Listing.objects.none(), matching=Listing.objects.none(), limit=limit)
        self.conditions, self.params, self.search = conditions, params, search
        self.order, self.order_params = order, order_params
        self.filters = " AND ".join([PUBLISHED_SQL, *conditions])  # the published listings the filters let through
        self.where = f"{self.filters} AND l.search_vector @@ {search.tsquery}" if search else self.filters

    def _read(self, key: slice, *, counted: bool = False) -> list:
        start, stop = int(key.start), int(key.stop)
        if self.search:
            sql, params = self._search_sql(start, stop)
        else:
            sql, params = self._browse_sql(counted=counted)
            sql += f" LIMIT {stop - start} OFFSET {start}"
        names = (*ENTRY_VALUES, "matched") if counted or self.search else ENTRY_VALUES
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _browse_sql(self, *, counted: bool) -> tuple[str, list]:
        matched = ", " + CAPPED_SQL.format(where=self.where, limit=self.limit + 1) if counted else ""
        sql = ENTRY_SQL.format(matched=matched) + f"WHERE {self.where} ORDER BY {self.order}"
        return sql, [*(self.params if counted else ()), *self.params, *self.order_params]

    def _search_sql(self, start: int, stop: int) -> tuple[str, list]:
        query, ranked = self.search.query, self.search.ranked
        entry_rank, rank_params = (
            search.relevance_sql(query, vector="s.vector", title="s.title") if ranked else ("0", [])
        )
        listing_rank = search.relevance_sql(query, vector="l.search_vector", title="l.title")[0] if ranked else "0"
        narrowed = bool(self.conditions)  # the walk then reads each match's listing for the other filters
        sql = SEARCH_SQL.format(
            entry_rank=entry_rank, listing=" JOIN marketplace_listing l ON l.id = s.listing_id" if narrowed else "",
            tsquery=self.search.tsquery, and_filters=f" AND {self.filters}" if narrowed else "", depth=SEARCH_DEPTH,
            found=self.limit + 1, listing_rank=listing_rank, filters=self.filters, limit=self.limit,
            order=RANKED_WINDOW_SQL if ranked else self.order,
            window_listing="" if ranked else " JOIN marketplace_listing l ON l.id = w.id",
            entries=ENTRY_SQL.format(matched=", (SELECT COUNT(*) FROM found)"), start=start, stop=stop,
        )  # fmt: skip
        order_params = [] if ranked else self.order_params
        walk_params = self.params if narrowed else []
        return sql, [*rank_params, *walk_params, *rank_params, *self.params, *order_params]

    def _count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + CAPPED_SQL.format(where=self.where, limit=self.limit + 1), self.params)
            return cursor.fetchone()[0]


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


def search_filter() -> django_filters.CharFilter:
    """The full-text search: `search` on the API, `q` on the web catalogue (CatalogueFilter)."""
    return django_filters.CharFilter(
        label=_("Search"),
        max_length=200,
        help_text=_("Words in titles, descriptions, tags and column names; Chinese works too."),
    )


class ListingFilter(django_filters.FilterSet):
    search = search_filter()
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
            "`relevance` (the default: best match for `search`, else newest), `newest`, `price`, `-price`, `quality`."
        ),
    )

    search_param = "search"  # the name of the search filter (CatalogueFilter's is `q`)

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
        as dicts of ENTRY_VALUES rather than listings (no model instances to build), read with SQL on PostgreSQL
        (CatalogueRows) but for `own`."""
        self.errors  # noqa: B018 - validates the form (as FilterSet.qs does): its cleaned data are what is read
        if rows and connection.vendor == "postgresql" and not self.form.cleaned_data.get("own"):
            return self.rows()
        queryset = self.qs.values(*ENTRY_VALUES) if rows else self.qs
        limit = SEARCH_WINDOW if self.searching else MAX_RESULTS
        return CatalogueResults(queryset, matching=self.matching, limit=limit)

    def rows(self) -> CatalogueRows:
        """What `results(rows=True)` reads off the ORM's queryset, as CatalogueRows: the same filters, search window
        and order, in SQL."""
        data = self.form.cleaned_data
        query = data.get(self.search_param) or ""
        words = search.query_words(query)
        conditions, params = [], []
        for name, value in data.items():
            if name not in APPLIED_AROUND and value not in EMPTY_VALUES:
                condition, param = self._condition_sql(self.filters[name], value)
                conditions.append(condition)
                params.append(param)
        ordering = data.get("ordering") or "relevance"
        order, order_params = self._order_sql(ordering, query if words else "")
        found = CatalogueSearch(query, search.tsquery_sql(words), ordering == "relevance") if words else None
        return CatalogueRows(
            conditions=conditions, params=params, order=order, order_params=order_params,
            limit=SEARCH_WINDOW if words else MAX_RESULTS, search=found,
        )  # fmt: skip

    @staticmethod
    def _condition_sql(filter_: django_filters.Filter, value: Any) -> tuple[str, Any]:
        """A filter's lookup (Filter.filter's `field__lookup=value`) as SQL over the listing `l`, with its parameter."""
        field = Listing._meta.get_field(filter_.field_name)
        if filter_.lookup_expr == "contains":
            value = f"%{connection.ops.prep_for_like_query(value)}%"
        else:
            value = field.get_db_prep_value(value, connection)
        return f"l.{field.column} {LOOKUP_SQL[filter_.lookup_expr]} %s", value

    @staticmethod
    def _order_sql(ordering: str, query: str) -> tuple[str, list]:
        """`order`'s sort as SQL: relevance is a search's rank (`query`), else the newest first."""
        if ordering != "relevance":
            return ORDER_SQL[ordering], []
        if not query:
            return NEWEST_SQL, []
        relevance, params = search.relevance_sql(query, vector="l.search_vector", title="l.title")
        return f"{relevance} DESC, {NEWEST_SQL}", params

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        query = data.get(self.search_param) or ""
        # The count reads bare rows (no join, no annotation): `matching`. The page is `queryset` (with what an entry
        # shows) narrowed the same way, or, for a search, its newest SEARCH_WINDOW matches.
        self.matching = self.narrow(Listing.objects.all(), data)
        self.searching = bool(search.query_words(query))
        if self.searching:
            self.matching = search.matching(self.matching, query)
            queryset = self.search_window(queryset, self.matching, query)
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
    def search_window(queryset: QuerySet, matching: QuerySet, query: str) -> QuerySet:
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
        return bool(self._narrowing() - {self.search_param})

    def _narrowing(self) -> set[str]:
        data = self.form.cleaned_data if self.is_bound and self.form.is_valid() else {}
        return {key for key, value in data.items() if key != "ordering" and value not in (None, "")}


class CatalogueFilter(ListingFilter):
    """ListingFilter as the web catalogue's form names it: its search is `q` (short links, `?q=港口`), where the API
    says `search`, like the products API."""

    search = None
    q = search_filter()
    search_param = "q"
