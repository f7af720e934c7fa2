"""Web pages for members: sign-in and sign-up, the language switch, the organisation, members and invitations, API
keys, two-factor.

Every write calls a service from accounts.services (the language preference aside); every lookup goes through
`restrict(user, action)`, so another organisation's object answers 404 like a missing one.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from accounts import access_services, services
from accounts.choices import Role
from accounts.forms import (
    AccountForm,
    ApiKeyForm,
    EmailAuthenticationForm,
    InvitationForm,
    InvitationSignUpForm,
    LanguageForm,
    LicenceUploadForm,
    OrganizationProfileForm,
    OrganizationRegisterForm,
    OrganizationSwitchForm,
    RoleForm,
    TokenForm,
)
from accounts.models import ApiKey, Invitation, Membership, Organization, User
from accounts.web import (
    ServiceFailed,
    call_service,
    can,
    form_status,
    organization_view,
    paginate,
    qr_code_svg,
    run_action,
    set_active_organization,
    submit,
    totp_secret,
)
from core.errors import DomainError

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


# --- sign-in, sign-out, sign-up ---------------------------------------------------------------------------------


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


sign_in = SignInView.as_view()
sign_out = auth_views.LogoutView.as_view()  # POST only (Django ≥ 5)


def register(request: HttpRequest) -> HttpResponse:
    """Sign up and register an organisation in one step; a signed-in user only registers the organisation."""
    account_form = None if request.user.is_authenticated else AccountForm(request.POST or None)
    org_form = OrganizationRegisterForm(request.POST or None)
    forms_ = [f for f in (account_form, org_form) if f is not None]
    if request.method == "POST" and all([f.is_valid() for f in forms_]):
        organization = _register(request, account_form, org_form)
        if organization is not None:
            messages.success(
                request,
                _("%(org)s is registered. Upload its business licence for review.") % {"org": organization.name},
            )
            return redirect("accounts:organization")
    context = {"account_form": account_form, "org_form": org_form}
    return render(request, "accounts/register.html", context, status=max(form_status(f) for f in forms_))


def _register(request: HttpRequest, account_form: AccountForm | None, org_form: OrganizationRegisterForm):
    """Create the user (for a guest) and the organisation in one transaction: both, or nothing."""
    user = request.user
    try:
        with transaction.atomic():
            if account_form is not None:
                user = call_service(request, account_form, services.user_create, **account_form.service_data())
                _save_language(user, request.LANGUAGE_CODE)
            organization = call_service(
                request, org_form, services.organization_register, user=user, **org_form.cleaned_data
            )
    except ServiceFailed:
        return None
    if account_form is not None:
        login(request, user, backend=MODEL_BACKEND)
    set_active_organization(request, organization)
    return organization


# --- language ---------------------------------------------------------------------------------------------------


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch (cookie, safe `next`); a signed-in user's pick is also the language of their mail."""
    response = i18n.set_language(request)
    form = LanguageForm(request.POST)
    if request.method == "POST" and request.user.is_authenticated and form.is_valid():
        _save_language(request.user, form.cleaned_data["language"])
    return response


def _save_language(user: User, language: str) -> None:
    # Also at sign-up: the language someone signs up in is the best first guess for their mail. A preference, not a
    # business fact: no service or audit event, and no write when nothing changes.
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


# --- the organisation -------------------------------------------------------------------------------------------


@organization_view
def organization_detail(request: HttpRequest, membership: Membership) -> HttpResponse:
    return _organization_page(request, membership)


def _organization_page(request, membership: Membership, *, licence_form=None, status: int = 200) -> HttpResponse:
    context = {
        "membership": membership,
        "organization": membership.organization,
        "can_manage": can(membership, "manage"),
        "licence_form": licence_form or LicenceUploadForm(),
    }
    return render(request, "accounts/organization_detail.html", context, status=status)


@organization_view
def organization_edit(request: HttpRequest, membership: Membership) -> HttpResponse:
    organization = membership.organization
    if not can(membership, "manage"):
        raise PermissionDenied(_("Only owners and administrators can edit the organisation."))
    form = OrganizationProfileForm.for_organization(organization, request.POST if request.method == "POST" else None)
    if form.is_valid() and submit(
        request, form, services.organization_update, organization=organization, by=request.user, **form.cleaned_data
    ):
        messages.success(request, _("The organisation profile is saved."))
        return redirect("accounts:organization")
    context = {"membership": membership, "organization": organization, "form": form}
    return render(request, "accounts/organization_edit.html", context, status=form_status(form))


@require_POST
@organization_view
def licence_upload(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = LicenceUploadForm(request.POST, request.FILES)
    licence = form.is_valid() and submit(
        request,
        form,
        services.organization_upload_licence,
        organization=membership.organization,
        by=request.user,
        licence=form.cleaned_data["business_licence"],
    )
    if licence:
        messages.success(request, _("The business licence is uploaded. A regulator will review it."))
        return redirect("accounts:organization")
    return _organization_page(request, membership, licence_form=form, status=form_status(form))


@login_required
def licence_download(request: HttpRequest, pk: int) -> FileResponse:
    """Stream the private licence file to the organisation's members, and to regulators who passed two-factor
    authentication in this session; anyone else gets 404."""
    organization = get_object_or_404(_licence_readable(request.user), pk=pk)
    if not organization.business_licence:
        raise Http404
    filename = organization.business_licence.name.rsplit("/", 1)[-1]
    response = FileResponse(organization.business_licence.open("rb"), as_attachment=True, filename=filename)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _licence_readable(user) -> QuerySet[Organization]:
    if user.is_staff and user.is_verified() and user.has_perm("accounts.view_organization"):
        return Organization.objects.all()
    # Members only: `restrict` alone would also let a superuser in without the second factor.
    return Organization.objects.restrict(user, "view").filter(memberships__user=user)


@require_POST
@login_required
def organization_switch(request: HttpRequest) -> HttpResponse:
    """Make another of the user's organisations the active one, then go back where the user was."""
    form = OrganizationSwitchForm(request.POST)
    if not form.is_valid():
        raise Http404
    mine = Organization.objects.restrict(request.user, "view").filter(memberships__user=request.user)
    organization = get_object_or_404(mine, pk=form.cleaned_data["organization"])
    set_active_organization(request, organization)
    messages.info(request, _("You are now working as %(org)s.") % {"org": organization.name})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "home"
    return redirect(target)


# --- members and invitations ------------------------------------------------------------------------------------


@organization_view
def members(request: HttpRequest, membership: Membership) -> HttpResponse:
    return _members_page(request, membership)


def _members_page(request, membership: Membership, *, invite_form=None, status: int = 200) -> HttpResponse:
    organization, user = membership.organization, request.user
    rows = Membership.objects.restrict(user, "view").filter(organization=organization).select_related("user")
    invitations = (
        Invitation.objects.restrict(user, "manage").filter(organization=organization).select_related("invited_by")
    )
    context = {
        "membership": membership,
        "organization": organization,
        "can_manage": can(membership, "manage"),
        "members_page": paginate(request, rows),
        "invitations_page": paginate(request, invitations, "invitations_page"),
        "invite_form": invite_form or InvitationForm(),
        "roles": Role.choices,
    }
    return render(request, "accounts/members.html", context, status=status)


@require_POST
@organization_view
def membership_role(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    target = get_object_or_404(Membership.objects.restrict(request.user, "view").select_related("user"), pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
        return _members_page(request, membership, status=400)
    role = form.cleaned_data["role"]
    status = run_action(request, services.membership_change_role, membership=target, role=role, by=request.user)
    if status:
        return _members_page(request, membership, status=status)
    messages.success(request, _("%(user)s is now %(role)s.") % {"user": target.user.email, "role": Role(role).label})
    return redirect("accounts:members")


@require_POST
@organization_view
def membership_remove(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """Remove a member; with one's own membership, leave the organisation."""
    target = get_object_or_404(
        Membership.objects.restrict(request.user, "view").select_related("user", "organization"), pk=pk
    )
    status = run_action(request, services.membership_remove, membership=target, by=request.user)
    if status:
        return _members_page(request, membership, status=status)
    if target.user_id == request.user.pk:
        set_active_organization(request, None)
        messages.success(request, _("You have left %(org)s.") % {"org": target.organization.name})
        return redirect("home")
    messages.success(request, _("%(user)s was removed.") % {"user": target.user.email})
    return redirect("accounts:members")


@require_POST
@organization_view
def invitation_create(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid() and submit(
        request,
        form,
        services.invitation_create,
        organization=membership.organization,
        by=request.user,
        **form.cleaned_data,
    ):
        messages.success(request, _("An invitation was sent to %(email)s.") % {"email": form.cleaned_data["email"]})
        return redirect("accounts:members")
    return _members_page(request, membership, invite_form=form, status=form_status(form))


@require_POST
@organization_view
def invitation_revoke(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.restrict(request.user, "view"), pk=pk)
    status = run_action(request, services.invitation_revoke, invitation=invitation, by=request.user)
    if status:
        return _members_page(request, membership, status=status)
    messages.success(request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email})
    return redirect("accounts:members")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Show an invitation; a signed-in user accepts it, a guest signs in or creates an account first."""
    try:
        invitation = services.invitation_for_token(token)
    except DomainError as exc:
        return _invitation_page(request, error=exc.message, status=exc.status)
    if request.method != "POST":
        return _invitation_page(request, invitation=invitation)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        with transaction.atomic():
            joined = services.invitation_accept(token=token, user=request.user)
    except (DomainError, ValidationError) as exc:
        error = exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)
        return _invitation_page(request, invitation=invitation, error=error, status=getattr(exc, "status", 400))
    return _joined(request, joined)


@require_POST
def invitation_signup(request: HttpRequest, token: str) -> HttpResponse:
    """Create an account for the invited address and accept the invitation, in one transaction."""
    if request.user.is_authenticated:
        return redirect("accounts:invitation_accept", token=token)
    try:
        invitation = services.invitation_for_token(token)
    except DomainError as exc:
        return _invitation_page(request, error=exc.message, status=exc.status)
    form = InvitationSignUpForm(request.POST, invited_email=invitation.email)
    if form.is_valid():
        try:
            with transaction.atomic():
                user = call_service(request, form, services.user_create, **form.service_data())
                _save_language(user, request.LANGUAGE_CODE)
                joined = call_service(request, form, services.invitation_accept, token=token, user=user)
        except ServiceFailed:
            pass
        else:
            login(request, user, backend=MODEL_BACKEND)
            return _joined(request, joined)
    return _invitation_page(request, invitation=invitation, signup_form=form, status=form_status(form))


def _invitation_page(request, *, invitation=None, signup_form=None, error=None, status: int = 200) -> HttpResponse:
    if invitation is not None and signup_form is None and not request.user.is_authenticated:
        signup_form = InvitationSignUpForm(invited_email=invitation.email)
    context = {"invitation": invitation, "signup_form": signup_form, "error": error}
    return render(request, "accounts/invitation_accept.html", context, status=status)


def _joined(request: HttpRequest, joined: Membership) -> HttpResponse:
    set_active_organization(request, joined.organization)
    messages.success(
        request,
        _("Welcome to %(org)s. Your role is %(role)s.")
        % {"org": joined.organization.name, "role": joined.get_role_display()},
    )
    return redirect("accounts:organization")


# --- API keys ---------------------------------------------------------------------------------------------------


@organization_view
def api_keys(request: HttpRequest, membership: Membership) -> HttpResponse:
    """List the organisation's keys; a valid POST creates one and shows the raw key on this response only."""
    form = ApiKeyForm(request.POST if request.method == "POST" else None)
    created = form.is_valid() and submit(
        request,
        form,
        services.api_key_create,
        organization=membership.organization,
        by=request.user,
        **form.cleaned_data,
    )
    if created:
        api_key, raw_key = created
        response = render(request, "accounts/api_key_created.html", {"api_key": api_key, "raw_key": raw_key})
        patch_cache_control(response, private=True, no_store=True)
        return response
    return _api_keys_page(request, membership, form=form, status=form_status(form))


def _api_keys_page(request, membership: Membership, *, form=None, status: int = 200) -> HttpResponse:
    keys = (
        ApiKey.objects.restrict(request.user, "view")
        .filter(organization=membership.organization)
        .select_related("created_by")
    )
    context = {
        "membership": membership,
        "organization": membership.organization,
        "can_manage": can(membership, "manage"),
        "keys_page": paginate(request, keys),
        "form": form or ApiKeyForm(),
    }
    return render(request, "accounts/api_keys.html", context, status=status)


@require_POST
@organization_view
def api_key_revoke(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey.objects.restrict(request.user, "view"), pk=pk)
    status = run_action(request, services.api_key_revoke, api_key=api_key, by=request.user)
    if status:
        return _api_keys_page(request, membership, status=status)
    messages.success(request, _("The key %(name)s is revoked.") % {"name": api_key.name})
    return redirect("accounts:api_keys")


# --- two-factor authentication for regulators -------------------------------------------------------------------


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Staff set up a TOTP authenticator: scan the QR code (or type the secret), then confirm with a code."""
    if not request.user.is_staff:
        raise PermissionDenied(_("Two-factor setup is for regulator staff."))
    device = access_services.totp_device_for_setup(request.user)
    if device is None:
        return render(request, "accounts/two_factor.html", {"confirmed": True})
    form = TokenForm(request.POST if request.method == "POST" else None)
    if form.is_valid() and not device.verify_is_allowed()[0]:
        form.add_error("token", _("Too many wrong codes. Wait a minute, then try the newest code."))
    elif form.is_valid():
        if access_services.totp_device_confirm(device=device, token=form.cleaned_data["token"], by=request.user):
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on. You can now use the regulator console."))
            return redirect("accounts:two_factor")
        form.add_error("token", _("That code is not valid. Check the time on your phone and try the newest code."))
    context = {
        "device": device,
        "form": form,
        "qr_svg": qr_code_svg(device.config_url, label=_("QR code for your authenticator app")),
        "secret": totp_secret(device),
    }
    return render(request, "accounts/two_factor.html", context)
