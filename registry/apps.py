from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Data asset registry")
    regulator_permissions = [
        "registry.view_dataproduct",
        "registry.change_dataproduct",
        "registry.view_productversion",
        "registry.change_productversion",
        "registry.view_supportingdocument",
        "registry.view_negativelistrule",
        "registry.add_negativelistrule",
        "registry.change_negativelistrule",
        "registry.delete_negativelistrule",
        "registry.view_registrationcertificate",
        "registry.view_tag",
    ]
