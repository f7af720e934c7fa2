from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ValuationConfig(AppConfig):
    name = "valuation"
    verbose_name = _("Data asset valuation")
    regulator_permissions = [
        "valuation.view_valuation",
        "valuation.view_comparabletransaction",
        "valuation.view_revaluationbatch",
    ]
