"""Code lists of data-asset valuation."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Method(models.TextChoices):
    COST = "cost", _("Cost approach")
    INCOME = "income", _("Income approach")
    MARKET = "market", _("Market approach")
    COMPOSITE = "composite", _("Composite (weighted reconciliation)")


class ValuationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", pgettext_lazy("valuation status", "Failed")


class PerformerKind(models.TextChoices):
    SELF = "self", _("Self-assessment")
    ACCREDITED = "accredited", _("Accredited appraisal")


class HoldingPurpose(models.TextChoices):
    INTERNAL_USE = "internal_use", _("Held for internal use")
    SERVICES = "services", _("Held to provide services")
    SALE = "sale", _("Held for sale")


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
