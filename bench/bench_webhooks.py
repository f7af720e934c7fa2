"""Stripe webhook processing rate on PostgreSQL: signed `payment_intent.succeeded` events posted to /webhooks/stripe/,
each verified, stored once, its payment locked, the contract activated (entitlement granted, audited) and the
merchant's sale booked. Goal: at least 200 events/s on 2 cores; measured one after the other from one process, and
from two worker processes at once. Each row also names the SQL statements one delivery runs, and the ledger's hash
chain is verified after the new events.

A rate has no baseline of its own, so `Rate` reports it against the goal in print_table's columns: the figure is the
time per event, the "baseline" is the time per event the goal allows (1/200 s), and the ratio must stay ≤ 1.
Replays (the same events delivered again) are measured the same way.
"""

import json
import multiprocessing
import time
import uuid
from dataclasses import dataclass
from typing import ClassVar

from bench.harness import best_of

EVENTS = 400
WARM_UP = 20
REPLAYED = 50
GOAL_EVENTS_PER_SECOND = 200


@dataclass(frozen=True)
class Rate:
    """A throughput next to its goal, shaped like harness.Result for print_table."""

    name: str
    events: int
    elapsed: float
    goal_rate: float

    @property
    def per_second(self) -> float:
        return self.events / self.elapsed if self.elapsed else float("inf")

    @property
    def seconds(self) -> float:  # per event
        return self.elapsed / self.events

    @property
    def baseline_name(self) -> str:
        return f"goal {self.goal_rate:.0f} events/s"

    @property
    def baseline_seconds(self) -> float:
        return 1 / self.goal_rate

    goal: ClassVar[float] = 1.0  # the ratio allowed: the goal's time per event

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline_seconds

    @property
    def ok(self) -> bool:
        return self.ratio <= self.goal


def _payments(count: int) -> list:
    """`count` contracts awaiting payment, each with a Payment whose PaymentIntent Stripe has just charged.

    One contract goes through the services; the others are bulk copies of it and of its two signatures (setup only:
    the webhook path never reads the grants).
    """
    from marketplace.models import Contract, Payment, Signature
    from tests.factories.marketplace import contract_on, published_listing, registered_product

    model = contract_on(published_listing(registered_product()))
    tag = uuid.uuid4().hex[:8]
    copies = []
    for n in range(count):
        copy = Contract.objects.get(pk=model.pk)
        copy.pk, copy.number = None, f"DBC-BENCH-{tag}-{n:05d}"
        copies.append(copy)
    contracts = Contract.objects.bulk_create(copies)
    signatures = list(Signature.objects.filter(contract=model))
    Signature.objects.bulk_create(
        Signature(**{**_fields(signature), "contract_id": contract.pk})
        for contract in contracts
        for signature in signatures
    )
    payments = [
        Payment(contract=contract, amount=contract.price, stripe_payment_intent=f"pi_bench_{tag}_{n}",
                idempotency_key=f"bench-{tag}-{n}")
        for n, contract in enumerate(contracts)
    ]  # fmt: skip
    return Payment.objects.bulk_create(payments)


def _fields(row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if not f.primary_key}


def _signed(payment) -> tuple[bytes, str]:
    from tests.marketplace.stripe_helpers import event, signature_header

    intent = {
        "id": payment.stripe_payment_intent, "object": "payment_intent", "status": "succeeded", "currency": "cny",
        "amount": int(payment.amount * 100), "metadata": {"payment": str(payment.pk)},
    }  # fmt: skip
    body = json.dumps(event("payment_intent.succeeded", intent)).encode()
    return body, signature_header(body)


def _deliver_all(client, deliveries: list[tuple[bytes, str]]) -> float:
    start = time.perf_counter()
    for body, signature in deliveries:
        response = client.post(
            "/webhooks/stripe/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        assert response.status_code == 200, response.content
    return time.perf_counter() - start


def _deliver_in_workers(deliveries: list[tuple[bytes, str]], workers: int) -> float:
    """Deliver from `workers` forked processes at once (like a server's workers), each on its own connection."""
    from django.db import connections

    connections.close_all()  # each child opens its own
    context = multiprocessing.get_context("fork")
    shares = [deliveries[n::workers] for n in range(workers)]
    start = time.perf_counter()
    with context.Pool(workers) as pool:
        pool.map(_deliver_share, shares)
    return time.perf_counter() - start


def _deliver_share(share: list[tuple[bytes, str]]) -> float:
    from django.db import connections
    from django.test import Client

    try:
        return _deliver_all(Client(), share)
    finally:
        connections.close_all()


def _all_active(deliveries: list[tuple[bytes, str]]) -> None:
    from marketplace.choices import ContractStatus
    from marketplace.models import Contract

    active = Contract.objects.filter(pk__in=_contract_ids(deliveries), status=ContractStatus.ACTIVE).count()
    assert active == len(deliveries), (active, len(deliveries))


def _queries_for(client, delivery: tuple[bytes, str]) -> int:
    """How many SQL statements one delivery runs (the transaction's BEGIN and COMMIT included)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        _deliver_all(client, [delivery])
    return len(queries.captured_queries)


def _new_events(workers: int) -> Rate:
    from django.test import Client

    deliveries = [_signed(payment) for payment in _payments(EVENTS + WARM_UP)]
    client = Client()
    _deliver_all(client, deliveries[: WARM_UP - 1])
    queries = _queries_for(client, deliveries[WARM_UP - 1])
    if workers == 1:
        elapsed = _deliver_all(client, deliveries[WARM_UP:])
    else:
        elapsed = _deliver_in_workers(deliveries[WARM_UP:], workers)
    _all_active(deliveries)
    _ledger_intact()
    plural = "s" if workers > 1 else ""
    name = f"webhooks: {EVENTS} new events, {workers} worker{plural} ({EVENTS / elapsed:,.0f}/s, queries: {queries})"
    return Rate(name, EVENTS, elapsed, GOAL_EVENTS_PER_SECOND)


def _ledger_intact() -> None:
    from audit.services import ledger_verify

    report = ledger_verify()
    assert report.ok, report.error


def bench_webhook_rate() -> Rate:
    """New events, one after the other: each one activates a contract."""
    return _new_events(workers=1)


def bench_webhook_rate_two_workers() -> Rate:
    """New events from two processes at once (two cores: two server workers, PostgreSQL sharing them)."""
    return _new_events(workers=2)


def bench_webhook_replays() -> Rate:
    """The same events again (Stripe retrying): each is found stored and answered 200, nothing else."""
    from django.test import Client

    deliveries = [_signed(payment) for payment in _payments(REPLAYED)]
    client = Client()
    _deliver_all(client, deliveries)
    queries = _queries_for(client, deliveries[0])
    elapsed = best_of(lambda: _deliver_all(client, deliveries * (EVENTS // REPLAYED)), repeat=3)
    name = f"webhooks: {EVENTS} replays ({EVENTS / elapsed:,.0f}/s, queries: {queries})"
    return Rate(name, EVENTS, elapsed, GOAL_EVENTS_PER_SECOND)


def _contract_ids(deliveries: list[tuple[bytes, str]]) -> list[int]:
    from marketplace.models import Payment

    intents = [json.loads(body)["data"]["object"]["id"] for body, _signature in deliveries]
    return list(Payment.objects.filter(stripe_payment_intent__in=intents).values_list("contract_id", flat=True))


BENCHMARKS = [bench_webhook_rate, bench_webhook_rate_two_workers, bench_webhook_replays]
