from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Partner integrations")
    regulator_permissions = ["integrations.view_webhookendpoint", "integrations.view_webhookdelivery"]

    def ready(self) -> None:
        from audit.models import AuditEvent
        from audit.signals import events_recorded
        from integrations.receivers import on_events_recorded

        # Outgoing webhooks hear of state changes from the ledger, so no service has to call integrations.
        events_recorded.connect(on_events_recorded, sender=AuditEvent, dispatch_uid="integrations.events_recorded")
