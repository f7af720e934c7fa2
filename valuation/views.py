"""Web pages of valuation: a product's valuation history, a form per method, the report (HTML, PDF, schedule CSV),
comparables entered by hand, and batch revaluation with progress.

Who may value what is the service's business (`valuation.services.valuation_request`): the owner self-assesses, a
verified organisation with the appraise capability appraises registered products. Pages look valuations up through
`restrict(user, "view")`, so another organisation's valuation answers 404 like a missing one.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.web import can, current_membership, form_status, organization_view, paginate, submit
from registry.choices import ProductStatus
from registry.models import DataProduct
from valuation import accounting, charts, services
from valuation.choices import Method, ValuationStatus
from valuation.forms import (
    METHOD_FORMS,
    ComparableForm,
    CompositeForm,
    CostForm,
    MarketForm,
    ValuationFilterForm,
    composite_sources,
)
from valuation.models import ComparableTransaction, RevaluationBatch, Valuation

# --- lookups ----------------------------------------------------------------------------------------------------


def _valuations(request: HttpRequest) -> QuerySet:
    return Valuation.objects.restrict(request.user, "view").select_related("product", "organization", "version")


def _valuation_or_404(request: HttpRequest, pk: int) -> Valuation:
    return get_object_or_404(_valuations(request), pk=pk)


def _product_or_404(request: HttpRequest, pk: int) -> DataProduct:
    """Own products in any state, and registered products (an appraiser values others' registered products)."""
    products = DataProduct.objects.visible_to(request.user).select_related("organization")
    return get_object_or_404(products, pk=pk)


def _may_value(membership: Membership | None, product: DataProduct) -> bool:
    """Whether to offer the forms: the owner, or an appraiser for a registered product; the service decides."""
    if not can(membership, "add"):
        return False
    organization = membership.organization
    if organization.pk == product.organization_id:
        return True
    return organization.can_appraise and product.status == ProductStatus.REGISTERED


# --- lists ------------------------------------------------------------------------------------------------------


@require_GET
@organization_view
def valuation_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Valuations the organisation performed, or that were performed of its products, filtered."""
    organization = membership.organization
    filters = ValuationFilterForm(request.GET or None)
    valuations = filters.filter(
        _valuations(request).filter(Q(organization=organization) | Q(product__organization=organization))
    )
    context = {
        "organization": organization,
        "filters": filters,
        "valuations_page": paginate(request, valuations),
        "can_revalue": can(membership, "add"),
        "batches": RevaluationBatch.objects.restrict(request.user, "view").filter(organization=organization)[:3],
    }
    return render(request, "valuation/valuation_list.html", context)


@require_GET
@login_required
def product_valuations(request: HttpRequest, pk: int) -> HttpResponse:
    """A product's valuation history: a chart of value and range over time, and every valuation the user may see."""
    product = _product_or_404(request, pk)
    valuations = _valuations(request).filter(product=product)
    membership = current_membership(request)
    if not valuations.exists() and not _may_value(membership, product):
        raise Http404
    done = list(valuations.filter(status=ValuationStatus.DONE).order_by("as_of", "created_at")[:60])
    context = {
        "product": product,
        "valuations_page": paginate(request, valuations),
        "may_value": _may_value(membership, product),
        "performing": membership.organization if membership else None,
        "methods": Method.choices,
        "history_chart": _history_chart(product, done),
        "history": done,
    }
    return render(request, "valuation/product_valuations.html", context)


def _history_chart(product: DataProduct, done: list[Valuation]) -> Any:
    points = [
        charts.Point(
            day=v.as_of,
            value=v.value,
            low=v.low,
            high=v.high,
            accredited=v.is_accredited,
            label=f"{v.get_method_display()} · {v.as_of.isoformat()} · {v.value}",
        )
        for v in done
    ]
    return charts.history_svg(
        points,
        title=_("Valuation history of %(product)s") % {"product": product.title},
        description=_("Value of each finished valuation over time, with its low-high range as a band."),
    )


# --- the forms --------------------------------------------------------------------------------------------------


@organization_view
def valuation_create(request: HttpRequest, membership: Membership, pk: int, method: str) -> HttpResponse:
    """A form for one method; on success the valuation is queued (run at once when Celery is eager)."""
    product = _product_or_404(request, pk)
    if method not in METHOD_FORMS:
        raise Http404
    if not _may_value(membership, product):
        raise PermissionDenied(_("Your organisation cannot value this product, or your role does not allow it."))
    form = _method_form(request, membership, product, method)
    valuation = form.is_valid() and submit(
        request,
        form,
        services.valuation_request,
        product=product,
        organization=membership.organization,
        by=request.user,
        **form.service_data(),
    )
    if valuation:
        messages.success(request, _("The valuation is queued; this page shows it as soon as it has run."))
        return redirect("valuation:valuation_detail", pk=valuation.pk)
    context = {
        "product": product,
        "form": form,
        "method": method,
        "method_label": Method(method).label,
        "performing": membership.organization,
        "accredited": membership.organization.pk != product.organization_id,
        "quality_score": getattr(form, "quality_score", None),
    }
    return render(request, f"valuation/form_{method}.html", context, status=form_status(form))


def _method_form(request: HttpRequest, membership: Membership, product: DataProduct, method: str) -> Any:
    data = request.POST if request.method == "POST" else None
    if method == Method.COST:
        version = services.quality_version(product)
        return CostForm(data, quality_score=version.quality_score if version else None)
    if method == Method.MARKET:
        saved = ComparableTransaction.objects.restrict(request.user, "view").filter(
            organization=membership.organization
        )
        return MarketForm(data, saved=saved.order_by("sector", "-transacted_on"))
    if method == Method.COMPOSITE:
        return CompositeForm(data, sources=composite_sources(product, membership.organization))
    return METHOD_FORMS[method](data)


# --- the report -------------------------------------------------------------------------------------------------


@require_GET
@login_required
def valuation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The report of a finished valuation; progress while it runs; the reason when it failed."""
    valuation = _valuation_or_404(request, pk)
    context: dict[str, Any] = {"valuation": valuation, "product": valuation.product}
    if valuation.status == ValuationStatus.DONE:
        from valuation.report import valuation_report

        report = valuation_report(valuation)
        context.update(report=report, tornado_chart=_tornado_chart(report))
    return render(request, "valuation/valuation_detail.html", context)


def _tornado_chart(report: Any) -> Any:
    bars = [
        charts.Bar(bar.parameter, bar.low_input, bar.high_input, bar.low_value, bar.high_value)
        for bar in report.tornado
    ]
    return charts.tornado_svg(
        bars,
        report.base_value,
        title=_("Sensitivity of the value to its key parameters"),
        description=_("For each parameter, the value with the parameter at its low and at its high input."),
    )


@require_GET
@login_required
def valuation_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Status for the page's poller: queued, running, done or failed (with the reason)."""
    valuation = Valuation.objects.restrict(request.user, "view").filter(pk=pk).first()
    if valuation is None:
        return JsonResponse({"status": "gone"}, status=404)
    progress = {ValuationStatus.QUEUED: 10, ValuationStatus.RUNNING: 50}.get(valuation.status, 100)
    response = JsonResponse(
        {
            "status": valuation.status,
            "status_label": valuation.get_status_display(),
            "progress": progress,
            "error": valuation.error or None,
        }
    )
    patch_cache_control(response, no_store=True)
    return response


def _download_name(valuation: Valuation, suffix: str) -> str:
    stem = slugify(valuation.product.title, allow_unicode=True) or "product"
    return f"valuation-{valuation.pk}-{stem}-{valuation.as_of.isoformat()}.{suffix}"


@require_GET
@login_required
def valuation_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The report as a PDF in the reader's language."""
    valuation = _valuation_or_404(request, pk)
    if valuation.status != ValuationStatus.DONE:
        raise Http404
    from valuation.pdf import valuation_pdf as render_pdf

    response = HttpResponse(render_pdf(valuation), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_download_name(valuation, "pdf")}"'
    return response


@require_GET
@login_required
def schedule_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The amortisation schedule of a valuation held as an intangible asset, as CSV."""
    valuation = _valuation_or_404(request, pk)
    if valuation.status != ValuationStatus.DONE:
        raise Http404
    books = services.valuation_accounting(valuation)
    if not books.schedule:
        raise Http404
    response = HttpResponse(accounting.schedule_csv(books.schedule), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_download_name(valuation, "csv")}"'
    return response


# --- comparables ------------------------------------------------------------------------------------------------


@organization_view
def comparable_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The organisation's hand-entered comparable transactions, and a form to add one."""
    organization = membership.organization
    form = ComparableForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not can(membership, "add"):
        raise PermissionDenied(_("Your role lets you read the comparables, not add them."))
    row = form.is_valid() and submit(
        request, form, services.comparable_add, organization=organization, by=request.user, **form.cleaned_data
    )
    if row:
        messages.success(request, _("The comparable transaction is saved."))
        return redirect("valuation:comparable_list")
    comparables = ComparableTransaction.objects.restrict(request.user, "view").filter(organization=organization)
    context = {
        "organization": organization,
        "form": form,
        "can_add": can(membership, "add"),
        "comparables_page": paginate(request, comparables.select_related("created_by")),
    }
    return render(request, "valuation/comparable_list.html", context, status=form_status(form))


# --- batch revaluation ------------------------------------------------------------------------------------------


@require_POST
@organization_view
def revaluation_start(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Revalue every product the organisation has valued, with its latest inputs and today's quality."""
    if not can(membership, "add"):
        raise PermissionDenied(_("Your role does not allow revaluing products."))
    batch = services.revaluation_start(organization=membership.organization, by=request.user)
    return redirect("valuation:revaluation_detail", pk=batch.pk)


def _batch_or_404(request: HttpRequest, pk: int) -> RevaluationBatch:
    return get_object_or_404(RevaluationBatch.objects.restrict(request.user, "view"), pk=pk)


@require_GET
@login_required
def revaluation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A batch's progress bar, then the valuations it made."""
    batch = _batch_or_404(request, pk)
    valuations = _valuations(request).filter(batch=batch)
    context = {"batch": batch, "valuations_page": paginate(request, valuations)}
    return render(request, "valuation/revaluation_detail.html", context)


@require_GET
@login_required
def revaluation_progress(request: HttpRequest, pk: int) -> JsonResponse:
    batch = RevaluationBatch.objects.restrict(request.user, "view").filter(pk=pk).first()
    if batch is None:
        return JsonResponse({"status": "gone"}, status=404)
    response = JsonResponse(
        {
            "status": batch.status,
            "status_label": batch.get_status_display(),
            "progress": batch.progress,
            "total": batch.total,
            "completed": batch.completed,
            "failed": batch.failed,
        }
    )
    patch_cache_control(response, no_store=True)
    return response
