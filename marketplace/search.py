"""Full-text search of the catalogue that also finds Chinese words.

PostgreSQL's text search has no Chinese word splitter (zhparser or pg_jieba would be extensions this project cannot
count on), and the `simple` configuration reads a run of Chinese characters as one word. So text is tokenised here,
the way Lucene's CJK analyzer does: every run of CJK characters becomes its single characters and its overlapping
pairs (青岛港口 → 青 岛 港 口 青岛 岛港 港口); other text is lower-cased words. The index holds both; a query of
two or more CJK characters looks for its pairs (all of them), a single character for itself. The result is stored
in `Listing.search_text`, indexed as `to_tsvector('simple', search_text)` with GIN on PostgreSQL; SQLite, the
one-command run's database, filters `search_text` with LIKE on the same tokens.
"""

import re
from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN = re.compile(rf"[{CJK}]+|[^\W_]+", re.UNICODE)
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


def filter_search(queryset: QuerySet, query: str) -> QuerySet:
    """Listings matching every token of `query`, best first on PostgreSQL (ts_rank), newest first on SQLite."""
    words = list(dict.fromkeys(tokens(query, for_query=True)))[:MAX_QUERY_TOKENS]
    if not words:
        return queryset
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank

        search = SearchQuery(" & ".join(words), config="simple", search_type="raw")
        return queryset.filter(search_vector=search).annotate(rank=SearchRank("search_vector", search))
    for word in words:
        queryset = queryset.filter(search_text__icontains=word)
    return queryset
