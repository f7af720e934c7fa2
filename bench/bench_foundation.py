"""Foundation benchmarks: permission scoping and the audit ledger, each against the bare query it wraps."""

import itertools
import uuid

from django.db import connection, transaction
from django.utils import timezone

from bench.harness import Result, compare

ORGS = 200
KEYS_PER_ORG = 50


def _setup() -> tuple:
    from accounts.models import ApiKey, Organization
    from tests.factories import OrganizationFactory
    from tests.factories.accounts import owner_of

    orgs = [OrganizationFactory() for _ in range(ORGS)]
    me = orgs[0]
    rows, perms = [], []
    owner = owner_of(me)
    for org in orgs:
        for n in range(KEYS_PER_ORG):
            rows.append(
                ApiKey(
                    organization=org,
                    name=f"k{n}",
                    prefix=f"b_{uuid.uuid4().hex[:12]}",
                    key_hash="0" * 64,
                    created_by=owner,
                )
            )
    ApiKey.objects.bulk_create(rows, batch_size=2000)
    _grant_bulk(ApiKey.objects.all(), perms)
    _analyze()
    return me, owner, Organization


def _analyze() -> None:
    """Refresh planner statistics after bulk loading, as autovacuum would in a running system."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _grant_bulk(queryset, perms) -> None:
    """Bulk version of accounts.services.grant_to_organization, for setting up large data only."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import GroupObjectPermission

    ct = ContentType.objects.get_for_model(queryset.model)
    codes = Permission.objects.filter(content_type=ct, codename__in=["view_apikey", "change_apikey", "delete_apikey"])
    for obj in queryset.select_related("organization"):
        for perm in codes:
            perms.append(
                GroupObjectPermission(
                    permission=perm, content_type=ct, object_pk=str(obj.pk), group_id=obj.organization.group_id
                )
            )
    GroupObjectPermission.objects.bulk_create(perms, batch_size=5000)


def bench_restrict() -> Result:
    from accounts.models import ApiKey

    me, owner, _ = _setup()

    def restricted():
        return list(ApiKey.objects.restrict(owner).values_list("pk", "name"))

    def direct():
        return list(ApiKey.objects.filter(organization=me).values_list("pk", "name"))

    assert len(restricted()) == len(direct()) == KEYS_PER_ORG
    return compare(
        f"restrict(): {KEYS_PER_ORG} of {ORGS * KEYS_PER_ORG} keys",
        restricted,
        "filter(organization=...)",
        direct,
        goal=5.0,
    )


def bench_ledger_append() -> Result:
    from audit.models import AuditEvent
    from audit.services import audit_record

    batch = 200
    seq = itertools.count(10**12)

    def chained():
        for n in range(batch):
            audit_record(action="bench.event", data={"n": n})

    def unchained():
        # The same rows written by the ORM with no lock, no head update and no hashing: an unchained log.
        now = timezone.now()
        for n in range(batch):
            AuditEvent(
                sequence=next(seq),
                created_at=now,
                actor_kind="system",
                action="bench.bare",
                data={"n": n},
                prev_hash="0" * 64,
                hash=uuid.uuid4().hex * 2,
            ).save()

    return compare(
        f"audit_record() x{batch} (lock + chain)",
        lambda: _in_tx(chained),
        f"unchained ORM insert x{batch}",
        lambda: _in_tx(unchained),
        goal=5.0,
        repeat=3,
    )


def bench_ledger_verify() -> Result:
    from audit.models import AuditEvent
    from audit.services import audit_record, ledger_verify

    with transaction.atomic():
        for n in range(5000):
            audit_record(action="bench.verify", data={"n": n})

    def verify():
        report = ledger_verify()
        assert report.ok, report.error

    def read_all():
        return sum(1 for _ in AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000))

    return compare("ledger_verify() over the chain", verify, "read the same rows", read_all, goal=5.0, repeat=3)


def _in_tx(fn) -> None:
    """Run `fn` in a transaction and roll it back: the unchained rows must not stay in the ledger (the benchmarks after
    this one verify the chain), and the chained ones are rolled back too so that both sides pay the same."""
    with transaction.atomic():
        fn()
        transaction.set_rollback(True)


BENCHMARKS = [bench_restrict, bench_ledger_verify, bench_ledger_append]
