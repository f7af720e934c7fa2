from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The ledger, read-only: regulators can search and read it, nobody can change it here."""

    list_display = ["sequence", "created_at", "action", "actor_label", "organization_id", "object_type", "object_id"]
    list_filter = ["actor_kind", "object_type"]
    search_fields = ["action", "actor_label", "object_id", "hash"]
    show_full_result_count = False
    list_per_page = 100

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
