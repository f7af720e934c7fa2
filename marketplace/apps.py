from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = _("Marketplace")
    regulator_permissions = [
        "marketplace.view_listing",
        "marketplace.change_listing",
        "marketplace.view_priceplan",
        "marketplace.view_contract",
        "marketplace.change_contract",
        "marketplace.view_signature",
        "marketplace.view_payment",
        "marketplace.view_refund",
        "marketplace.view_stripeevent",
        "marketplace.view_entitlement",
        "marketplace.view_download",
        "marketplace.view_usagerecord",
        "marketplace.view_settlemententry",
        "marketplace.view_payout",
        "marketplace.change_payout",
        "marketplace.view_review",
        "marketplace.view_complaint",
        "marketplace.change_complaint",
        "marketplace.view_demand",
        "marketplace.view_offer",
    ]

    def ready(self) -> None:
        from marketplace.services import listings
        from registry import services as registry_services

        registry_services.on_product_withdrawn(listings.delist_withdrawn_product)
        registry_services.on_product_changed(listings.reindex_changed_product)
