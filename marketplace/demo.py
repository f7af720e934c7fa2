# Demo text is Chinese prose (full-width punctuation is intended).
# ruff: noqa: RUF001
"""Demo trading for `seed_demo`: every registered demo product of a merchant is listed with price plans and
published; the demo buyer holds a free sample contract (active, downloadable, rated), requests a paid licence
(awaiting payment, to try the pay page against localstripe) and posts a demand that a merchant answers.

Everything goes through the services, so it is audited like real trading; running it again adds nothing.
"""

from datetime import date, timedelta
from decimal import Decimal

from accounts.models import Membership, Organization, User
from marketplace.choices import ListingStatus, PlanKind
from marketplace.models import Contract, Demand, Listing
from marketplace.services import contracts, demands, feedback, listings
from registry.choices import ProductStatus
from registry.models import DataProduct

BUYER_CODE = "MA3C00006"  # 山东港航供应链金融有限公司
PURPOSES = "在买方内部用于统计分析、预测建模和经营决策；不得向第三方提供原始数据或可还原的衍生数据。"
BUYER_PURPOSE = "港口拥堵预测与供应链金融风控模型的训练和回测。"


def _owner(org: Organization) -> User:
    return Membership.objects.get(organization=org, role="owner").user


def _plans(product: DataProduct) -> list[dict]:
    """Plans of a plausible price for a city exchange; level-4 data is offered through the sandbox only."""
    if product.sandbox_only:
        return [{"kind": PlanKind.SANDBOX, "name": "沙箱使用（12个月）", "price": Decimal("30000.00")}]
    return [
        {"kind": PlanKind.LICENCE, "name": "样例数据（免费）", "price": Decimal(0), "download_days": 7},
        {"kind": PlanKind.LICENCE, "name": "一次性许可", "price": Decimal("48000.00"), "download_days": 30},
        {"kind": PlanKind.SUBSCRIPTION, "name": "月度订阅", "price": Decimal("6800.00"), "billing_period": "month"},
        {"kind": PlanKind.METERED_API, "name": "按次调用", "price": Decimal(0), "price_per_call": Decimal("0.20"),
         "free_calls": 1000},
    ]  # fmt: skip


def _list(product: DataProduct, regulator: User | None, stdout) -> Listing | None:
    listing = Listing.objects.filter(product=product).first()
    if listing is not None:
        return listing
    owner = _owner(product.organization)
    listing = listings.listing_create(product=product, by=owner, permitted_purposes=PURPOSES, term_months=12)
    for plan in _plans(product):
        listings.plan_add(listing=listing, by=owner, **plan)
    listings.listing_submit(listing=listing, by=owner, ip_address="127.0.0.1")
    if regulator is not None:
        listing = listings.listing_approve(listing=listing, by=regulator, reason="挂牌材料齐全，条款合规。")
    stdout.write(f"  listing: {product.title} ({listing.get_status_display()})")
    return listing


def _trade(listing: Listing, buyer: Organization, stdout) -> None:
    """A free sample contract (active, rated) and a paid licence request awaiting payment."""
    if listing.status != ListingStatus.PUBLISHED or Contract.objects.filter(listing=listing, buyer=buyer).exists():
        return
    by = _owner(buyer)
    plans = {plan.name: plan for plan in listing.plans.all()}
    sample = contracts.contract_request(listing=listing, plan=plans["样例数据（免费）"], buyer=buyer, by=by,
                                        purpose=BUYER_PURPOSE, ip_address="127.0.0.1")  # fmt: skip
    feedback.review_create(contract=sample, by=by, rating=4, comment="字段说明清楚，样例可直接用于建模验证。")
    contracts.contract_request(listing=listing, plan=plans["一次性许可"], buyer=buyer, by=by, purpose=BUYER_PURPOSE,
                               ip_address="127.0.0.1")  # fmt: skip
    stdout.write(f"  contracts: {buyer.name} ← {listing.title} (sample active, licence awaiting payment)")


def _demand(buyer: Organization, listing: Listing | None, stdout) -> None:
    title = "港口集装箱吞吐与船舶靠泊数据"
    if Demand.objects.filter(organization=buyer, title=title).exists():
        return
    demand = demands.demand_post(
        organization=buyer, by=_owner(buyer), title=title, sector="marine",
        need="需要青岛港分港区日度吞吐量、集装箱量和船舶艘次数据，用于港口拥堵指数和物流金融风控。",
        budget_min=Decimal("20000.00"), budget_max=Decimal("80000.00"), deadline=date.today() + timedelta(days=30),
    )  # fmt: skip
    stdout.write(f"  demand: {title}")
    if listing is None or listing.status != ListingStatus.PUBLISHED:
        return
    plan = listing.plans.get(name="一次性许可")
    demands.offer_make(demand=demand, listing=listing, plan=plan, price=Decimal("42000.00"),
                       by=_owner(listing.organization), message="可按需求方口径补充船舶艘次明细。")  # fmt: skip
    stdout.write(f"  offer: {listing.organization.name} → {title}")


def seed_demo_data(*, stdout, regulator: User | None) -> None:
    """List the merchants' registered demo products and trade a little on them (idempotent)."""
    products = DataProduct.objects.filter(status=ProductStatus.REGISTERED, organization__can_sell=True)
    published = [
        listing
        for product in products.select_related("organization").order_by("pk")
        if (listing := _list(product, regulator, stdout)) is not None
    ]
    buyer = Organization.objects.filter(credit_code__contains=BUYER_CODE).first()
    if buyer is None:
        return
    marine = next((listing for listing in published if listing.product.sector == "marine"), None)
    if marine is not None:
        _trade(marine, buyer, stdout)
    _demand(buyer, marine, stdout)
