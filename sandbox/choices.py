"""Code lists of the public-data sandbox."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DatasetStatus(models.TextChoices):
    PREPARING = "preparing", _("Preparing")
    PUBLISHED = "published", pgettext_lazy("dataset status", "Published")
    FAILED = "failed", _("Preparation failed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ColumnAccess(models.TextChoices):
    VISIBLE = "visible", _("Visible")
    MASKED = "masked", _("Masked")
    AGGREGATE_ONLY = "aggregate_only", _("Aggregates only")
    HIDDEN = "hidden", _("Hidden")


class QueryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", pgettext_lazy("query status", "Failed")


class ExportStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Awaiting the operator")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
