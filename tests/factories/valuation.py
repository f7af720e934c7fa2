from registry import services as registry_services
from tests.factories.accounts import owner_of
from valuation import services

COST_INPUTS = {
    "planning": "20000", "collection": "120000", "storage": "30000", "processing": "80000", "labelling": "40000",
    "maintenance": "30000", "indirect": "50000", "profit_rate": "0.12", "obsolescence_rate": "0.1",
}  # fmt: skip
INCOME_INPUTS = {
    "variant": "direct", "useful_life_years": 5, "discount_rate": "0.1", "attribution_share": "0.3",
    "income": ["500000", "550000", "600000"], "growth_rate": "0.03",
}  # fmt: skip


def valuation_of(product, method="cost", inputs=None, organization=None, by=None, **kwargs):
    """Request a valuation (with eager Celery it runs when the surrounding test transaction's callbacks run)."""
    organization = organization or product.organization
    by = by or owner_of(organization)
    inputs = inputs if inputs is not None else {"cost": COST_INPUTS, "income": INCOME_INPUTS}[method]
    return services.valuation_request(
        product=product, organization=organization, by=by, method=method, inputs=inputs, **kwargs
    )


__all__ = ["COST_INPUTS", "INCOME_INPUTS", "registry_services", "valuation_of"]
