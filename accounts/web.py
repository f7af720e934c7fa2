"""Helpers shared by the web views: the active organisation, calling services from forms, pagination, 2FA."""

from base64 import b32encode
from collections.abc import Callable
from functools import wraps
from typing import Any

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Window
from django.db.models.query import ModelIterable
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import ROLE_ACTIONS
from accounts.forms import ServiceForm
from accounts.models import Membership, Organization
from core.errors import DomainError

ACTIVE_ORGANIZATION_SESSION_KEY = "active_organization_id"
PAGE_SIZE = 25


# --- the active organisation ------------------------------------------------------------------------------------


def user_memberships(request: HttpRequest) -> list[Membership]:
    """The signed-in user's memberships with their organisations, loaded once per request; each knows whether
    `restrict` lets the user view its organisation (`organization_viewable`), so views need not ask again."""
    if not request.user.is_authenticated:
        return []
    if not hasattr(request, "_memberships"):
        viewable = Organization.objects.restrict(request.user, "view").filter(pk=OuterRef("organization_id"))
        memberships = Membership.objects.filter(user=request.user).select_related("organization")
        request._memberships = list(memberships.annotate(organization_viewable=Exists(viewable)))
    return request._memberships


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the organisation the user is working in: the one chosen in the session, else the first."""
    memberships = user_memberships(request)
    if not memberships:
        return None
    active_id = request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY)
    return next((m for m in memberships if m.organization_id == active_id), memberships[0])


def set_active_organization(request: HttpRequest, organization: Organization | None) -> None:
    """Remember which organisation the user works in; forget the cached memberships (they may have changed)."""
    if organization is None:
        request.session.pop(ACTIVE_ORGANIZATION_SESSION_KEY, None)
    else:
        request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization.pk
    request.__dict__.pop("_memberships", None)


def can(membership: Membership | None, action: str) -> bool:
    """Whether the membership's role allows `action` (drives which buttons a page shows)."""
    return membership is not None and action in ROLE_ACTIONS[membership.role]


def organization_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in views about the active organisation: looked up through `restrict`, passed as `membership`."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = current_membership(request)
        if membership is None:
            messages.info(request, _("Register your organisation, or accept an invitation to join one."))
            return redirect("accounts:register")
        if not membership.organization_viewable:  # looked up through `restrict` with the memberships
            raise Http404
        return view(request, membership, *args, **kwargs)

    return wrapper


# --- services called from forms ---------------------------------------------------------------------------------


class ServiceFailed(Exception):
    """A service refused a form's data; the errors are on the form. Raised to roll back an atomic block."""


def call_service(request: HttpRequest, form: ServiceForm, service: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a service with a valid form's data. A ValidationError goes onto the form, a DomainError becomes an
    error message (its status is kept on the form); either way ServiceFailed is raised."""
    try:
        return service(**kwargs)
    except ValidationError as exc:
        form.add_service_errors(exc)
        raise ServiceFailed from exc
    except DomainError as exc:
        messages.error(request, str(exc.message))
        form.error_status = exc.status
        raise ServiceFailed from exc


def submit(request: HttpRequest, form: ServiceForm, service: Callable[..., Any], **kwargs: Any) -> Any | None:
    """`call_service` in its own transaction; returns the service's result, or None when it refused."""
    try:
        with transaction.atomic():
            return call_service(request, form, service, **kwargs)
    except ServiceFailed:
        return None


def form_status(form: forms.Form | None) -> int:
    """The status for a re-rendered form: that of the DomainError it ran into, else 200 (field errors)."""
    return getattr(form, "error_status", 200)


def run_action(request: HttpRequest, service: Callable[..., Any], **kwargs: Any) -> int | None:
    """Call a service from a button (no form); None on success, else show the error and return the status."""
    try:
        with transaction.atomic():
            service(**kwargs)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return exc.status
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return 400
    return None


def paginate(request: HttpRequest, queryset: Any, param: str = "page") -> Page:
    """One page of 25 rows, numbered by the query parameter `param`; `previous_query` and `next_query` hold the
    query strings of the neighbouring pages (other parameters kept), for includes/pagination.html."""
    page = _counted_page(queryset, request.GET.get(param))
    if page is None:
        page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get(param))
    for attr, has, number in (
        ("previous_query", page.has_previous, "previous_page_number"),
        ("next_query", page.has_next, "next_page_number"),
    ):
        if has():
            query = request.GET.copy()
            query[param] = getattr(page, number)()
            setattr(page, attr, query.urlencode())
    return page


def _counted_page(queryset: Any, number: Any) -> Page | None:
    """A page of a model queryset and the total row count in one query (COUNT(*) OVER ()), where Paginator would
    count first and then fetch; None when that cannot be done (not such a queryset, DISTINCT, or a page number
    Paginator reads as the last page), for Paginator to handle."""
    if not _countable(queryset):
        return None
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1  # Paginator.get_page's reading of anything but a number
    if number < 1:
        return None  # Paginator.get_page shows the last page
    paginator = Paginator(queryset, PAGE_SIZE)
    start = (number - 1) * PAGE_SIZE
    rows = list(queryset.annotate(_paginated_total=Window(Count("*")))[start : start + PAGE_SIZE])
    if not rows and number > 1:
        return None
    paginator.count = rows[0]._paginated_total if rows else 0  # Paginator.count is a cached property
    return Page(rows, number, paginator)


def _countable(queryset: Any) -> bool:
    if not isinstance(queryset, QuerySet) or queryset._iterable_class is not ModelIterable:
        return False
    query = queryset.query
    return not (query.distinct or query.combinator or query.is_sliced)


# --- two-factor setup (TOTP) ------------------------------------------------------------------------------------


def totp_secret(device: TOTPDevice) -> str:
    """The device's secret in base32, in groups of four characters for typing into an app."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(data: str, *, label: str) -> SafeString:
    """A QR code as an inline SVG element, rendered on the server (no external image, CSP-safe)."""
    code = qrcode.QRCode(border=2, image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(data)
    svg = code.make_image().to_string(encoding="unicode")
    # The SVG comes from qrcode, not from user input; only the label is ours, and it is escaped.
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" class="qr-code" ', 1))  # noqa: S308
