# Demo text is Chinese prose (full-width punctuation is intended) and demo figures need no cryptographic randomness.
# ruff: noqa: RUF001, S311
"""Demo data products for `seed_demo`: realistic files per sector, registered, under review and drafts.

Figures are of a plausible scale for a city exchange (Qingdao port, Jiaodong farms, city buses), generated
deterministically so every `make run` shows the same catalogue.
"""

import random
from collections.abc import Callable, Iterator
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


def _port_throughput(rng: random.Random) -> Iterator[str]:
    yield "日期,码头,货类,吞吐量_吨,集装箱_TEU,船舶艘次"
    for day in _days(120):
        for terminal in ("前湾港区", "董家口港区", "黄岛油港"):
            cargo = "原油" if terminal == "黄岛油港" else rng.choice(["集装箱", "铁矿石", "煤炭", "粮食"])
            tons = rng.randint(80_000, 320_000)
            teu = rng.randint(20_000, 70_000) if cargo == "集装箱" else 0
            yield f"{day},{terminal},{cargo},{tons},{teu},{rng.randint(12, 60)}"


def _crop_yields(rng: random.Random) -> Iterator[str]:
    yield "year,county,crop,area_mu,yield_kg_per_mu,soil_ph"
    for year in range(2015, TODAY.year):
        for county in ("即墨区", "平度市", "莱西市", "胶州市"):
            for crop in ("小麦", "玉米", "花生", "大白菜"):
                ph = round(rng.uniform(5.6, 7.8), 1)
                yield f"{year},{county},{crop},{rng.randint(20_000, 180_000)},{rng.randint(280, 620)},{ph}"


def _bus_ridership(rng: random.Random) -> Iterator[str]:
    yield "date,line,boardings,on_time_rate,start_time,end_time"
    for day in _days(60):
        for line in ("1路", "6路", "26路", "303路", "隧道3路"):
            last_bus = rng.choice(["22:00", "23:00"])
            yield f"{day},{line},{rng.randint(8_000, 42_000)},{rng.uniform(0.86, 0.99):.3f},05:30,{last_bus}"


def _clinic_visits(rng: random.Random) -> Iterator[str]:
    yield "visit_date,hospital,department,patient_name,mobile,age_band,visits"
    surnames, given = "张王李赵刘陈杨黄周吴", "伟芳娜敏静丽强磊洋艳"
    for day in _days(30):
        for _ in range(8):
            name = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
            mobile = f"13{rng.randint(5, 9)}{rng.randint(10_000_000, 99_999_999)}"
            hospital = rng.choice(["市立医院", "青大附院", "海慈医院"])
            dept, band = rng.choice(["内科", "儿科", "骨科"]), rng.choice(["0-17", "18-39", "40-64", "65+"])
            yield f"{day},{hospital},{dept},{name},{mobile},{band},{rng.randint(1, 3)}"


def _sme_credit(rng: random.Random) -> Iterator[str]:
    yield "month,district,industry,firms,avg_tax_paid,loan_default_rate"
    month = date(TODAY.year - 2, TODAY.month, 1)
    while month <= TODAY:
        for district in ("市南区", "市北区", "李沧区", "崂山区", "黄岛区", "城阳区"):
            industry = rng.choice(["制造业", "批发零售", "交通运输", "软件信息"])
            yield (
                f"{month:%Y-%m},{district},{industry},{rng.randint(300, 4000)},"
                f"{rng.randint(20_000, 900_000)},{rng.uniform(0.005, 0.06):.4f}"
            )
        month = (month + timedelta(days=32)).replace(day=1)


def _months(n: int) -> list[date]:
    first = date(TODAY.year, TODAY.month, 1)
    months = [first]
    for _ in range(n - 1):
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return months[::-1]


def _factory_lines(rng: random.Random) -> Iterator[str]:
    yield "时间,工厂,产线,产量_台,设备综合效率,能耗_kWh,不良品数"
    lines = [("胶州互联工厂", "冰箱总装一线"), ("胶州互联工厂", "冰箱总装二线"), ("黄岛互联工厂", "洗衣机总装线")]
    lines.append(("即墨互联工厂", "空调钣金线"))
    for day in _days(14):
        for hour in range(0, 24, 2):
            for plant, line in lines:
                output = rng.randint(180, 420)
                energy = output * rng.uniform(1.6, 2.4)
                yield (
                    f"{day} {hour:02d}:00,{plant},{line},{output},{rng.uniform(0.72, 0.93):.3f},{energy:.1f},"
                    f"{rng.randint(0, 6)}"
                )


def _equipment_faults(rng: random.Random) -> Iterator[str]:
    yield "week_start,industry,equipment_type,connected_devices,fault_tickets,mean_repair_hours"
    industries = ("家电", "橡胶轮胎", "纺织服装", "食品饮料", "轨道交通装备")
    for week in _days(52 * 7)[::7]:
        for industry in industries:
            devices = rng.randint(1_200, 9_000)
            equipment = rng.choice(["数控机床", "注塑机", "工业机器人", "空压机"])
            yield (
                f"{week},{industry},{equipment},{devices},{rng.randint(devices // 400, devices // 80)},"
                f"{rng.uniform(1.5, 9.0):.1f}"
            )


def _site_monitoring(rng: random.Random) -> Iterator[str]:
    yield "日期,工地,所在区,PM10_微克每立方米,PM2.5_微克每立方米,噪声_分贝,渣土车出场车次,在岗人数"
    sites = [
        ("地铁6号线二期第三标段", "黄岛区"),
        ("胶东国际机场配套道路工程", "胶州市"),
        ("青岛西站综合交通枢纽", "黄岛区"),
        ("李村河片区安置房项目", "李沧区"),
        ("金家岭金融区写字楼项目", "崂山区"),
        ("城阳区中小学扩建工程", "城阳区"),
        ("市北区老旧小区改造工程", "市北区"),
        ("即墨区智能制造产业园厂房", "即墨区"),
    ]
    for day in _days(90):
        for site, district in sites:
            pm10 = rng.randint(35, 160)
            yield (
                f"{day},{site},{district},{pm10},{round(pm10 * rng.uniform(0.45, 0.7))},"
                f"{rng.uniform(52, 78):.1f},{rng.randint(0, 140)},{rng.randint(40, 520)}"
            )


def _construction_waste(rng: random.Random) -> Iterator[str]:
    yield "month,disposal_site,waste_type,inbound_tons,recycled_share"
    sites = ("黄岛区建筑垃圾资源化利用中心", "城阳区消纳场", "即墨区消纳场", "李沧区临时中转站")
    for month in _months(24):
        for site in sites:
            for waste in ("工程渣土", "拆除垃圾", "装修垃圾"):
                yield f"{month:%Y-%m},{site},{waste},{rng.randint(8_000, 260_000)},{rng.uniform(0.2, 0.9):.2f}"


def _metro_ridership(rng: random.Random) -> Iterator[str]:
    yield "date,line,passengers,peak_hour_passengers,train_trips,punctuality_rate"
    lines = {"1号线": 420_000, "2号线": 260_000, "3号线": 330_000, "4号线": 150_000, "8号线": 120_000}
    lines |= {"11号线": 60_000, "13号线": 90_000}
    for day in _days(90):
        weekend = 0.8 if day.weekday() >= 5 else 1.0
        for line, base in lines.items():
            passengers = round(base * weekend * rng.uniform(0.85, 1.15))
            yield (
                f"{day},{line},{passengers},{round(passengers * rng.uniform(0.09, 0.14))},"
                f"{rng.randint(180, 320)},{rng.uniform(0.995, 0.9999):.4f}"
            )


def _outpatient_summary(rng: random.Random) -> Iterator[str]:
    yield "month,district,disease_group,visits,avg_cost_yuan,insured_share"
    districts = ("市南区", "市北区", "李沧区", "崂山区", "黄岛区", "城阳区")
    for month in _months(24):
        for district in districts:
            for group in ("呼吸系统疾病", "心脑血管疾病", "消化系统疾病", "骨科与创伤", "儿科常见病"):
                yield (
                    f"{month:%Y-%m},{district},{group},{rng.randint(4_000, 60_000)},"
                    f"{rng.uniform(160, 720):.2f},{rng.uniform(0.82, 0.97):.3f}"
                )


def _scenic_visitors(rng: random.Random) -> Iterator[str]:
    yield "日期,景区,接待游客_人次,省外游客占比,平均停留_小时,门票收入_元"
    sites = {"栈桥": (0, 60_000), "八大关": (0, 35_000), "崂山风景区": (130, 28_000)}
    sites |= {"金沙滩": (0, 50_000), "青岛啤酒博物馆": (60, 12_000), "奥帆中心": (0, 30_000)}
    for day in _days(180):
        # Summer and the International Beer Festival (August) bring the crowds.
        season = 1.8 if day.month in (7, 8) else 1.0 if day.month in (5, 6, 9, 10) else 0.5
        for site, (ticket, base) in sites.items():
            visitors = round(base * season * rng.uniform(0.7, 1.3))
            yield (
                f"{day},{site},{visitors},{rng.uniform(0.35, 0.72):.2f},{rng.uniform(1.5, 5.5):.1f},{visitors * ticket}"
            )


def _laoshan_bookings(rng: random.Random) -> Iterator[str]:
    yield "date,route,time_slot,booked,entered"
    for day in _days(60):
        for route in ("太清游览区", "仰口游览区", "北九水游览区", "巨峰游览区"):
            for slot in ("07:00-09:00", "09:00-11:00", "11:00-13:00", "13:00-15:00"):
                booked = rng.randint(300, 3_000)
                yield f"{day},{route},{slot},{booked},{round(booked * rng.uniform(0.82, 0.98))}"


def _shopping_districts(rng: random.Random) -> Iterator[str]:
    yield "日期,城市,商圈,客流_人次,销售额_万元,线上订单占比"
    districts = [("济南", "泉城路商圈"), ("济南", "经十路商圈"), ("济南", "西客站商圈")]
    districts += [("青岛", "台东商圈"), ("青岛", "香港中路商圈"), ("青岛", "李村商圈")]
    for day in _days(120):
        weekend = 1.4 if day.weekday() >= 5 else 1.0
        for city, district in districts:
            visitors = round(rng.randint(60_000, 220_000) * weekend)
            yield (
                f"{day},{city},{district},{visitors},{visitors * rng.uniform(0.012, 0.03):.1f},"
                f"{rng.uniform(0.18, 0.42):.2f}"
            )


def _convenience_sales(rng: random.Random) -> Iterator[str]:
    yield "week_start,city,category,stores,units_sold,sell_through_rate"
    categories = ("饮料", "乳制品", "方便食品", "休闲零食", "日用百货", "鲜食", "烟酒", "冷冻食品")
    for week in _days(52 * 7)[::7]:
        for city in ("济南", "青岛"):
            for category in categories:
                stores = rng.randint(900, 2_400)
                yield (
                    f"{week},{city},{category},{stores},{stores * rng.randint(40, 260)},{rng.uniform(0.55, 0.95):.2f}"
                )


def _elderly_care(rng: random.Random) -> Iterator[str]:
    yield "月份,区,街道,服务站,登记老人数,助餐人次,上门服务人次,满意度"
    stations = [
        ("李沧区", "浮山路街道", "浮山路街道综合养老服务中心"),
        ("李沧区", "九水街道", "九水街道社区养老服务站"),
        ("李沧区", "兴华路街道", "兴华路街道社区养老服务站"),
        ("市北区", "台东街道", "台东街道长者食堂"),
        ("市北区", "辽宁路街道", "辽宁路街道社区养老服务站"),
        ("市南区", "八大峡街道", "八大峡街道综合养老服务中心"),
        ("崂山区", "中韩街道", "中韩街道社区养老服务站"),
        ("城阳区", "流亭街道", "流亭街道社区养老服务站"),
        ("黄岛区", "长江路街道", "长江路街道长者食堂"),
        ("即墨区", "通济街道", "通济街道社区养老服务站"),
    ]
    for month in _months(24):
        for district, street, station in stations:
            elders = rng.randint(600, 4_500)
            yield (
                f"{month:%Y-%m},{district},{street},{station},{elders},{rng.randint(elders, elders * 6)},"
                f"{rng.randint(elders // 20, elders // 4)},{rng.uniform(0.9, 0.99):.2f}"
            )


def _hotline_requests(rng: random.Random) -> Iterator[str]:
    yield "date,district,category,requests,resolved_within_deadline"
    districts = ("市南区", "市北区", "李沧区", "崂山区", "黄岛区", "城阳区")
    categories = ("供暖供水", "物业管理", "交通出行", "劳动就业", "教育入学", "社会救助")
    for day in _days(30):
        for district in districts:
            for category in categories:
                requests = rng.randint(20, 600)
                yield f"{day},{district},{category},{requests},{round(requests * rng.uniform(0.9, 0.995))}"


@dataclass(frozen=True)
class DemoProduct:
    """One demo product: metadata, the owning organisation (by credit-code suffix), its file, and its fate."""

    org_code: str
    title: str
    summary: str
    sector: str
    file_name: str
    make_lines: Callable[[random.Random], Iterator[str]]  # the header first
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
    DemoProduct(
        "MA3C00004",
        "互联工厂产线产量、设备效率与能耗（两小时粒度）",
        "胶州、黄岛、即墨三家互联工厂四条产线每两小时的产量、设备综合效率（OEE）、能耗和不良品数。",
        "manufacturing",
        "factory_lines.csv",
        _factory_lines,
        "registered",
        {"tags": ["工业互联网", "智能制造", "能耗"], "update_frequency": "realtime", "spatial_coverage": "青岛市"},
    ),
    DemoProduct(
        "MA3C00004",
        "工业互联网平台设备故障工单（周度汇总）",
        "平台接入设备按行业和设备类型汇总的每周故障工单数与平均修复时长，用于预测性维护模型。",
        "manufacturing",
        "equipment_faults.csv",
        _equipment_faults,
        "submitted",
        {"tags": ["工业互联网", "设备运维"], "update_frequency": "weekly", "spatial_coverage": "青岛市"},
    ),
    DemoProduct(
        "MA3C00011",
        "在建工地扬尘、噪声与渣土车出场监测（日均）",
        "八个重点在建工地的 PM10、PM2.5、噪声日均值，渣土车出场车次和在岗人数，来自智慧工地监测设备。",
        "construction",
        "site_monitoring.csv",
        _site_monitoring,
        "registered",
        {"tags": ["智慧工地", "扬尘治理", "建筑业"], "spatial_coverage": "青岛市黄岛、胶州、李沧、崂山等区市"},
    ),
    DemoProduct(
        "MA3C00011",
        "建筑垃圾消纳场进场量（月度）",
        "主要消纳场和中转站按月、按垃圾类型统计的进场吨数与资源化利用比例。",
        "construction",
        "construction_waste.csv",
        _construction_waste,
        "draft",
        {"tags": ["建筑垃圾", "资源化利用"], "update_frequency": "monthly", "spatial_coverage": "青岛市"},
    ),
    DemoProduct(
        "MA3C00009",
        "地铁线路日客运量与准点率",
        "青岛地铁 1、2、3、4、8、11、13 号线按日统计的客运量、高峰小时客流、开行列次和准点率。",
        "transport",
        "metro_ridership.csv",
        _metro_ridership,
        "registered",
        {"tags": ["地铁", "交通", "客流"], "spatial_coverage": "青岛市"},
    ),
    DemoProduct(
        "MA3C00010",
        "区级门诊量与病种结构（汇总统计）",
        "六个区按月、按病种汇总的门诊人次、次均费用和医保结算占比，只含汇总数，不含个人信息。",
        "healthcare",
        "outpatient_summary.csv",
        _outpatient_summary,
        "registered",
        {
            "tags": ["医疗", "医保", "卫生统计"],
            "update_frequency": "monthly",
            "acquisition_method": "public_data",
            "sensitivity_level": 2,
            "spatial_coverage": "青岛市六区",
        },
    ),
    DemoProduct(
        "MA3C00012",
        "重点景区日接待游客量与客源结构",
        "栈桥、八大关、崂山、金沙滩、啤酒博物馆、奥帆中心按日的接待人次、省外游客占比、平均停留时长和门票收入。",
        "culture_tourism",
        "scenic_visitors.csv",
        _scenic_visitors,
        "registered",
        {"tags": ["文旅", "景区", "啤酒节"], "spatial_coverage": "青岛市"},
    ),
    DemoProduct(
        "MA3C00008",
        "崂山风景区分时预约与入园核验",
        "崂山四个游览区按时段的预约人数和实际入园人数；机构认证通过后提交登记。",
        "culture_tourism",
        "laoshan_bookings.csv",
        _laoshan_bookings,
        "draft",
        {"tags": ["文旅", "崂山", "分时预约"], "spatial_coverage": "青岛市崂山区"},
    ),
    DemoProduct(
        "MA3C00013",
        "济南、青岛重点商圈日客流与销售额",
        "泉城路、经十路、西客站、台东、香港中路、李村六个商圈按日的客流、销售额和线上订单占比。",
        "commerce",
        "shopping_districts.csv",
        _shopping_districts,
        "registered",
        {"tags": ["商贸", "商圈", "消费"], "spatial_coverage": "济南市、青岛市"},
    ),
    DemoProduct(
        "MA3C00013",
        "社区便利店品类周度动销",
        "济南、青岛两地连锁便利店按品类的周度门店数、销量和动销率。",
        "commerce",
        "convenience_sales.csv",
        _convenience_sales,
        "submitted",
        {"tags": ["零售", "便利店"], "update_frequency": "weekly", "spatial_coverage": "济南市、青岛市"},
    ),
    DemoProduct(
        "MA3C00014",
        "社区养老服务站服务人次（月度）",
        "十个街道养老服务站按月的登记老人数、助餐人次、上门服务人次和满意度，支撑智慧健康养老。",
        "social",
        "elderly_care.csv",
        _elderly_care,
        "registered",
        {"tags": ["养老", "智慧社区", "民生"], "update_frequency": "monthly", "spatial_coverage": "青岛市"},
    ),
    DemoProduct(
        "MA3C00014",
        "12345 市民热线诉求分类统计（区级、日度）",
        "各区按日、按诉求类别汇总的 12345 热线诉求量和按期办结量，不含来电人信息。",
        "social",
        "hotline_requests.csv",
        _hotline_requests,
        "submitted",
        {"tags": ["12345热线", "社会治理"], "acquisition_method": "public_data", "spatial_coverage": "青岛市六区"},
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
    content = ("\n".join(spec.make_lines(rng)) + "\n").encode()
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
