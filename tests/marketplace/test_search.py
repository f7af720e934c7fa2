"""Full-text search of the catalogue: Chinese and English queries, tags and column names, ranking, the SQLite
fallback."""

from decimal import Decimal

import pytest
from django.db import connection

from marketplace import search
from marketplace.choices import ListingStatus
from marketplace.filters import ListingFilter
from marketplace.models import CatalogueSearchEntry, Listing
from marketplace.services import listings
from tests.factories.accounts import owner_of
from tests.factories.marketplace import draft_listing, plan_fields, published_listing, registered_product

pytestmark = pytest.mark.django_db

BERTHS_CSV = ("日期,泊位,吞吐量\n" + "".join(f"2026-11-{d:02d},B{d},{1000 + d}\n" for d in range(1, 21))).encode()


def found(query: str) -> list[str]:
    return list(search.filter_search(Listing.objects.order_by("title"), query).values_list("title", flat=True))


@pytest.fixture
def catalogue():
    """Three published listings: Chinese title and columns, English title and tags, an unrelated one."""
    port = registered_product(title="青岛港口集装箱吞吐量", tags=["港口", "logistics"], content=BERTHS_CSV)
    published_listing(port, description="每日各码头的集装箱吞吐量。")
    beds = registered_product(title="Hospital bed occupancy", summary="Daily beds in use.", tags=["Healthcare"])
    published_listing(beds, description="Occupied and free beds per ward.")
    published_listing(registered_product(title="Solar farm output", summary="Hourly generation."))


# --- tokens -------------------------------------------------------------------------------------------------------


def test_chinese_runs_are_indexed_as_characters_and_pairs_and_queried_as_pairs():
    assert search.tokens("青岛港") == ["青", "岛", "港", "青岛", "岛港"]
    assert search.tokens("青岛港", for_query=True) == ["青岛", "岛港"]
    assert search.tokens("港", for_query=True) == ["港"]


def test_other_text_is_lower_cased_words_without_punctuation():
    assert search.tokens("Port-Throughput, TONS_2026!") == ["port", "throughput", "tons", "2026"]
    assert search.tokens("Qingdao港口 v2", for_query=True) == ["qingdao", "港口", "v2"]


def test_search_text_keeps_each_token_once_in_order():
    assert search.search_text(["Port port", "港口", "港"]) == "port 港 口 港口"


def test_queries_keep_at_most_twelve_distinct_tokens():
    assert search.query_words("a b c d e f g h i j k l m n a") == list("abcdefghijkl")


# --- PostgreSQL full text ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("港口", ["青岛港口集装箱吞吐量"]),  # in the title and a tag
        ("集装箱吞吐量", ["青岛港口集装箱吞吐量"]),  # five characters: all four pairs must be there
        ("港", ["青岛港口集装箱吞吐量"]),  # a single character matches the unigram
        ("泊位", ["青岛港口集装箱吞吐量"]),  # a column name
        ("码头", ["青岛港口集装箱吞吐量"]),  # the listing's description
        ("HOSPITAL", ["Hospital bed occupancy"]),  # case does not matter
        ("healthcare", ["Hospital bed occupancy"]),  # a tag
        ("tons", ["Hospital bed occupancy", "Solar farm output"]),  # a column of their files
        ("logistics 港口", ["青岛港口集装箱吞吐量"]),  # mixed scripts: every word must match
        ("hospital solar", []),
        ("hourly", ["Solar farm output"]),  # the product's summary
    ],
)
def test_finds_titles_descriptions_tags_and_column_names(query, titles):
    assert found(query) == titles


def test_a_query_without_words_filters_nothing(catalogue):
    assert len(found("  ,.!? ")) == Listing.objects.count() == 3


def test_query_syntax_characters_are_not_operators(catalogue):
    # tsquery operators in the input are dropped by the tokeniser, never passed to to_tsquery
    assert found("hospital & | ! :* ( solar") == []
    assert found("hospital:*") == ["Hospital bed occupancy"]


def test_the_vector_is_indexed_with_gin():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'marketplace_listing_search_gin'")
        assert "gin (search_vector)" in cursor.fetchone()[0]


def test_relevance_puts_title_matches_first():
    # given two listings mentioning "throughput": one in its title, one only in a column name
    in_columns = registered_product(title="Berth schedule", content=b"berth,throughput\nB1,10\nB2,11\n")
    published_listing(in_columns, description="Arrivals and departures.")
    published_listing(registered_product(title="Container throughput"))
    # when searching with relevance ordering
    filters = ListingFilter({"search": "throughput", "ordering": "relevance"}, queryset=Listing.objects.all())
    # then the title match comes first
    assert [listing.title for listing in filters.qs] == ["Container throughput", "Berth schedule"]


def test_every_word_of_the_query_must_match():
    published_listing(registered_product(title="Port throughput", summary="Tons per berth."))
    published_listing(registered_product(title="Port calls", summary="Vessels per day."))
    ranked = search.filter_search(Listing.objects.all(), "port").order_by("-rank", "title")
    assert {listing.title for listing in ranked} == {"Port throughput", "Port calls"}
    boosted = ListingFilter({"search": "port throughput"}, queryset=Listing.objects.all()).qs
    assert [listing.title for listing in boosted] == ["Port throughput"]


def test_title_boost_is_the_share_of_query_words_in_the_title():
    published_listing(registered_product(title="Qingdao 港口 throughput"))
    boost = search.title_boost("港口 tons")
    value = Listing.objects.annotate(boost=boost).values_list("boost", flat=True).get()
    assert value == pytest.approx(0.5)


# --- what the catalogue filters and sorts by -----------------------------------------------------------------------


def test_plan_kinds_are_stored_once_each_in_plan_kind_order():
    assert search.plan_kinds_text(["sandbox", "licence", "sandbox"]) == "licence sandbox"
    assert search.plan_kinds_text([]) == ""


def test_the_catalogue_fields_come_from_the_product_the_active_plans_and_the_registered_version():
    # given a listing of an important healthcare product with two plans, one of them withdrawn after publishing
    product = registered_product(title="Ward beds", sector="healthcare", classification="important")
    listing = published_listing(
        product, plans=[plan_fields("subscription", price=Decimal("90")), plan_fields(price=Decimal("10"))]
    )
    listings.plan_withdraw(plan=listing.plans.get(kind="licence"), by=owner_of(product.organization))
    # when its catalogue fields are stored
    Listing.objects.filter(pk=listing.pk).update(sector="", classification="", plan_kinds="", min_price=None)
    search.refresh_catalogue_fields(listing)
    # then they say what the product, the plans still offered and the registered version say
    listing.refresh_from_db()
    version = product.versions.get()
    assert (listing.sector, listing.classification) == ("healthcare", "important")
    assert listing.plan_kinds == "subscription" and listing.plan_kind_list == ["subscription"]
    assert listing.min_price == Decimal("90") and listing.quality_score == version.quality_score is not None


# --- the SQLite fallback ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_the_plain_fallback_finds_the_same_tokens_in_the_search_text():
    def plain(query: str) -> list[str]:
        listings = search.filter_plain(Listing.objects.order_by("title"), search.query_words(query))
        return list(listings.values_list("title", flat=True))

    assert plain("集装箱吞吐量") == ["青岛港口集装箱吞吐量"]
    assert plain("泊位") == ["青岛港口集装箱吞吐量"]
    assert plain("HOSPITAL healthcare") == ["Hospital bed occupancy"]
    assert plain("hospital solar") == []


def test_the_fallback_is_used_off_postgresql(catalogue, monkeypatch):
    # filter_search branches on the vendor: off PostgreSQL it filters the text and annotates no rank
    monkeypatch.setattr(search, "connection", type("SQLite", (), {"vendor": "sqlite"})())
    listings = search.filter_search(Listing.objects.all(), "港口")
    assert "rank" not in listings.query.annotations
    assert [listing.title for listing in listings] == ["青岛港口集装箱吞吐量"]
    # and relevance ordering then falls back to the newest first
    ordered = ListingFilter({"search": "beds"}, queryset=Listing.objects.all()).qs
    assert [listing.title for listing in ordered] == ["Hospital bed occupancy"]


def test_the_rank_reads_the_stored_vector():
    # SearchRank("search_vector", ...) would rank to_tsvector(search_vector::text): every row's vector re-parsed
    listings = search.filter_search(Listing.objects.all(), "port")
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    assert "to_tsvector" not in str(listings.query)
    assert 'ts_rank("marketplace_listing"."search_vector"' in str(listings.query)


# --- the search table (CatalogueSearchEntry) ------------------------------------------------------------------------


def _entry(listing: Listing) -> CatalogueSearchEntry | None:
    return CatalogueSearchEntry.objects.filter(listing=listing).first()


def test_a_published_listing_has_a_search_entry_copied_from_it():
    listing = published_listing(registered_product(title="港口吞吐量"), title="Berth calls")
    listing.refresh_from_db()
    entry = _entry(listing)
    assert (entry.published_at, entry.title, entry.vector) == (
        listing.published_at, "Berth calls", listing.search_vector,
    )  # fmt: skip


def test_the_entry_follows_the_listings_title_vector_and_status_through_any_write():
    product = registered_product(title="港口吞吐量")
    draft = draft_listing(product, title="Draft")
    assert _entry(draft) is None  # not published
    listing = published_listing(product, title="Berth calls")
    Listing.objects.filter(pk=listing.pk).update(title="Berth calls, daily")  # a bulk update too
    assert _entry(listing).title == "Berth calls, daily"
    listings.listing_delist(listing=listing, by=owner_of(product.organization), reason="Replaced.")
    assert _entry(listing) is None
    Listing.objects.filter(pk=listing.pk).update(status=ListingStatus.PUBLISHED)
    assert _entry(listing) is not None
    Listing.objects.filter(pk=listing.pk).update(search_vector=None)  # not indexed: nothing to find it by
    assert _entry(listing) is None


def test_deleting_a_listing_deletes_its_entry():
    listing = published_listing(registered_product())
    with connection.cursor() as cursor:  # below the ORM, which would delete the entry first itself
        cursor.execute("DELETE FROM marketplace_pricePlan WHERE listing_id = %s", [listing.pk])
        cursor.execute("DELETE FROM marketplace_listing WHERE id = %s", [listing.pk])
    assert not CatalogueSearchEntry.objects.filter(listing_id=listing.pk).exists()
