from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = _("Sandbox")
    regulator_permissions = [
        "sandbox.view_sandboxdataset",
        "sandbox.view_columnpolicy",
        "sandbox.view_queryrun",
        "sandbox.view_exportrequest",
        "sandbox.view_exportdownload",
    ]

    def ready(self) -> None:
        from marketplace.services import downloads
        from registry import services as registry_services
        from sandbox.services import datasets, exports

        registry_services.on_product_withdrawn(datasets.withdraw_withdrawn_product)
        # Released results are fingerprinted for their contract: a leaked copy is traced like a downloaded file.
        downloads.on_leak_candidates(exports.export_leak_candidates)
        downloads.on_delivery_log(exports.export_delivery_log)
