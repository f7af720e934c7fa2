"""Regulator console for members: KYC review of organisations, users and API keys (read-only)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.choices import VerificationStatus
from accounts.models import ApiKey, Invitation, Membership, Organization, User
from core.admin import Decision, DecisionAdminMixin


class ReadOnlyAdminMixin:
    """Regulators look; changes go through the decision actions and the members' own pages."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class MembershipInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Membership
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(DecisionAdminMixin, admin.ModelAdmin):
    decisions = {
        "verify": Decision.calling(
            _("Verify"), services.organization_verify, "organization", VerificationStatus.PENDING
        ),
        "reject": Decision.calling(
            _("Reject"), services.organization_reject, "organization", VerificationStatus.PENDING
        ),
        "suspend": Decision.calling(
            _("Suspend"), services.organization_suspend, "organization", VerificationStatus.VERIFIED
        ),
        "reinstate": Decision.calling(
            _("Reinstate"), services.organization_reinstate, "organization", VerificationStatus.SUSPENDED
        ),
    }
    list_display = ["name", "credit_code", "kind", "capabilities", "status", "licence_link", "created_at"]
    list_filter = ["status", "kind", "can_sell", "can_buy", "can_operate_public_data", "can_appraise"]
    search_fields = ["name", "credit_code", "contact_email"]
    ordering = ["status", "-created_at"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "kind", "credit_code", "capabilities"]}),
        (_("Contact"), {"fields": ["address", "contact_name", "contact_email", "contact_phone"]}),
        (
            _("Verification"),
            {"fields": ["status", "status_reason", "verified_at", "licence_link", "licence_uploaded_at", "created_at"]},
        ),
    ]
    readonly_fields = [
        "name",
        "kind",
        "credit_code",
        "capabilities",
        "address",
        "contact_name",
        "contact_email",
        "contact_phone",
        "status",
        "status_reason",
        "verified_at",
        "licence_link",
        "licence_uploaded_at",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("capabilities"))
    def capabilities(self, obj: Organization) -> str:
        return ", ".join(obj.capability_labels())

    @admin.display(description=_("business licence"))
    def licence_link(self, obj: Organization) -> str:
        if not obj.business_licence:
            return "—"
        url = reverse(f"{self.admin_site.name}:accounts_organization_licence", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Open licence"))

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.licence_view)
        return [path("<int:pk>/licence/", view, name="accounts_organization_licence"), *super().get_urls()]

    def licence_view(self, request: HttpRequest, pk: int) -> FileResponse:
        org = get_object_or_404(self.get_queryset(request), pk=pk)
        if not org.business_licence or not self.has_view_permission(request, org):
            raise Http404
        return FileResponse(org.business_licence.open("rb"), filename=org.business_licence.name.rsplit("/", 1)[-1])


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["full_name"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["prefix", "name", "organization", "scope", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["scope"]
    search_fields = ["prefix", "name", "organization__name"]
    list_select_related = ["organization"]
    exclude = ["key_hash"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    search_fields = ["email", "organization__name"]
    list_select_related = ["organization"]
    exclude = ["token_hash"]
