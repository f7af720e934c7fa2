# Demo text and comments are Chinese prose (full-width punctuation is intended).
# ruff: noqa: RUF001, RUF003
"""Demo valuations for `seed_demo`: cost, income, market and composite valuations of the registered demo products.

Figures are of the scale a city data exchange sees (a few hundred thousand to a few million yuan). The comparables
are invented, loosely modelled on listings published by the Shanghai, Guiyang, Shenzhen and Beibu Gulf exchanges,
and say so in their source. Everything goes through the services, so each valuation is audited like a real one;
with Celery eager (the one-command run) each runs as soon as it is requested.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from accounts.models import Membership, Organization, User
from registry.choices import ProductStatus
from registry.models import DataProduct
from valuation import services
from valuation.choices import HoldingPurpose, Method, ValuationStatus
from valuation.models import ComparableTransaction, RevaluationBatch, Valuation

PORT, FARM, SME = "青岛港分港区日吞吐量", "胶东主要农作物单产与土壤酸碱度", "中小企业经营与信用指标（区级汇总）"
MARINE_DATA, AGRI_DATA, PUBLIC_DATA, APPRAISER = "MA3C00002", "MA3C00003", "MA3C00005", "MA3C00007"
DEMO_SOURCE = "demo：演示数据，参照{}公开挂牌信息虚构，并非真实成交"


@dataclass(frozen=True)
class DemoComparable:
    """A comparable transaction entered by hand (invented, marked as demo in its source)."""

    org_code: str
    sector: str
    description: str
    price: str
    days_ago: int
    exchange: str

    @property
    def source(self) -> str:
        return DEMO_SOURCE.format(self.exchange)


@dataclass(frozen=True)
class DemoValuation:
    """One demo valuation: which product, who performs it, by which method and with which inputs.

    Market inputs name their comparables by description, composite inputs their components by method; both are
    looked up when the valuation is requested.
    """

    product: str
    org_code: str
    method: str
    inputs: dict
    holding_purpose: str = HoldingPurpose.INTERNAL_USE
    pledge_ratio: str | None = None


DEMO_COMPARABLES = [
    DemoComparable(
        MARINE_DATA, "marine", "航运船舶 AIS 轨迹数据年度服务（沿海主要港口）", "1680000", 240, "上海数据交易所"
    ),
    DemoComparable(MARINE_DATA, "marine", "港口集装箱作业数据产品（年度授权）", "980000", 400, "贵阳大数据交易所"),
    DemoComparable(
        MARINE_DATA, "marine", "北部湾港口吞吐量统计数据集（三年期）", "1250000", 150, "北部湾大数据交易中心"
    ),
    DemoComparable(MARINE_DATA, "marine", "沿海港口船舶进出港数据（年度订阅）", "1420000", 90, "深圳数据交易所"),
]

PORT_COST = {
    "planning": "68000",  # 需求调研与数据规划
    "collection": "415000",  # 码头作业系统接口开发与数据采集
    "storage": "126000",
    "processing": "232000",
    "labelling": "94000",
    "maintenance": "88000",
    "indirect": "157000",  # 分摊的管理人员薪酬、场地与合规审查费用
    "profit_rate": "0.12",
    "obsolescence_rate": "0.08",
}
FARM_COST = {
    "planning": "25000",
    "collection": "168000",  # 田间采样与土壤检测
    "storage": "32000",
    "processing": "74000",
    "labelling": "46000",
    "maintenance": "28000",
    "indirect": "52000",
    "profit_rate": "0.10",
    "obsolescence_rate": "0.15",  # 早年抽样方法已更新，部分年份参考价值下降
}
SME_COST = {
    "planning": "120000",
    "collection": "260000",  # 汇聚税务、社保、用电等公共数据的接口与授权成本
    "storage": "180000",
    "processing": "420000",  # 隐私计算环境下的清洗、脱敏与指标加工
    "labelling": "150000",
    "maintenance": "130000",
    "indirect": "240000",
    "profit_rate": "0.15",
    "obsolescence_rate": "0.05",
}
PORT_INCOME = {
    "variant": "direct",
    "useful_life_years": 5,
    "discount_rate": "0.10",
    "attribution_share": "0.35",  # 数据服务收入中归属于本数据资产的份额
    "income": ["1260000", "1410000", "1560000"],
    "growth_rate": "0.05",
}
SME_INCOME = {
    "variant": "profit_split",
    "useful_life_years": 5,
    "discount_rate": "0.12",
    "profit": ["3200000", "3650000", "4100000"],  # 面向银行的信用模型调用服务利润
    "split_share": "0.25",
    "growth_rate": "0.06",
    "mid_year": True,
}


def _comparable(description: str, **coefficients: str) -> dict:
    return {"description": description, **coefficients}


PORT_MARKET = {
    "aggregation": "mean",
    "comparables": [
        _comparable(DEMO_COMPARABLES[0].description, quality="0.95", date="1.02", volume="0.90"),
        _comparable(DEMO_COMPARABLES[1].description, quality="1.05", date="1.03", volume="1.10"),
        _comparable(DEMO_COMPARABLES[2].description, supply_demand="1.05", other="0.95"),
        _comparable(DEMO_COMPARABLES[3].description, quality="0.98", volume="0.92"),
    ],
}
PORT_COMPOSITE = {"components": [{"method": "cost", "weight": "0.3"}, {"method": "income", "weight": "0.4"},
                                 {"method": "market", "weight": "0.3"}]}  # fmt: skip

DEMO_VALUATIONS = [
    DemoValuation(PORT, MARINE_DATA, Method.COST, PORT_COST, HoldingPurpose.SERVICES),
    DemoValuation(PORT, MARINE_DATA, Method.INCOME, PORT_INCOME, HoldingPurpose.SERVICES),
    DemoValuation(PORT, MARINE_DATA, Method.MARKET, PORT_MARKET, HoldingPurpose.SERVICES),
    DemoValuation(PORT, MARINE_DATA, Method.COMPOSITE, PORT_COMPOSITE, HoldingPurpose.SERVICES, pledge_ratio="0.3"),
    DemoValuation(FARM, AGRI_DATA, Method.COST, FARM_COST),
    DemoValuation(SME, PUBLIC_DATA, Method.COST, SME_COST, HoldingPurpose.SERVICES),
    # The accredited appraisal a lender asks for before taking the data asset as collateral.
    DemoValuation(SME, APPRAISER, Method.INCOME, SME_INCOME, HoldingPurpose.SERVICES, pledge_ratio="0.4"),
]


def seed_demo_data(*, stdout, regulator: User | None) -> None:
    """Enter the demo comparables, value the registered demo products and revalue one (idempotent)."""
    for spec in DEMO_COMPARABLES:
        _add_comparable(spec, stdout)
    for spec in DEMO_VALUATIONS:
        _value(spec, stdout)
    _revalue(AGRI_DATA, stdout)


def _organization(org_code: str) -> Organization | None:
    return Organization.objects.filter(credit_code__contains=org_code).first()


def _owner(org: Organization) -> User:
    return Membership.objects.get(organization=org, role="owner").user


def _add_comparable(spec: DemoComparable, stdout) -> None:
    org = _organization(spec.org_code)
    if org is None or ComparableTransaction.objects.filter(organization=org, description=spec.description).exists():
        return
    services.comparable_add(
        organization=org,
        by=_owner(org),
        sector=spec.sector,
        description=spec.description,
        price=Decimal(spec.price),
        transacted_on=date.today() - timedelta(days=spec.days_ago),
        source=spec.source,
    )
    stdout.write(f"  comparable: {spec.description} ({spec.price} CNY)")


def _value(spec: DemoValuation, stdout) -> None:
    org = _organization(spec.org_code)
    product = DataProduct.objects.filter(title=spec.product, status=ProductStatus.REGISTERED).first()
    if org is None or product is None or _valued(product, org, spec.method):
        return
    inputs = _inputs(spec, product, org)
    if inputs is None:
        stdout.write(f"  valuation skipped: {spec.product} ({spec.method}) waits for its components to finish")
        return
    valuation = services.valuation_request(
        product=product,
        organization=org,
        by=_owner(org),
        method=spec.method,
        inputs=inputs,
        holding_purpose=spec.holding_purpose,
        pledge_ratio=spec.pledge_ratio,
    )  # runs when this commits (Celery eager), or on a worker
    _report(Valuation.objects.get(pk=valuation.pk), stdout)


def _valued(product: DataProduct, org: Organization, method: str) -> bool:
    return Valuation.objects.filter(product=product, organization=org, method=method).exists()


def _inputs(spec: DemoValuation, product: DataProduct, org: Organization) -> dict | None:
    """The spec's inputs with comparables and components replaced by their ids; None if a component is not done."""
    if spec.method == Method.MARKET:
        rows = ComparableTransaction.objects.filter(organization=org)
        ids = {row.description: row.pk for row in rows}
        comparables = [
            {"id": ids[item["description"]], **{k: v for k, v in item.items() if k != "description"}}
            for item in spec.inputs["comparables"]
        ]
        return {**spec.inputs, "comparables": comparables}
    if spec.method == Method.COMPOSITE:
        done = Valuation.objects.filter(product=product, organization=org, status=ValuationStatus.DONE)
        latest = {v.method: v.pk for v in done.order_by("created_at")}
        if any(item["method"] not in latest for item in spec.inputs["components"]):
            return None
        return {
            "components": [{"valuation": latest[c["method"]], "weight": c["weight"]} for c in spec.inputs["components"]]
        }
    return spec.inputs


def _report(valuation: Valuation, stdout) -> None:
    value = f"{valuation.value:,.2f} CNY" if valuation.value is not None else valuation.get_status_display()
    kind = valuation.get_performer_kind_display()
    stdout.write(f"  valuation: {valuation.product} — {valuation.get_method_display()}, {kind}: {value}")


def _revalue(org_code: str, stdout) -> None:
    """A yearly revaluation of one organisation's products, so the console shows a finished batch."""
    org = _organization(org_code)
    if org is None or RevaluationBatch.objects.filter(organization=org).exists():
        return
    if not Valuation.objects.filter(organization=org, status=ValuationStatus.DONE).exists():
        return
    batch = services.revaluation_start(organization=org, by=_owner(org))  # runs when this commits (Celery eager)
    batch.refresh_from_db()
    stdout.write(f"  revaluation: {org.name} ({batch.completed}/{batch.total}, {batch.get_status_display()})")
