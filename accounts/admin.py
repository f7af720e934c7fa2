"""Regulator console for members: KYC review of organisations, users and API keys (read-only).

Platform administrators (superusers) also edit users, permission groups and TOTP devices here; those saves and
deletes go through `accounts.access_services`, so each one is audited.
"""

import copy
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as OTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import access_services, services
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


class ServiceAdminMixin:
    """Saves and deletes call audited services (`save_through`, `delete_through`) instead of writing rows."""

    def save_through(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        raise NotImplementedError

    def delete_through(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        self.save_through(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: list, change: bool) -> None:
        # The service saved the many-to-many fields with the object; only inlines (none so far) are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete_through(request, obj)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for obj in queryset.order_by("pk"):
            self.delete_through(request, obj)


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

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        # Regulators hold the change permission for the decisions, but every field is read-only: a "Save" button
        # that saves nothing would only confuse, so the page is a review page with its decision buttons.
        review = {
            "title": _("Review the organisation"),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context={**review, **(extra_context or {})})

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


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's set-password form, saving through the audited service as the administrator `by`."""

    def __init__(self, user: User, *args: Any, by: User, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.by = by

    def save(self, commit: bool = True) -> User:
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        self.user = access_services.user_set_password(user=self.user, password=password, by=self.by)
        return self.user


@admin.register(User)
class UserAdmin(ServiceAdminMixin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["full_name", "language"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "membership_groups"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined", "membership_groups"]

    @admin.display(description=_("groups from memberships"))
    def membership_groups(self, obj: User) -> str:
        names = obj.groups.filter(access_services.membership_groups()).values_list("name", flat=True)
        return ", ".join(sorted(names)) or "—"

    def formfield_for_manytomany(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "groups":
            # Organisation groups and the Regulators group follow memberships; the form offers only the others.
            kwargs["queryset"] = Group.objects.exclude(access_services.membership_groups())
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_form(self, request: HttpRequest, form: forms.ModelForm, change: bool) -> User:
        if change:
            return super().save_form(request, form, change)
        data = form.cleaned_data
        return services.user_create(
            email=data["email"], password=data["password1"], full_name=data["full_name"], by=request.user
        )

    def save_through(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        if change:  # an added user was created by save_form
            access_services.user_update_access(user=obj, groups=form.cleaned_data.get("groups"), by=request.user)

    def delete_through(self, request: HttpRequest, obj: User) -> None:
        access_services.user_delete(user=obj, by=request.user)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # Django's view builds `self.change_password_form(user, data)`; a per-request copy of this admin hands the
        # form the administrator, without sharing that state between concurrent requests.
        admin_for_request = copy.copy(self)
        admin_for_request.change_password_form = partial(AuditedPasswordChangeForm, by=request.user)
        return DjangoUserAdmin.user_change_password(admin_for_request, request, id, form_url)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ServiceAdminMixin, DjangoGroupAdmin):
    """Hand-managed permission groups; the groups that follow memberships are read-only."""

    def _follows_memberships(self, obj: Group | None) -> bool:
        return obj is not None and Group.objects.filter(access_services.membership_groups(), pk=obj.pk).exists()

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return super().has_change_permission(request, obj) and not self._follows_memberships(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._follows_memberships(obj)

    def save_through(self, request: HttpRequest, obj: Group, form: forms.ModelForm, change: bool) -> None:
        access_services.group_save(group=obj, permissions=form.cleaned_data["permissions"], by=request.user)

    def delete_through(self, request: HttpRequest, obj: Group) -> None:
        access_services.group_delete(group=obj, by=request.user)


admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(ServiceAdminMixin, OTPDeviceAdmin):
    """django-otp's device admin, saving and deleting through audited services."""

    def save_through(self, request: HttpRequest, obj: TOTPDevice, form: forms.ModelForm, change: bool) -> None:
        access_services.totp_device_save(device=obj, by=request.user)

    def delete_through(self, request: HttpRequest, obj: TOTPDevice) -> None:
        access_services.totp_device_delete(device=obj, by=request.user)


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
