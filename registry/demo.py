# Demo text is Chinese prose (full-width punctuation is intended) and demo figures need no cryptographic randomness.
# ruff: noqa: RUF001, S311
"""Demo data products for `seed_demo`: realistic files per sector, registered, under review and drafts.

Figures are of a plausible scale for a city exchange (Qingdao port, Jiaodong farms, city buses), generated
deterministically so every `make run` shows the same catalogue.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from accounts.models import Membership, Organization, User
from registry import services
from registry.models import DataProduct

TODAY = date.today()


def _days(n: int) -> list[date]:
    return [TODAY - timedelta(days=n - i) for i in range(n)]


def _port_throughput(rng: random.Random) -> str:
    rows = ["日期,码头,货类,吞吐量_吨,集装箱_TEU,船舶艘次"]
    for day in _days(120):
        for terminal in ("前湾港区", "董家口港区", "黄岛油港"):
            cargo = "原油" if terminal == "黄岛油港" else rng.choice(["集装箱", "铁矿石", "煤炭", "粮食"])
            tons = rng.randint(80_000, 320_000)
            teu = rng.randint(20_000, 70_000) if cargo == "集装箱" else 0
            rows.append(f"{day},{terminal},{cargo},{tons},{teu},{rng.randint(12, 60)}")
    return "\n".join(rows) + "\n"


def _crop_yields(rng: random.Random) -> str:
    rows = ["year,county,crop,area_mu,yield_kg_per_mu,soil_ph"]
    for year in range(2015, TODAY.year):
        for county in ("即墨区", "平度市", "莱西市", "胶州市"):
            for crop in ("小麦", "玉米", "花生", "大白菜"):
                ph = round(rng.uniform(5.6, 7.8), 1)
                rows.append(f"{year},{county},{crop},{rng.randint(20_000, 180_000)},{rng.randint(280, 620)},{ph}")
    return "\n".join(rows) + "\n"


def _bus_ridership(rng: random.Random) -> str:
    rows = ["date,line,boardings,on_time_rate,start_time,end_time"]
    for day in _days(60):
        for line in ("1路", "6路", "26路", "303路", "隧道3路"):
            last_bus = rng.choice(["22:00", "23:00"])
            rows.append(f"{day},{line},{rng.randint(8_000, 42_000)},{rng.uniform(0.86, 0.99):.3f},05:30,{last_bus}")
    return "\n".join(rows) + "\n"


def _clinic_visits(rng: random.Random) -> str:
    rows = ["visit_date,hospital,department,patient_name,mobile,age_band,visits"]
    surnames, given = "张王李赵刘陈杨黄周吴", "伟芳娜敏静丽强磊洋艳"
    for day in _days(30):
        for _ in range(8):
            name = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
            mobile = f"13{rng.randint(5, 9)}{rng.randint(10_000_000, 99_999_999)}"
            hospital = rng.choice(["市立医院", "青大附院", "海慈医院"])
            dept, band = rng.choice(["内科", "儿科", "骨科"]), rng.choice(["0-17", "18-39", "40-64", "65+"])
            rows.append(f"{day},{hospital},{dept},{name},{mobile},{band},{rng.randint(1, 3)}")
    return "\n".join(rows) + "\n"


def _sme_credit(rng: random.Random) -> str:
    rows = ["month,district,industry,firms,avg_tax_paid,loan_default_rate"]
    month = date(TODAY.year - 2, TODAY.month, 1)
    while month <= TODAY:
        for district in ("市南区", "市北区", "李沧区", "崂山区", "黄岛区", "城阳区"):
            industry = rng.choice(["制造业", "批发零售", "交通运输", "软件信息"])
            rows.append(
                f"{month:%Y-%m},{district},{industry},{rng.randint(300, 4000)},"
                f"{rng.randint(20_000, 900_000)},{rng.uniform(0.005, 0.06):.4f}"
            )
        month = (month + timedelta(days=32)).replace(day=1)
    return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class DemoProduct:
    """One demo product: metadata, the owning organisation (by credit-code suffix), its file, and its fate."""

    org_code: str
    title: str
    summary: str
    sector: str
    file_name: str
    make_file: Callable[[random.Random], str]
    state: str  # registered | submitted | draft
    fields: dict = field(default_factory=dict)


DEMO_PRODUCTS = [
    DemoProduct(
        "MA3C00002",
        "青岛港分港区日吞吐量",
        "前湾、董家口、黄岛油港三个港区按日统计的货物吞吐量、集装箱量和船舶艘次。",
        "marine",
        "port_throughput.csv",
        _port_throughput,
        "registered",
        {"tags": ["港口", "物流", "航运"], "spatial_coverage": "青岛港"},
    ),
    DemoProduct(
        "MA3C00003",
        "胶东主要农作物单产与土壤酸碱度",
        "2015 年以来四个区市主要作物的播种面积、亩产和土壤 pH 抽样。",
        "agriculture",
        "crop_yields.csv",
        _crop_yields,
        "registered",
        {"tags": ["农业", "土壤"], "update_frequency": "yearly", "spatial_coverage": "青岛市即墨、平度、莱西、胶州"},
    ),
    DemoProduct(
        "MA3C00009",
        "公交线路日客流与准点率",
        "主要公交线路按日统计的上车人次和准点率。",
        "transport",
        "bus_ridership.csv",
        _bus_ridership,
        "submitted",
        {"tags": ["公交", "交通"], "spatial_coverage": "青岛市区"},
    ),
    DemoProduct(
        "MA3C00010",
        "门诊就诊记录（待脱敏）",
        "三家医院门诊就诊记录，含患者姓名与手机号，尚未完成去标识化。",
        "healthcare",
        "clinic_visits.csv",
        _clinic_visits,
        "draft",
        {"tags": ["医疗"], "sensitivity_level": 4, "has_personal_info": True},
    ),
    DemoProduct(
        "MA3C00005",
        "中小企业经营与信用指标（区级汇总）",
        "按区和行业汇总的企业户数、户均纳税额和贷款违约率，用于普惠金融风控建模。",
        "finance",
        "sme_credit.csv",
        _sme_credit,
        "registered",
        {
            "tags": ["信用", "普惠金融"],
            "acquisition_method": "public_data",
            "update_frequency": "monthly",
            "sensitivity_level": 3,
            "classification": "important",
        },
    ),
]


def seed_demo_data(*, stdout, regulator: User | None) -> None:
    """Create the demo products (idempotent by title) and take each to its demo state."""
    for index, spec in enumerate(DEMO_PRODUCTS):
        org = Organization.objects.filter(credit_code__contains=spec.org_code).first()
        if org is None or DataProduct.objects.filter(organization=org, title=spec.title).exists():
            continue
        owner = Membership.objects.get(organization=org, role="owner").user
        product = _create(spec, org, owner, random.Random(index))
        _advance(spec, product, owner, regulator)
        stdout.write(f"  product: {spec.title} ({spec.state})")


def _create(spec: DemoProduct, org: Organization, owner: User, rng: random.Random) -> DataProduct:
    fields = {"update_frequency": "daily", "acquisition_method": "self_generated", **spec.fields}
    with transaction.atomic():
        product = services.product_create(
            organization=org,
            by=owner,
            title=spec.title,
            summary=spec.summary,
            sector=spec.sector,
            description=spec.summary,
            legal_basis="数据由本单位在经营活动中依法产生，并经内部合规审查。",
            right_holding=True,
            right_processing=True,
            right_operation=True,
            contact_name=owner.full_name,
            contact_email=owner.email,
            **fields,
        )
    content = spec.make_file(rng).encode()
    upload = SimpleUploadedFile(spec.file_name, content, content_type="text/csv")
    services.version_upload(product=product, by=owner, upload=upload)  # profiled when this commits
    return product


def _advance(spec: DemoProduct, product: DataProduct, owner: User, regulator: User | None) -> None:
    if spec.state == "draft":
        return
    with transaction.atomic():
        product = services.product_submit(product=product, by=owner)
        if spec.state == "registered":
            services.product_approve(product=product, by=regulator, reason="材料齐全，来源合法，准予登记。")
