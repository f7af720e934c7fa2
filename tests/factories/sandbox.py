"""Sandbox data built through the services: an operator's published dataset, buyers holding sandbox contracts; and,
for the engine's tests, a Parquet file of residents written by DuckDB alone (no Django models)."""

import random
from decimal import Decimal
from pathlib import Path

import duckdb

from core.identifiers import id_number_check_char
from marketplace.choices import ListingStatus
from marketplace.models import Contract, Entitlement, Listing
from registry import services as registry_services
from registry.models import ProductVersion, VersionStatus
from registry.tasks import version_profile
from sandbox import engine
from sandbox.models import SandboxDataset
from sandbox.services import datasets
from tests.factories.accounts import OrganizationFactory, owner_of
from tests.factories.marketplace import contract_on, plan_fields, published_listing, regulator
from tests.factories.registry import DataProductFactory, upload_version

POPULATION_HEADER = "district,age_band,gender,name,id_number,mobile,income"
DISTRICTS = ("市南区", "市北区", "崂山区")
SMALL_DISTRICT = "李沧区"  # one row in 40: a group below the minimum size
AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
SURNAMES, GIVEN = "张王李赵刘陈杨黄", "伟芳娜敏静丽强磊"


def id_number(rng: random.Random) -> str:
    """A valid resident identity number (Qingdao, born 1950-2005)."""
    body = f"370202{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + id_number_check_char(body)


def population_csv(rows: int = 240, seed: int = 7) -> bytes:
    """Residents: district and age band (group-by columns), a name and a mobile (masked), an ID number (hidden),
    a monthly income (aggregate-only in most tests). Districts are not equally large: 李沧区 is small."""
    rng = random.Random(seed)
    lines = [POPULATION_HEADER]
    for index in range(rows):
        district = SMALL_DISTRICT if index % 40 == 0 else DISTRICTS[index % 3]
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        mobile = f"13{rng.randint(5, 9)}{rng.randint(10_000_000, 99_999_999)}"
        lines.append(
            f"{district},{rng.choice(AGE_BANDS)},{rng.choice('男女')},{name},{id_number(rng)},{mobile},"
            f"{rng.randint(30, 300) * 100}"
        )
    return ("\n".join(lines) + "\n").encode()


def operator_org(**fields) -> object:
    """A verified organisation that operates public data (and sells, to list its sandbox datasets)."""
    return OrganizationFactory(can_operate_public_data=True, **fields)


def registered_version(
    operator=None, content: bytes | None = None, *, file_name: str = "residents.csv", **fields
) -> ProductVersion:
    """The registered version of a new product of the operator's with personal information (de-identified)."""
    product = DataProductFactory(
        organization=operator or operator_org(),
        title=fields.pop("title", "Qingdao residents sample"),
        has_personal_info=True,
        deidentification_note="Names and mobiles are masked; ID numbers never leave the operator.",
        **fields,
    )
    version_profile(upload_version(product, content or population_csv(), file_name).pk)
    registry_services.product_submit(product=product, by=owner_of(product.organization))
    registry_services.product_approve(product=product, by=regulator(), reason="Complete and lawful.")
    return product.versions.get(status=VersionStatus.REGISTERED)


def published_dataset(operator=None, *, content: bytes | None = None, policies=None, **rules) -> SandboxDataset:
    """A dataset published by its operator's owner and prepared here and now (not waiting for the commit)."""
    version = registered_version(operator, content)
    dataset = datasets.dataset_publish(
        version=version, by=owner_of(version.product.organization), title="Residents", policies=policies, **rules
    )
    return datasets.dataset_prepare(dataset_id=dataset.pk)


def sandbox_listing(dataset: SandboxDataset) -> Listing:
    """The dataset's product on the exchange with a free sandbox plan (made once per product)."""
    listing = Listing.objects.filter(product=dataset.product, status=ListingStatus.PUBLISHED).first()
    return listing or published_listing(dataset.product, plans=[plan_fields("sandbox", price=Decimal(0))])


def sandbox_contract(dataset: SandboxDataset, buyer=None) -> Contract:
    """An active (free) sandbox contract of `buyer` (a new organisation by default) on the dataset's product."""
    return contract_on(sandbox_listing(dataset), buyer=buyer or OrganizationFactory())


def sandbox_entitlement(dataset: SandboxDataset, buyer=None) -> Entitlement:
    return sandbox_contract(dataset, buyer).entitlements.get()


# --- a Parquet file for the engine ---------------------------------------------------------------------------------

# 300 residents: north 120, south 120, east 56, west 4 (a small group); district-0/1/2 by i % 3.
RESIDENTS_SQL = """
SELECT CASE WHEN i < 120 THEN 'north' WHEN i < 240 THEN 'south' WHEN i < 296 THEN 'east' ELSE 'west' END AS region,
       'district-' || (i % 3) AS district,
       CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS gender,
       'P***' || lpad(i::VARCHAR, 3, '0') AS name,
       (3000 + (i * 37) % 5000)::INTEGER AS salary,
       DATE '2024-01-01' + (i % 90)::INTEGER AS joined,
       (i * 12.5)::DECIMAL(10, 2) AS bonus
FROM range(300) t(i)
"""
RESIDENTS_COLUMNS = {
    "region": "visible",
    "district": "visible",
    "gender": "visible",
    "name": "masked",
    "salary": "aggregate_only",
    "joined": "visible",
    "bonus": "visible",
}
RESIDENTS_POLICY = engine.Policy(columns=RESIDENTS_COLUMNS, hidden=frozenset({"id_number"}), max_execution_ms=5_000)
RESIDENTS_ROW_COLUMNS = ["region", "district", "gender", "name", "joined", "bonus"]


def write_residents(path: Path) -> str:
    """The residents table as Parquet (masked names as stored, no id_number: hidden columns are left out)."""
    with duckdb.connect() as connection:
        connection.execute(f"COPY ({RESIDENTS_SQL}) TO '{path}' (FORMAT parquet)")
    return str(path)


def residents_query(parquet: str, sql: str, **rules) -> engine.Result:
    """Run `sql` on the residents file through the engine, with RESIDENTS_POLICY changed by `rules`."""
    policy = engine.Policy(**{**RESIDENTS_POLICY.__dict__, **rules})
    return engine.run_query(sql, parquet_path=parquet, policy=policy)
