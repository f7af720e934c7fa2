"""Full-text search of the catalogue that also finds Chinese words.

PostgreSQL's text search has no Chinese word splitter (zhparser or pg_jieba would be extensions this project cannot
count on), and the `simple` configuration reads a run of Chinese characters as one word. So text is tokenised here,
the way Lucene's CJK analyzer does: every run of CJK characters becomes its single characters and its overlapping
pairs (青岛港口 → 青 岛 港 口 青岛 岛港 港口); other text is lower-cased words. The index holds both; a query of
two or more CJK characters looks for its pairs (all of them), a single character for itself. The result is stored
in `Listing.search_text`, indexed as `to_tsvector('simple', search_text)` with GIN on PostgreSQL; SQLite, the
one-command run's database, filters `search_text` with LIKE on the same tokens.

What the catalogue filters and sorts by (lowest price, quality, sector, classification, plan kinds) is stored on the
listing too, by `refresh_catalogue_fields`, wherever the listing is indexed.
"""

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import (
    Case,
    Exists,
    Expression,
    F,
    FloatField,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Concat, Trim

from marketplace.choices import PlanKind

if TYPE_CHECKING:
    from marketplace.models import Listing

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN = re.compile(rf"[{CJK}]+|[^\W_{CJK}]+", re.UNICODE)  # a run of Chinese, or a word without Chinese
CJK_RUN = re.compile(rf"^[{CJK}]+$")
MAX_QUERY_TOKENS = 12


def _cjk(run: str, *, for_query: bool) -> list[str]:
    if len(run) == 1:
        return [run]
    pairs = [run[i : i + 2] for i in range(len(run) - 1)]
    return pairs if for_query else [*run, *pairs]


def tokens(text: str, *, for_query: bool = False) -> list[str]:
    """Words of `text` for the index (CJK unigrams and bigrams) or for a query (CJK bigrams only)."""
    found: list[str] = []
    for match in TOKEN.finditer(text or ""):
        word = match.group(0)
        found += _cjk(word, for_query=for_query) if CJK_RUN.match(word) else [word.lower()]
    return found


def search_text(parts: Iterable[str]) -> str:
    """The text stored on a listing for search: its tokens, each once, in order."""
    return " ".join(dict.fromkeys(token for part in parts for token in tokens(part)))


def query_words(query: str) -> list[str]:
    """The distinct tokens a query looks for (CJK bigrams, lower-cased words), at most MAX_QUERY_TOKENS."""
    return list(dict.fromkeys(tokens(query, for_query=True)))[:MAX_QUERY_TOKENS]


def filter_search(queryset: QuerySet, query: str) -> QuerySet:
    """Listings matching every token of `query`, with their rank (`rank`) on PostgreSQL."""
    matches = matching(queryset, query)
    if matches is queryset or connection.vendor != "postgresql":
        return matches
    return matches.annotate(rank=_rank(_search_query(query_words(query))))


def matching(queryset: QuerySet, query: str) -> QuerySet:
    """Listings matching every token of `query` (the GIN-indexed vector on PostgreSQL, LIKE elsewhere); `queryset`
    itself for a query without words."""
    words = query_words(query)
    if not words:
        return queryset
    if connection.vendor == "postgresql":
        return queryset.filter(search_vector=_search_query(words))
    return filter_plain(queryset, words)


class WrittenSearchQuery(SearchQuery):
    """A SearchQuery written into the SQL instead of passed as parameters, so that PostgreSQL plans each search for its
    own words: a prepared statement's generic plan would guess how common they are, and walk the wrong index. Safe
    to write: its words are `tokens` (letters, digits and CJK characters only), and quotes are doubled anyway."""

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        sql, params = super().as_sql(compiler, connection, **extra)
        return sql % tuple("'" + str(param).replace("'", "''") + "'" for param in params), []


def _search_query(words: list[str]) -> Expression:
    return WrittenSearchQuery(" & ".join(words), config="simple", search_type="raw")


def _rank(search: Expression) -> Expression:
    # F(): SearchRank given a field *name* wraps it in to_tsvector(search_vector::text), re-parsing every stored
    # vector (slow, and ranking the text of the vector rather than the vector).
    return SearchRank(F("search_vector"), search)


def relevance(query: str) -> Expression | None:
    """How well a listing already matched answers `query`: the ts_rank of the stored vector plus the title boost;
    None off PostgreSQL (or for a query without words)."""
    words = query_words(query)
    if not words or connection.vendor != "postgresql":
        return None
    return _rank(_search_query(words)) + title_boost(query)


def tsquery_sql(words: list[str]) -> str:
    """The tsquery `_search_query` makes of `words`, as SQL, written in as WrittenSearchQuery writes it (for the
    catalogue's hand-written page query, marketplace.filters.CatalogueRows)."""
    return "to_tsquery('simple'::regconfig, '" + " & ".join(words).replace("'", "''") + "')"


def relevance_sql(query: str, *, vector: str, title: str) -> tuple[str, list]:
    """`relevance(query)` as SQL over the columns `vector` and `title` (a listing's, or its search entry's), with its
    parameters: ts_rank plus the title boost (the share of the query's runs in the title, as a float8 division like
    the ORM's float sums)."""
    runs = _runs(query)
    hits = " + ".join(f"CASE WHEN UPPER({title}) LIKE UPPER(%s) THEN 1 ELSE 0 END" for _run in runs)
    params = [f"%{connection.ops.prep_for_like_query(run)}%" for run in runs]
    rank = f"ts_rank({vector}, {tsquery_sql(query_words(query))})"
    return f"{rank} + ({hits})::float8 / {len(runs)}", params


def _runs(query: str) -> list[str]:
    return list(dict.fromkeys(match.group(0).lower() for match in TOKEN.finditer(query or "")))[:MAX_QUERY_TOKENS]


def filter_plain(queryset: QuerySet, words: list[str]) -> QuerySet:
    """The fallback without a search index (SQLite): `search_text` contains every word."""
    for word in words:
        queryset = queryset.filter(search_text__icontains=word)
    return queryset


def title_boost(query: str) -> Expression:
    """How much of the query the title holds (0 to 1): the share of the query's runs (a CJK run, a word) found in the
    title. Added to the rank it puts title matches first, which the deduplicated search text cannot (every token is
    stored once, so ts_rank scores most matches alike)."""
    runs = _runs(query)
    if not runs:
        return Value(0.0, output_field=FloatField())
    hits = [Case(When(title__icontains=run, then=Value(1.0)), default=Value(0.0), output_field=FloatField())
            for run in runs]  # fmt: skip
    return sum(hits[1:], hits[0]) / Value(float(len(runs)), output_field=FloatField())


# --- what the catalogue filters and sorts by ------------------------------------------------------------------------


def plan_kinds_text(kinds: Iterable[str]) -> str:
    """How `Listing.plan_kinds` stores a set of plan kinds: each once, in PlanKind order, space-separated."""
    present = set(kinds)
    return " ".join(kind for kind in PlanKind.values if kind in present)


def catalogue_fields() -> dict[str, Expression]:
    """The listing's denormalised catalogue fields as expressions over its row, for one UPDATE: the lowest active
    plan price, the latest registered version's quality score, the product's sector and classification, and the
    kinds of the active plans (`plan_kinds_text` in SQL)."""
    from marketplace.models import PricePlan
    from registry.models import DataProduct, ProductVersion

    active = PricePlan.objects.filter(listing=OuterRef("pk"), is_active=True).order_by()
    product = DataProduct.objects.filter(pk=OuterRef("product_id"))
    version = ProductVersion.objects.registered().filter(product=OuterRef("product_id")).order_by("-number")
    kinds = [Case(When(Exists(active.filter(kind=kind)), then=Value(f"{kind} ")), default=Value(""))
             for kind in PlanKind.values]  # fmt: skip
    return {
        "min_price": Subquery(active.values("listing").annotate(low=Min("price")).values("low")),
        "quality_score": Subquery(version.values("quality_score")[:1]),
        "sector": Subquery(product.values("sector")),
        "classification": Subquery(product.values("classification")),
        "plan_kinds": Trim(Concat(*kinds)),
    }


def refresh_catalogue_fields(listing: "Listing") -> None:
    """Store on the listing what the catalogue filters and sorts by (`catalogue_fields`), in one UPDATE; called
    wherever the listing is indexed, and when a plan is added or withdrawn."""
    type(listing).objects.filter(pk=listing.pk).update(**catalogue_fields())
