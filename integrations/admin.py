"""Webhooks in the regulator console: read-only (organisations manage their endpoints themselves; the secret is
never shown here)."""

from django.contrib import admin
from django.http import HttpRequest

from integrations.models import WebhookDelivery, WebhookEndpoint


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["url", "organization", "is_active", "consecutive_failures", "disabled_at", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["organization"]
    search_fields = ["url", "organization__name"]
    exclude = ["secret"]
    readonly_fields = ["organization", "url", "description", "events", "is_active", "consecutive_failures",
                       "disabled_at", "disabled_reason", "created_by", "created_at", "updated_at"]  # fmt: skip


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "endpoint", "status", "attempts", "last_response_code", "duration_ms"]
    list_filter = ["status", "event_type"]
    list_select_related = ["endpoint"]
    search_fields = ["event_id", "endpoint__url"]
    show_full_result_count = False
    readonly_fields = ["endpoint", "event_id", "event_type", "payload", "status", "attempts", "next_attempt_at",
                       "last_response_code", "last_response_body", "last_error", "duration_ms", "created_at",
                       "delivered_at"]  # fmt: skip
