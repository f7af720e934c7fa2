"""Catalogue search and list over 100,000 published listings, through the DRF endpoint, next to a bare DRF endpoint.

The listings are loaded with bulk_create (their search text tokenised in Python like `listing_reindex` does, their
catalogue fields as `marketplace.search.refresh_catalogue_fields` stores them), the search vectors built with one
UPDATE, then VACUUM ANALYZE (what autovacuum leaves a catalogue that is read far more than written with: planner
statistics, and the visibility map that lets counts and searches read indexes alone). Each request goes through
Django's test Client (the whole middleware stack, a signed-in session) and is timed one by one, interleaved with a bare
DRF APIView that returns a constant under the same authentication, so both see the same machine load. Printed: median
and p95 latency of each, and the throughput ratio (bare median / endpoint median; goal >= 0.5, i.e. at most twice the
bare endpoint's time).
"""

import itertools
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.urls import include, path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.harness import Result

LISTINGS = 100_000
MERCHANTS = 200
REQUESTS = 300
GOAL = 2.0  # time ratio; throughput ratio >= 0.5
WORDS = [
    "port",
    "container",
    "throughput",
    "freight",
    "vessel",
    "berth",
    "terminal",
    "customs",
    "logistics",
    "warehouse",
    "energy",
    "grid",
    "power",
    "solar",
    "hospital",
    "clinic",
    "patient",
    "tourism",
    "hotel",
    "retail",
    "payment",
    "credit",
    "loan",
    "invoice",
    "weather",
    "traffic",
    "bus",
    "metro",
    "taxi",
    "farm",
    "crop",
    "fishery",
    "aquaculture",
    "steel",
    "chemical",
    "factory",
    "sensor",
]
CJK = [
    "港口",
    "集装箱",
    "吞吐量",
    "货运",
    "船舶",
    "泊位",
    "码头",
    "海关",
    "物流",
    "仓储",
    "能源",
    "电网",
    "电力",
    "光伏",
    "医院",
    "门诊",
    "旅游",
    "酒店",
    "零售",
    "支付",
    "信贷",
    "发票",
    "气象",
    "交通",
    "公交",
    "地铁",
]
COLUMNS = ["date", "port", "tons", "vessel_id", "berth_no", "cargo_type", "eta", "etd", "amount", "region", "city"]
WORDS_SOUGHT = ("port", "集装箱", "港口 吞吐量", "hospital patient", "energy", "物流 仓储", "tons", "交通 bus")
SEARCHES = [{"search": words} for words in WORDS_SOUGHT]
LISTS = [{}, {"page": "3"}, {"page": "10"}, {"ordering": "price"}, {"ordering": "-price"}, {"ordering": "quality"}]
FILTERS = [
    {"sector": "marine"},
    {"classification": "general", "ordering": "price"},
    {"plan_kind": "subscription"},
    {"quality_min": "80", "ordering": "quality"},
    {"price_min": "1000", "price_max": "20000"},
    {"merchant": "<the signed-in merchant>"},
]


class BareView(APIView):
    """The baseline: DRF's default authentication, permission and throttling, and a constant body."""

    def get(self, request):
        return Response({"count": 0, "results": []})


urlpatterns = [path("bench/bare/", BareView.as_view()), path("", include("config.urls"))]


def _load() -> object:
    """100,000 published listings of as many registered products, by 200 merchants; returns a signed-in user."""
    from tests.factories import OrganizationFactory
    from tests.factories.accounts import owner_of

    merchants = [OrganizationFactory() for _ in range(MERCHANTS)]
    user = owner_of(merchants[0])
    rng = random.Random(11)  # noqa: S311 - benchmark data
    products = _products(merchants, user, rng)
    _listings(products, user, rng)
    _vectors()
    return user


def _products(merchants: list, user: object, rng: random.Random) -> list:
    from registry.choices import ProductStatus, Sector
    from registry.models import DataProduct

    sectors = [choice for choice, _label in Sector.choices]
    rows = [
        DataProduct(
            organization=merchants[n % MERCHANTS], title=f"product {n}", summary="bench", sector=rng.choice(sectors),
            acquisition_method="self_generated", update_frequency="daily", contact_name="bench",
            contact_email="bench@example.com", status=ProductStatus.REGISTERED, created_by=user,
        )
        for n in range(LISTINGS)
    ]  # fmt: skip
    return DataProduct.objects.bulk_create(rows, batch_size=5000)


def _text(rng: random.Random, n: int) -> tuple[str, str]:
    title = " ".join([*rng.sample(WORDS, 2), rng.choice(CJK) + rng.choice(CJK), str(n)])
    description = " ".join([*rng.sample(WORDS, 6), *rng.sample(CJK, 4)])
    return title, description


def _listings(products: list, user: object, rng: random.Random) -> None:
    from marketplace import search
    from marketplace.choices import ListingStatus, PlanKind
    from marketplace.models import Listing, PricePlan

    now = timezone.now()
    kinds = [choice for choice, _label in PlanKind.choices]
    rows = []
    for n, product in enumerate(products):
        title, description = _text(rng, n)
        columns = rng.sample(COLUMNS, 5)
        rows.append(Listing(
            product=product, organization_id=product.organization_id, title=title, description=description,
            permitted_purposes="Analysis inside the buyer.", status=ListingStatus.PUBLISHED, created_by=user,
            published_at=now - timedelta(minutes=n), search_text=search.search_text([title, description, *columns]),
            min_price=Decimal(rng.randint(100, 100_000)), quality_score=rng.uniform(40, 100), sector=product.sector,
            classification=product.classification, plan_kinds=search.plan_kinds_text([rng.choice(kinds)]),
        ))  # fmt: skip
    listings = Listing.objects.bulk_create(rows, batch_size=5000)
    plans = [
        PricePlan(
            listing=listing, kind=listing.plan_kinds, name="plan", price=listing.min_price, billing_period="month"
        )
        for listing in listings
    ]
    PricePlan.objects.bulk_create(plans, batch_size=5000)


def _vectors() -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE marketplace_listing SET search_vector = to_tsvector('simple', search_text)")
        cursor.execute("VACUUM ANALYZE")


def _timed(client: Client, url: str, params: dict) -> float:
    start = time.perf_counter()
    response = client.get(url, params)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.content[:300]
    return elapsed


def _measure(client: Client, params: list[dict]) -> tuple[list[float], list[float]]:
    """Endpoint and bare latencies, one request each in turn."""
    ours, bare = [], []
    cycle = itertools.cycle(params)
    for _ in range(REQUESTS):
        ours.append(_timed(client, "/api/v1/listings/", next(cycle)))
        bare.append(_timed(client, "/bench/bare/", {}))
    return ours, bare


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def _report(name: str, ours: list[float], bare: list[float]) -> Result:
    median, base = statistics.median(ours), statistics.median(bare)
    print(
        f"{name}: median {median * 1000:.2f} ms, p95 {_p95(ours) * 1000:.2f} ms; bare DRF median {base * 1000:.2f} ms, "
        f"p95 {_p95(bare) * 1000:.2f} ms; throughput ratio {base / median:.2f} (goal >= {1 / GOAL:.1f})"
    )
    return Result(name, median, "bare DRF APIView (constant)", base, GOAL)


def _bench(name: str, params: list[dict]) -> Callable[[], Result]:
    def run() -> Result:
        user = _user()
        merchant = str(user.memberships.get().organization_id)
        queries = [{key: merchant if key == "merchant" else value for key, value in p.items()} for p in params]
        with override_settings(ROOT_URLCONF=__name__):
            client = Client()
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
            for query in queries:  # warm caches, connections and the planner once
                _timed(client, "/api/v1/listings/", query)
            return _report(name, *_measure(client, queries))

    return run


_loaded: list = []


def _user() -> object:
    if not _loaded:
        _loaded.append(_reused() or _load())
    return _loaded[0]


def _reused() -> object | None:
    """The signed-in user of a catalogue loaded before, when the database was kept (run.py always starts afresh, but
    loading takes minutes when the benchmark is run over and over, e.g. with setup_databases(keepdb=True))."""
    from marketplace.models import Listing
    from tests.factories.accounts import owner_of

    if Listing.objects.count() != LISTINGS:
        return None
    return owner_of(Listing.objects.order_by("pk").first().organization)  # merchants[0]


bench_search = _bench(f"catalogue search, {LISTINGS:,} listings", SEARCHES)
bench_list = _bench(f"catalogue list (pages, sorts), {LISTINGS:,}", LISTS)
bench_filters = _bench(f"catalogue list + filters, {LISTINGS:,}", FILTERS)

BENCHMARKS = [bench_search, bench_list, bench_filters]
