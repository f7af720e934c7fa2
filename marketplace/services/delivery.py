"""Entitlements: what an active contract grants (download, metered API, sandbox) and when that access ends."""

import datetime

from django.utils import timezone

from audit.services import audit_record
from marketplace.choices import EntitlementKind, EntitlementStatus, PlanKind
from marketplace.models import Contract, Entitlement

KIND_OF_PLAN = {
    PlanKind.LICENCE: EntitlementKind.DOWNLOAD,
    PlanKind.SUBSCRIPTION: EntitlementKind.DOWNLOAD,
    PlanKind.METERED_API: EntitlementKind.API,
    PlanKind.SANDBOX: EntitlementKind.SANDBOX,
}


def _ends_at(contract: Contract, kind: str) -> datetime.datetime | None:
    """A licence's download links work for the plan's download window (within the term); the rest for the term."""
    plan = contract.terms["plan"]
    if plan["kind"] == PlanKind.LICENCE:
        window = contract.starts_at + datetime.timedelta(days=int(plan["download_days"]))
        return min(window, contract.ends_at) if contract.ends_at else window
    return contract.ends_at


def entitlements_grant(*, contract: Contract) -> list[Entitlement]:
    """Create the access an active contract sells, with the metered terms copied from the signed snapshot.

    Called once, as the contract turns active (a contract is activated only once; a unique constraint on contract and
    kind backs this up), so it inserts without looking first.
    """
    plan = contract.terms["plan"]
    kind = KIND_OF_PLAN[plan["kind"]]
    entitlement = Entitlement.objects.create(
        contract=contract,
        kind=kind,
        starts_at=contract.starts_at,
        ends_at=_ends_at(contract, kind),
        free_calls=plan.get("free_calls") or 0,
        price_per_call=plan.get("price_per_call") or 0,
        rate_limit_per_minute=plan.get("rate_limit_per_minute") or 60,
    )
    # Visible through its contract's grants (no per-row permissions: this runs in every webhook).
    audit_record(action="entitlement.granted", obj=entitlement, organization_id=contract.buyer_id,
                 data={"contract": contract.number, "kind": kind,
                       "ends_at": entitlement.ends_at.isoformat() if entitlement.ends_at else None})  # fmt: skip
    return [entitlement]


def entitlements_end(*, contract: Contract, reason: str) -> int:
    """End every active entitlement of the contract now; returns how many ended."""
    now = timezone.now()
    ended = 0
    for entitlement in Entitlement.objects.select_for_update().filter(
        contract=contract, status=EntitlementStatus.ACTIVE
    ):
        entitlement.status, entitlement.ended_at, entitlement.ended_reason = EntitlementStatus.ENDED, now, reason[:200]
        entitlement.save(update_fields=["status", "ended_at", "ended_reason"])
        audit_record(action="entitlement.ended", obj=entitlement, organization_id=contract.buyer_id,
                     data={"contract": contract.number, "reason": reason})  # fmt: skip
        ended += 1
    return ended
