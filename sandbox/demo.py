# Demo text is Chinese prose (full-width punctuation is intended) and demo figures need no cryptographic randomness.
# ruff: noqa: RUF001, S311
"""Demo sandbox for `seed_demo`: the demo public-data operator registers a resident sample (level 4: sandbox only),
publishes it in the sandbox (names and mobiles masked, ID numbers hidden, incomes in aggregates only) and lists it
with sandbox plans; the demo buyer holds a free sandbox trial, keeps two saved queries, ran one and asks to export
its result, which waits for the operator's decision.

Everything goes through the services, so it is audited like real use; running it again adds nothing.
"""

import random
from collections.abc import Iterator
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Membership, Organization, User
from core.identifiers import id_number_check_char
from marketplace.choices import ListingStatus, PlanKind
from marketplace.models import Contract, Listing
from marketplace.services import contracts, listings
from registry import services as registry_services
from registry.choices import ProductStatus
from registry.models import DataProduct, ProductVersion
from registry.tasks import version_profile
from sandbox.choices import DatasetStatus, QueryStatus
from sandbox.models import ExportRequest, SandboxDataset, SavedQuery
from sandbox.services import datasets, exports, queries, workspaces

OPERATOR_CODE = "MA3C00005"  # 青岛公共数据运营有限公司
BUYER_CODE = "MA3C00006"  # 山东港航供应链金融有限公司
TITLE = "青岛市常住人口抽样（年龄、性别与收入）"
ROWS = 3000
# District: (share of the sample, streets, division code in the ID number). 即墨区 is a small group on purpose:
# grouped finely, it shows how the sandbox suppresses small groups.
DISTRICTS = {
    "市南区": (0.22, ("八大关街道", "金门路街道", "湛山街道"), "370202"),
    "市北区": (0.30, ("台东街道", "辽宁路街道", "敦化路街道"), "370203"),
    "李沧区": (0.20, ("浮山路街道", "九水街道", "兴华路街道"), "370213"),
    "崂山区": (0.16, ("中韩街道", "沙子口街道"), "370212"),
    "城阳区": (0.11, ("流亭街道", "城阳街道"), "370214"),
    "即墨区": (0.01, ("通济街道",), "370215"),
}
AGE_BANDS = {"18-29": (1997, 2008), "30-44": (1982, 1996), "45-59": (1967, 1981), "60+": (1940, 1966)}
INCOME_BY_BAND = {"18-29": 5200, "30-44": 8600, "45-59": 7900, "60+": 4100}
SURNAMES, GIVEN = "王李张刘陈杨赵黄周吴徐孙马朱胡郭于高林罗", "伟芳娜敏静丽强磊洋艳军杰涛明超秀英华平刚"
PURPOSE = "在沙箱内按区、年龄段统计常住人口收入分布，用于普惠金融产品的区域定价研究；只导出汇总结果。"
SAVED = [
    ("各区常住人口与平均月收入",
     "SELECT 区, count(*) AS 人数, round(avg(月收入_元)) AS 平均月收入\nFROM data\nGROUP BY 区\nORDER BY 人数 DESC"),
    ("各区年龄段与性别分布",
     "SELECT 区, 年龄段, 性别, count(*) AS 人数\nFROM data\nGROUP BY 区, 年龄段, 性别\nORDER BY 区, 年龄段, 性别"),
]  # fmt: skip


def _residents(rng: random.Random) -> Iterator[str]:
    yield "区,街道,性别,年龄段,姓名,身份证号,手机号,户籍类型,月收入_元"
    names, weights = list(DISTRICTS), [share for share, _streets, _code in DISTRICTS.values()]
    for _ in range(ROWS):
        district = rng.choices(names, weights)[0]
        _share, streets, code = DISTRICTS[district]
        band = rng.choice(list(AGE_BANDS))
        gender = rng.choice("男女")
        first, last = AGE_BANDS[band]
        body = f"{code}{rng.randint(first, last)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        body += f"{rng.randint(0, 99):02d}{rng.choice('13579' if gender == '男' else '02468')}"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        mobile = f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
        registered = "本市户籍" if rng.random() < 0.72 else "外地户籍"
        income = round(INCOME_BY_BAND[band] * rng.uniform(0.5, 1.9) / 10) * 10
        yield (
            f"{district},{rng.choice(streets)},{gender},{band},{name},{body}{id_number_check_char(body)},{mobile},"
            f"{registered},{income}"
        )


def _member(org: Organization, role: str) -> User:
    return Membership.objects.filter(organization=org, role=role).order_by("pk").first().user


def _product(operator: Organization, regulator: User, stdout) -> DataProduct | None:
    product = DataProduct.objects.filter(organization=operator, title=TITLE).first()
    if product is not None:
        return product if product.status == ProductStatus.REGISTERED else None
    owner = _member(operator, "owner")
    product = registry_services.product_create(
        organization=operator, by=owner, title=TITLE, sector="government",
        summary="市南、市北、李沧、崂山、城阳、即墨六区常住人口抽样的年龄段、性别、户籍类型和月收入，仅在沙箱内使用。",
        description="由公共数据授权运营形成的常住人口抽样。姓名和手机号脱敏展示，身份证号不进入沙箱，月收入只可汇总使用。",
        acquisition_method="public_data",
        legal_basis="依据公共数据授权运营协议取得，仅在数字实验室内提供“可用不可见”服务。",
        right_holding=False, right_processing=True, right_operation=True, classification="important",
        sensitivity_level=4, has_personal_info=True, update_frequency="yearly",
        deidentification_note="姓名、手机号脱敏；身份证号隐藏；月收入仅允许汇总统计，结果经小样本抑制后输出。",
        spatial_coverage="青岛市六区", contact_name=owner.full_name, contact_email=owner.email,
        tags=["人口", "公共数据", "数字实验室"],
    )  # fmt: skip
    content = ("\n".join(_residents(random.Random(2026))) + "\n").encode()
    upload = SimpleUploadedFile("residents_sample.csv", content, content_type="text/csv")
    version = registry_services.version_upload(product=product, by=owner, upload=upload)
    if not ProductVersion.objects.get(pk=version.pk).is_profiled:  # a worker profiles it later: do it here
        version_profile(version.pk)
    registry_services.product_submit(product=product, by=owner)
    registry_services.product_approve(product=product, by=regulator, reason="公共数据授权运营材料齐全，仅限沙箱使用。")
    stdout.write(f"  product: {TITLE} (registered, level 4)")
    return DataProduct.objects.get(pk=product.pk)


def _dataset(product: DataProduct, stdout) -> SandboxDataset:
    dataset = SandboxDataset.objects.live().filter(product=product).first()
    if dataset is None:
        version = product.versions.filter(status="registered").order_by("-number").first()
        dataset = datasets.dataset_publish(
            version=version, by=_member(product.organization, "owner"), title="常住人口抽样（数字实验室）",
            description="按区、街道、年龄段、性别和户籍类型分析常住人口与收入；小于 10 人的分组不予显示。",
            policies={"月收入_元": "aggregate_only"}, daily_query_quota=100,
        )  # fmt: skip
        stdout.write(f"  sandbox dataset: {dataset.title}")
    if dataset.status == DatasetStatus.PREPARING:  # no worker built it after the commit: build it here
        dataset = datasets.dataset_prepare(dataset_id=dataset.pk)
    return dataset


def _listing(product: DataProduct, regulator: User, stdout) -> Listing:
    listing = Listing.objects.filter(product=product).first()
    if listing is not None:
        return listing
    owner = _member(product.organization, "owner")
    purposes = "仅在数字实验室内统计分析和建模；结果经运营方审核后方可导出。"
    listing = listings.listing_create(
        product=product, by=owner, term_months=12, licence_template="research", permitted_purposes=purposes
    )
    listings.plan_add(listing=listing, by=owner, kind=PlanKind.SANDBOX, name="沙箱试用（免费）", price=Decimal(0))
    listings.plan_add(listing=listing, by=owner, kind=PlanKind.SANDBOX, name="沙箱使用（12个月）",
                      price=Decimal("30000.00"))  # fmt: skip
    listings.listing_submit(listing=listing, by=owner, ip_address="127.0.0.1")
    listing = listings.listing_approve(listing=listing, by=regulator, reason="仅提供沙箱计算，条款合规。")
    stdout.write(f"  listing: {listing.title} (sandbox plans)")
    return listing


def _contract(listing: Listing, buyer: Organization, stdout) -> None:
    if listing.status != ListingStatus.PUBLISHED or Contract.objects.filter(listing=listing, buyer=buyer).exists():
        return
    plan = listing.plans.get(name="沙箱试用（免费）")
    contracts.contract_request(listing=listing, plan=plan, buyer=buyer, by=_member(buyer, "owner"), purpose=PURPOSE,
                               ip_address="127.0.0.1")  # fmt: skip
    stdout.write(f"  contract: {buyer.name} ← {listing.title} (sandbox trial, active)")


def _workspace(dataset: SandboxDataset, buyer: Organization, stdout) -> None:
    """Two saved queries and an export request of the first one's result, awaiting the operator."""
    analyst = _member(buyer, "editor")
    for title, sql in SAVED:
        if not SavedQuery.objects.filter(dataset=dataset, organization=buyer, title=title).exists():
            workspaces.saved_query_save(dataset=dataset, by=analyst, title=title, sql=sql)
            stdout.write(f"  saved query: {title}")
    if ExportRequest.objects.filter(dataset=dataset, organization=buyer).exists():
        return
    run = queries.query_submit(dataset=dataset, by=analyst, sql=SAVED[0][1])
    if run.status == QueryStatus.QUEUED:  # no worker ran it after the commit: run it here
        run = queries.query_execute(run_id=run.pk)
    if run.status == QueryStatus.SUCCEEDED:
        exports.export_request(run=run, by=analyst, purpose=PURPOSE)
        stdout.write("  export request: awaiting the operator")


def seed_demo_data(*, stdout, regulator: User | None) -> None:
    """The operator's sandbox dataset on the exchange and the demo buyer's use of it (idempotent)."""
    operator = Organization.objects.filter(credit_code__contains=OPERATOR_CODE).first()
    buyer = Organization.objects.filter(credit_code__contains=BUYER_CODE).first()
    if operator is None or buyer is None or regulator is None:
        return
    product = _product(operator, regulator, stdout)
    if product is None:
        return
    dataset = _dataset(product, stdout)
    listing = _listing(product, regulator, stdout)
    _contract(listing, buyer, stdout)
    if dataset.status == DatasetStatus.PUBLISHED and listing.status == ListingStatus.PUBLISHED:
        _workspace(dataset, buyer, stdout)
