"""Partner API of the marketplace: payments, refunds, settlement and payouts.

- `GET /payments/`, `GET /payments/{id}/`: payments of the caller's contracts, as buyer or as merchant
  (`Payment.objects.restrict(user, "view")`); anyone else's is a 404. Filter with `?status=` and `?contract=`.
- `POST /payments/ {"contract": id}`: the buyer starts (or resumes: one open payment per contract) paying a contract
  awaiting payment; the answer carries the PaymentIntent's `client_secret` for Stripe.js `confirmCardPayment`.
  The merchant gets 403 `permission_denied`; a contract not awaiting payment 400 `not_awaiting_payment`.
- `POST /payments/{id}/refresh/`: ask Stripe how the payment stands (when no webhook has told us yet).
- `POST /payments/{id}/refund/ {"amount"?, "reason"}`: the merchant refunds in full (no amount) or in part; 400
  `invalid` with `fields.amount` above what is left, 400 `contract_ended` once the contract expired or ended.
- `GET /settlement/` (balance), `/settlement/entries/`, `/settlement/statements/`, `/settlement/statements/YYYY-MM/`:
  the merchant's ledger (`?organization=` for a person in several organisations); `GET /payouts/`. The entries and
  the statements are pages like every list, with `ordering`.
Money is a string in CNY with two decimals. Writes need a `write` API key (403 `insufficient_scope` otherwise).
"""

import datetime
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.api.permissions import HasApiKeyScope
from accounts.api.serializers import RejectUnknownFieldsMixin
from accounts.models import Organization
from core.api import error_responses, ordering, ordering_parameter
from marketplace.choices import PaymentStatus, PayoutStatus, SettlementKind
from marketplace.models import Contract, Payment, Payout, Refund, SettlementEntry
from marketplace.services import payments, settlement
from registry.api.serializers import EnumField
from registry.api.views import acting_user
from valuation.api.views import acting_organization

API_PERMISSIONS = [IsAuthenticated, HasApiKeyScope]
# A list answers 400 for a filter value it cannot use and 404 for a page past the end (`?page=`).
LIST_ERRORS = error_responses(400, 401, 404, 429)
DETAIL_ERRORS = error_responses(401, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 429)
# Settlement also answers 400 for an `organization` that is not an id and 404 for one you do not manage.
SETTLEMENT_ERRORS = error_responses(400, 401, 404, 429)
ORGANIZATION_PARAMETER = OpenApiParameter(
    "organization", int, description="The merchant organisation, for a person who belongs to several."
)
MONTH_PARAMETER = OpenApiParameter(
    "month", str, OpenApiParameter.PATH, pattern=r"^\d{4}-\d{2}$", description="`YYYY-MM`."
)


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True, **kwargs)


# --- serializers ------------------------------------------------------------------------------------------------


class RefundSerializer(serializers.ModelSerializer):
    amount = money()

    class Meta:
        model = Refund
        fields = ["id", "amount", "reason", "stripe_refund", "created_at"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    """A payment of a contract: how much, where it stands, and what has been refunded."""

    contract_number = serializers.CharField(source="contract.number", read_only=True)
    status = EnumField(PaymentStatus.choices, enum_name="PaymentStatusEnum", read_only=True)
    amount = money()
    refunded_amount = money()
    refundable = money(help_text="What can still be refunded.")
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id", "contract", "contract_number", "purpose", "status", "amount", "currency", "refunded_amount",
            "refundable", "failure_message", "stripe_payment_intent", "created_at", "succeeded_at", "refunds",
        ]  # fmt: skip
        read_only_fields = fields


class CheckoutSerializer(serializers.Serializer):
    """What a partner needs to confirm the payment with Stripe.js."""

    payment = PaymentSerializer(read_only=True)
    client_secret = serializers.CharField(read_only=True, help_text="For Stripe.js `confirmCardPayment`.")
    intent_status = serializers.CharField(read_only=True, help_text="The PaymentIntent's status at Stripe.")
    needs_payment = serializers.BooleanField(read_only=True)


class PaymentStartSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    contract = serializers.IntegerField(help_text="A contract of yours (as buyer) awaiting payment.")


class RefundCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False, allow_null=True,
        help_text="CNY; leave out to refund everything that is left.",
    )  # fmt: skip
    reason = serializers.CharField(help_text="The buyer sees it; it is kept in the audit ledger.")


class SettlementEntrySerializer(serializers.ModelSerializer):
    kind = EnumField(SettlementKind.choices, enum_name="SettlementKindEnum", read_only=True)
    contract_number = serializers.CharField(source="contract.number", read_only=True, allow_null=True, default=None)
    gross, fee, net = money(), money(), money()

    class Meta:
        model = SettlementEntry
        fields = ["id", "kind", "contract", "contract_number", "payment", "payout", "gross", "fee", "net", "created_at"]
        read_only_fields = fields


@extend_schema_serializer(many=False)  # one object, though it answers the viewset's `list`
class BalanceSerializer(serializers.Serializer):
    organization = serializers.IntegerField(read_only=True)
    balance = money(help_text="What the exchange owes the merchant now (net of the platform fee).")
    fee_percent = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True)


class MonthSerializer(serializers.Serializer):
    month = serializers.SerializerMethodField()
    entries = serializers.IntegerField(read_only=True)
    gross, fee, net, opening, closing = money(), money(), money(), money(), money()

    def get_month(self, obj: settlement.MonthSummary) -> str:
        return f"{obj.month:%Y-%m}"


class StatementSerializer(serializers.Serializer):
    month = serializers.SerializerMethodField()
    opening, net, closing = money(), money(), money()
    totals = serializers.DictField(child=serializers.DictField(child=money()), read_only=True)
    entries = SettlementEntrySerializer(many=True, read_only=True)

    def get_month(self, obj: settlement.Statement) -> str:
        return f"{obj.month:%Y-%m}"


class PayoutSerializer(serializers.ModelSerializer):
    status = EnumField(PayoutStatus.choices, enum_name="PayoutStatusEnum", read_only=True)
    amount = money()

    class Meta:
        model = Payout
        fields = ["id", "organization", "amount", "status", "reference", "stripe_transfer", "paid_at", "created_at"]
        read_only_fields = fields


class PaymentFilter(filters.FilterSet):
    # A plain id, not a model choice: a choice filter would check the id against every contract and so tell a
    # caller which ids exist elsewhere.
    contract = filters.NumberFilter(field_name="contract_id", help_text="Contract id.")
    ordering = ordering("created_at", "succeeded_at", "amount")

    class Meta:
        model = Payment
        fields = ["status", "contract"]


class SettlementEntryFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=SettlementKind.choices)
    ordering = ordering("created_at", "gross", "net")

    class Meta:
        model = SettlementEntry
        fields = ["kind"]


class PayoutFilter(filters.FilterSet):
    ordering = ordering("created_at", "paid_at", "amount")

    class Meta:
        model = Payout
        fields = ["status"]


# --- payments ---------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: PaymentSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: PaymentSerializer, **DETAIL_ERRORS}),
)
class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Payments of your contracts, as buyer or as merchant."""

    permission_classes = API_PERMISSIONS
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter
    queryset = Payment.objects.none()  # for the schema; every request goes through get_queryset

    def get_queryset(self) -> QuerySet:
        visible = Payment.objects.restrict(self.request.user, "view")
        return visible.select_related("contract").prefetch_related("refunds")

    @extend_schema(request=PaymentStartSerializer, responses={201: CheckoutSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Start paying a contract (or resume its open payment); confirm it with Stripe.js and the client secret."""
        body = PaymentStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contract = get_object_or_404(
            Contract.objects.restrict(request.user, "view"), pk=body.validated_data["contract"]
        )
        checkout = payments.payment_start(contract=contract, by=acting_user(request))
        return Response(CheckoutSerializer(checkout).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: PaymentSerializer, **error_responses(401, 403, 404, 429)})
    @action(detail=True, methods=["post"])
    def refresh(self, request: Request, pk: str | None = None) -> Response:
        """Ask Stripe how the payment stands and apply it (the webhook usually does this by itself)."""
        payment = payments.payment_refresh(payment=self.get_object())
        return Response(PaymentSerializer(self.get_queryset().get(pk=payment.pk)).data)

    @extend_schema(request=RefundCreateSerializer, responses={201: RefundSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def refund(self, request: Request, pk: str | None = None) -> Response:
        """Refund the buyer, in full or in part, while the contract runs (the merchant only)."""
        payment = self.get_object()  # before the body: another organisation's payment is a 404 whatever is sent
        body = RefundCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        refund = payments.refund_create(payment=payment, by=acting_user(request), **body.validated_data)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


# --- settlement -------------------------------------------------------------------------------------------------


def _merchant(request: Request) -> Organization:
    raw = request.query_params.get("organization")
    try:
        organization_id = int(raw) if raw not in (None, "") else None
    except ValueError as exc:
        raise exceptions.ValidationError({"organization": [_("Give the organisation's id.")]}) from exc
    return acting_organization(request, organization_id)


def _oldest_first(request: Request) -> bool:
    value = request.query_params.get("ordering", "-month")
    if value not in ("month", "-month"):
        raise exceptions.ValidationError({"ordering": [_("Sort by `month` or `-month`.")]})
    return value == "month"


def _month(value: str) -> tuple[int, int]:
    try:
        day = datetime.date.fromisoformat(f"{value}-01")
    except ValueError as exc:
        raise exceptions.NotFound() from exc
    return day.year, day.month


class SettlementViewSet(viewsets.GenericViewSet):
    """Your organisation's settlement with the exchange: balance, ledger lines and monthly statements."""

    permission_classes = API_PERMISSIONS
    serializer_class = SettlementEntrySerializer
    queryset = SettlementEntry.objects.none()  # for the schema
    pagination_class = None  # the balance is one object; `entries` and `statements` come in pages
    filter_backends: list = []  # only `entries` is filtered (its own FilterSet); `statements` is a list of months
    filterset_class = None

    @extend_schema(parameters=[ORGANIZATION_PARAMETER], responses={200: BalanceSerializer, **SETTLEMENT_ERRORS})
    def list(self, request: Request) -> Response:
        """What the exchange owes you now, after its platform fee."""
        organization = _merchant(request)
        data = {"organization": organization.pk, "balance": settlement.balance(organization),
                "fee_percent": settlement.fee_percent()}  # fmt: skip
        return Response(BalanceSerializer(data).data)

    @extend_schema(parameters=[ORGANIZATION_PARAMETER], responses={200: SettlementEntrySerializer(many=True),
                                                                   **SETTLEMENT_ERRORS})  # fmt: skip
    @action(
        detail=False,
        pagination_class=api_settings.DEFAULT_PAGINATION_CLASS,
        filter_backends=api_settings.DEFAULT_FILTER_BACKENDS,
        filterset_class=SettlementEntryFilter,
    )
    def entries(self, request: Request) -> Response:
        """The ledger, newest first: sales, refunds and payouts with the platform fee of each."""
        entries = self.filter_queryset(settlement.entries_of(_merchant(request)))
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(SettlementEntrySerializer(page, many=True).data)

    @extend_schema(
        parameters=[ORGANIZATION_PARAMETER, ordering_parameter("month")],
        responses={200: MonthSerializer(many=True), **SETTLEMENT_ERRORS},
    )
    @action(detail=False, pagination_class=api_settings.DEFAULT_PAGINATION_CLASS)
    def statements(self, request: Request) -> Response:
        """Every month with ledger lines, newest first (`ordering=month`: oldest first), with totals and balances."""
        months = settlement.statement_months(_merchant(request))
        page = self.paginate_queryset(months[::-1] if _oldest_first(request) else months)
        return self.get_paginated_response(MonthSerializer(page, many=True).data)

    @extend_schema(
        parameters=[ORGANIZATION_PARAMETER, MONTH_PARAMETER], responses={200: StatementSerializer, **SETTLEMENT_ERRORS}
    )
    @action(detail=False, url_path=r"statements/(?P<month>\d{4}-\d{2})", url_name="statement")
    def statement(self, request: Request, month: str) -> Response:
        """One month's statement: opening balance, every line, totals by kind, closing balance."""
        year, number = _month(month)
        return Response(StatementSerializer(settlement.statement(_merchant(request), year, number)).data)


@extend_schema_view(
    list=extend_schema(responses={200: PayoutSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: PayoutSerializer, **DETAIL_ERRORS}),
)
class PayoutViewSet(viewsets.ReadOnlyModelViewSet):
    """Payouts the exchange made (or is making) to your organisations."""

    permission_classes = API_PERMISSIONS
    serializer_class = PayoutSerializer
    queryset = Payout.objects.none()  # for the schema
    filterset_class = PayoutFilter

    def get_queryset(self) -> QuerySet:
        return Payout.objects.restrict(self.request.user, "view").order_by("-created_at", "-pk")


routes = [
    ("payments", PaymentViewSet, "payment"),
    ("settlement", SettlementViewSet, "settlement"),
    ("payouts", PayoutViewSet, "payout"),
]
urlpatterns: list = []
