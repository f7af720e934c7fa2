"""Demo organisations and users for `seed_demo` (names and sectors of a city data exchange)."""

from dataclasses import dataclass, field

DEMO_PASSWORD = "Databourse-demo-2026"
DEMO_DOMAIN = "demo.databourse.cn"
# Fixed TOTP secret for the demo regulator and superuser, so the printed code setup works offline.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"


@dataclass(frozen=True)
class DemoOrg:
    """One demo organisation and its members (local part of the e-mail → role)."""

    name: str
    org_code: str
    sector: str
    members: dict[str, str]
    kind: str = "enterprise"
    capabilities: tuple[str, ...] = ()
    status: str = "verified"
    address: str = "青岛市市南区香港中路"
    # Administrative division code inside the credit code: 370200 Qingdao, 370100 Jinan.
    region: str = "370200"
    extra: dict = field(default_factory=dict)


DEMO_ORGS = [
    DemoOrg(
        "青岛市大数据发展管理局",
        "MB1A00001",
        "government",
        {"regulator": "owner", "reviewer": "admin"},
        kind="regulator",
        address="青岛市市南区香港中路11号",
    ),
    DemoOrg(
        "青岛海洋数据科技有限公司",
        "MA3C00002",
        "marine",
        {"merchant": "owner", "merchant-admin": "admin", "merchant-editor": "editor", "merchant-viewer": "viewer"},
        capabilities=("can_sell", "can_buy"),
        address="青岛市黄岛区海洋科技园",
    ),
    DemoOrg(
        "胶东智慧农业数据有限公司",
        "MA3C00003",
        "agriculture",
        {"agri": "owner"},
        capabilities=("can_sell",),
        address="青岛市即墨区蓝村街道",
    ),
    DemoOrg(
        "青岛工业互联网数据服务有限公司",
        "MA3C00004",
        "manufacturing",
        {"factory": "owner"},
        capabilities=("can_sell", "can_buy"),
        address="青岛市崂山区海尔路",
    ),
    DemoOrg(
        "青岛公共数据运营有限公司",
        "MA3C00005",
        "government",
        {"operator": "owner"},
        capabilities=("can_operate_public_data", "can_sell"),
        address="青岛市市北区敦化路",
    ),
    DemoOrg(
        "山东港航供应链金融有限公司",
        "MA3C00006",
        "finance",
        {"buyer": "owner", "buyer-analyst": "editor"},
        capabilities=("can_buy",),
        address="青岛市市北区港华路",
    ),
    DemoOrg(
        "青岛华信资产评估有限公司",
        "MA3C00007",
        "finance",
        {"appraiser": "owner"},
        capabilities=("can_appraise", "can_buy"),
        address="青岛市市南区东海西路",
    ),
    DemoOrg(
        "崂山文旅数据有限公司",
        "MA3C00008",
        "culture_tourism",
        {"pending": "owner"},
        capabilities=("can_sell",),
        status="pending",
        address="青岛市崂山区沙子口街道",
    ),
    DemoOrg(
        "青岛城市交通数据有限公司",
        "MA3C00009",
        "transport",
        {"transit": "owner"},
        capabilities=("can_sell", "can_buy"),
        address="青岛市李沧区九水东路",
    ),
    DemoOrg(
        "青岛健康医疗大数据有限公司",
        "MA3C00010",
        "healthcare",
        {"health": "owner"},
        capabilities=("can_sell",),
        address="青岛市市南区江苏路",
    ),
    DemoOrg(
        "青岛城建智慧工地科技有限公司",
        "MA3C00011",
        "construction",
        {"builder": "owner"},
        capabilities=("can_sell",),
        address="青岛市李沧区九水路",
    ),
    DemoOrg(
        "青岛文旅大数据运营有限公司",
        "MA3C00012",
        "culture_tourism",
        {"tourism": "owner"},
        capabilities=("can_sell", "can_buy"),
        address="青岛市市南区香港西路",
    ),
    DemoOrg(
        "济南商贸流通大数据有限公司",
        "MA3C00013",
        "commerce",
        {"retail": "owner"},
        capabilities=("can_sell", "can_buy"),
        address="济南市历下区泉城路",
        region="370100",
    ),
    DemoOrg(
        "青岛智慧社区服务有限公司",
        "MA3C00014",
        "social",
        {"community": "owner"},
        capabilities=("can_sell",),
        address="青岛市李沧区书院路",
    ),
]

# A tiny but real PDF, standing in for a scanned business licence.
DEMO_LICENCE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
