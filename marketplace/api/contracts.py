"""Partner API of the marketplace: contracts.

- Reads: the caller's organisation's purchases and sales (`party_contracts`: `restrict(user, "view")` and a party
  organisation of the caller's); anyone else's contract is a 404. Filters: `role` (`buyer` or `merchant`, from the
  caller's side), `status`, `listing`; page-number pagination.
- `terms` is the snapshot exactly as signed: the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8) is
  `terms_sha256`, which every signature repeats, so a partner can check the hash itself.
- `POST /contracts/` asks for a contract as the buyer (an API key acts for its own organisation; a person in several
  organisations names one with `organization`) and signs the terms from the caller's address. A listing the caller
  cannot see is a 404 (one that was published but is no longer answers 400 `listing_not_published`); the services'
  refusals keep their codes: `own_listing`, `exclusive_taken`, `organization_not_verified` (403),
  `purpose_required`, `plan_not_offered`, `not_a_buyer`; a member whose role does not allow it gets 403
  `permission_denied`. Nothing is written when a request is refused.
- `approve` (merchant, signs from the caller's address), `decline` (merchant, `reason`), `cancel` (before payment,
  `not_cancellable` after) and `terminate` (merchant, active contracts, `reason`) call the same services as the
  web pages; a change the state does not allow is 409 `invalid_transition`.
- `GET /contracts/{id}/pdf/` is the signed contract as a PDF in the language of `Accept-Language`; errors are JSON.
- API keys: a `read` key only reads (403 `insufficient_scope`).
"""

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import OrganizationSummarySerializer, RejectUnknownFieldsMixin
from core.api import error_responses, ordering
from marketplace.choices import (
    BillingPeriod,
    ContractStatus,
    EntitlementKind,
    EntitlementStatus,
    Party,
    PlanKind,
    Territory,
)
from marketplace.contract_pdf import contract_pdf, pdf_filename
from marketplace.models import Contract, Entitlement, Listing, PricePlan, Signature
from marketplace.services import contracts
from marketplace.services.common import MarketError
from marketplace.web.contracts_forms import (
    PURPOSE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    ContractFilter,
    party_contracts,
    requestable_listings,
)
from registry.api.serializers import EnumField
from registry.api.views import acting_user
from registry.choices import LicenceTemplate, Sector
from valuation.api.views import API_PERMISSIONS, PdfRenderer, acting_organization, json_only

# A list answers 400 for a filter value it cannot use and 404 for a page past the end (`?page=`).
LIST_ERRORS = error_responses(400, 401, 404, 429)
DETAIL_ERRORS = error_responses(401, 404, 429)
REQUEST_ERRORS = error_responses(400, 401, 403, 404, 429)
CHANGE_ERRORS = error_responses(400, 401, 403, 404, 409, 429)


def _enum(choices: Any, name: str, **kwargs: Any) -> EnumField:
    return EnumField(choices, enum_name=name, read_only=True, **kwargs)


# --- the terms snapshot (documented; returned exactly as stored) -------------------------------------------------


class ContractTermsRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class ContractTermsProductSerializer(ContractTermsRefSerializer):
    sector = serializers.ChoiceField(choices=Sector.choices)


class ContractTermsPartySerializer(serializers.Serializer):
    name = serializers.CharField()
    credit_code = serializers.CharField(help_text=gettext_lazy("Unified social credit code."))


class ContractTermsPlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = _enum(PlanKind.choices, "PlanKindEnum")
    name = serializers.CharField()
    billing_period = serializers.ChoiceField(choices=[("", ""), *BillingPeriod.choices], help_text="Subscriptions.")
    price_per_call = serializers.CharField(allow_null=True, help_text=gettext_lazy("Metered plans, CNY."))
    free_calls = serializers.IntegerField()
    rate_limit_per_minute = serializers.IntegerField()
    download_days = serializers.IntegerField()
    exclusive = serializers.BooleanField()


class ContractTermsLicenceSerializer(serializers.Serializer):
    licence_template = serializers.ChoiceField(choices=LicenceTemplate.choices)
    permitted_purposes = serializers.CharField()
    term_months = serializers.IntegerField()
    territory = serializers.ChoiceField(choices=Territory.choices)
    redistribution = serializers.BooleanField()
    onward_transfer = serializers.BooleanField()


class ContractTermsSerializer(serializers.Serializer):
    """What both parties signed; `price` is a string with two decimals, as hashed."""

    listing = ContractTermsRefSerializer()
    product = ContractTermsProductSerializer()
    merchant = ContractTermsPartySerializer()
    buyer = ContractTermsPartySerializer()
    plan = ContractTermsPlanSerializer()
    price = serializers.CharField()
    currency = serializers.CharField()
    purpose = serializers.CharField()
    licence = ContractTermsLicenceSerializer()


# --- output ------------------------------------------------------------------------------------------------------


class ContractListingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Listing
        fields = ["id", "title"]
        read_only_fields = fields


class ContractPlanSerializer(serializers.ModelSerializer):
    kind = _enum(PlanKind.choices, "PlanKindEnum")

    class Meta:
        model = PricePlan
        fields = ["id", "name", "kind"]
        read_only_fields = fields


class ContractSignatureSerializer(serializers.ModelSerializer):
    party = _enum(Party.choices, "PartyEnum")
    organization = OrganizationSummarySerializer(read_only=True)
    signed_by = serializers.SerializerMethodField(help_text=gettext_lazy("The person who signed."))
    standing = serializers.BooleanField(
        read_only=True, help_text=gettext_lazy("The merchant's standing offer, signed when the listing was submitted.")
    )

    class Meta:
        model = Signature
        fields = ["party", "organization", "signed_by", "signed_at", "ip_address", "terms_sha256", "standing"]
        read_only_fields = fields

    def get_signed_by(self, signature: Signature) -> str:
        return signature.user.full_name or signature.user.email


class ContractEntitlementSerializer(serializers.ModelSerializer):
    kind = _enum(EntitlementKind.choices, "EntitlementKindEnum")
    status = _enum(EntitlementStatus.choices, "EntitlementStatusEnum")

    class Meta:
        model = Entitlement
        fields = ["id", "kind", "status", "starts_at", "ends_at", "ended_at", "ended_reason", "free_calls",
                  "price_per_call", "rate_limit_per_minute"]  # fmt: skip
        read_only_fields = fields


class ContractSerializer(serializers.ModelSerializer):
    """A contract in a list: who, what, how much, where it stands; no terms."""

    status = _enum(ContractStatus.choices, "ContractStatusEnum")
    listing = ContractListingSerializer(read_only=True)
    plan = ContractPlanSerializer(read_only=True)
    buyer = OrganizationSummarySerializer(read_only=True)
    merchant = OrganizationSummarySerializer(read_only=True)

    class Meta:
        model = Contract
        fields = ["id", "number", "status", "status_reason", "listing", "plan", "buyer", "merchant", "price",
                  "currency", "terms_sha256", "created_at", "starts_at", "ends_at"]  # fmt: skip
        read_only_fields = fields


class ContractDetailSerializer(ContractSerializer):
    """A contract with its terms as signed, both signatures and the access it grants."""

    terms = serializers.SerializerMethodField()
    signatures = ContractSignatureSerializer(many=True, read_only=True)
    entitlements = ContractEntitlementSerializer(many=True, read_only=True)

    class Meta(ContractSerializer.Meta):
        fields = [*ContractSerializer.Meta.fields, "purpose", "terms", "signatures", "entitlements"]
        read_only_fields = fields

    @extend_schema_field(ContractTermsSerializer)
    def get_terms(self, contract: Contract) -> dict:
        return contract.terms  # as stored: re-serialising could change what the hash covers


# --- input -------------------------------------------------------------------------------------------------------


class ContractRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    listing = serializers.IntegerField(help_text=gettext_lazy("Listing id."))
    plan = serializers.IntegerField(help_text=gettext_lazy("Id of one of the listing's price plans."))
    purpose = serializers.CharField(
        max_length=PURPOSE_MAX_LENGTH, allow_blank=True, trim_whitespace=False,
        help_text=gettext_lazy("What the data will be used for; it goes into the signed terms."),
    )  # fmt: skip
    organization = serializers.IntegerField(
        required=False,
        help_text=gettext_lazy("The buying organisation, for a person in several; API keys buy for their own."),
    )


class ContractReasonSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH, allow_blank=True, help_text=gettext_lazy("Required; the other side reads it.")
    )


class ContractCancelSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, allow_blank=True, required=False)


# --- views -------------------------------------------------------------------------------------------------------


class ContractListFilter(ContractFilter):
    """The web list's filters (marketplace.web.contracts_forms), and the API's ordering."""

    ordering = ordering("created_at", "updated_at", "starts_at", "ends_at", "price")


def visible_contracts(user: Any) -> QuerySet:
    """The caller's purchases and sales with what the serializers need in a fixed number of queries."""
    return party_contracts(user).select_related("listing", "plan", "buyer", "merchant")


def _client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _plan_of(listing: Listing, plan_id: int) -> PricePlan:
    plan = listing.plans.filter(pk=plan_id).first()
    if plan is None:
        raise MarketError(_("This plan is not offered on the listing."), code="plan_not_offered")
    return plan


@extend_schema_view(
    list=extend_schema(responses={200: ContractSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: ContractDetailSerializer, **DETAIL_ERRORS}),
)
class ContractViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your organisation's purchases and sales: terms as signed, their SHA-256, both signatures, the access granted."""

    permission_classes = API_PERMISSIONS
    filterset_class = ContractListFilter
    queryset = Contract.objects.none()  # for the schema; every request goes through get_queryset

    def get_queryset(self) -> QuerySet:
        queryset = visible_contracts(self.request.user)
        if self.action == "list":
            return queryset.defer("terms", "purpose")
        signatures = Signature.objects.select_related("user", "organization")
        return queryset.prefetch_related(Prefetch("signatures", queryset=signatures), "entitlements")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        return ContractSerializer if self.action == "list" else ContractDetailSerializer

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        # An error is JSON even when the PDF was asked for.
        if isinstance(getattr(request, "accepted_renderer", None), PdfRenderer) and getattr(response, "exception", 0):
            request.accepted_renderer, request.accepted_media_type = renderers.JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    def _detail(self, contract: Contract, code: int = status.HTTP_200_OK) -> Response:
        contract = self.get_queryset().get(pk=contract.pk)
        return Response(ContractDetailSerializer(contract).data, status=code)

    @extend_schema(request=ContractRequestSerializer, responses={201: ContractDetailSerializer, **REQUEST_ERRORS})
    def create(self, request: Request) -> Response:
        """Ask for a contract on a plan as the buyer, signing its terms; the merchant's approval or payment is next."""
        body = ContractRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        buyer = acting_organization(request, data.get("organization"))
        listing = get_object_or_404(requestable_listings(request.user), pk=data["listing"])
        contract = contracts.contract_request(
            listing=listing, plan=_plan_of(listing, data["plan"]), buyer=buyer, by=acting_user(request),
            purpose=data["purpose"], ip_address=_client_ip(request),
        )  # fmt: skip
        return self._detail(contract, status.HTTP_201_CREATED)

    @extend_schema(operation_id="contracts_approve", request=None,
                   responses={200: ContractDetailSerializer, **CHANGE_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """The merchant approves a request, signing the same terms from the caller's address."""
        contract = contracts.contract_approve(contract=self.get_object(), by=acting_user(request),
                                              ip_address=_client_ip(request))  # fmt: skip
        return self._detail(contract)

    @extend_schema(operation_id="contracts_decline", request=ContractReasonSerializer,
                   responses={200: ContractDetailSerializer, **CHANGE_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        """The merchant declines a request, with a reason the buyer reads (`reason_required` without one)."""
        return self._change(request, contracts.contract_decline, ContractReasonSerializer)

    @extend_schema(operation_id="contracts_cancel", request=ContractCancelSerializer,
                   responses={200: ContractDetailSerializer, **CHANGE_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw a contract before it is paid (`not_cancellable` once it has started)."""
        return self._change(request, contracts.contract_cancel, ContractCancelSerializer)

    @extend_schema(operation_id="contracts_terminate", request=ContractReasonSerializer,
                   responses={200: ContractDetailSerializer, **CHANGE_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def terminate(self, request: Request, pk: str | None = None) -> Response:
        """The merchant ends an active contract early, for a breach, with a reason; the buyer's access ends."""
        return self._change(request, contracts.contract_terminate, ContractReasonSerializer)

    def _change(self, request: Request, service: Any, body_class: type[serializers.Serializer]) -> Response:
        contract = self.get_object()  # before the body: another organisation's contract is a 404 whatever is sent
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        return self._detail(service(contract=contract, by=acting_user(request), **body.validated_data))

    @extend_schema(
        operation_id="contracts_pdf",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The signed contract as an A4 PDF, in the language of `Accept-Language`.",
            ),
            **json_only(DETAIL_ERRORS),
        },
    )
    @action(detail=True, methods=["get"], renderer_classes=[PdfRenderer])
    def pdf(self, request: Request, pk: str | None = None) -> Response:
        """The contract as a PDF: parties, terms, their SHA-256 and both signatures."""
        contract = self.get_object()
        headers = {"Content-Disposition": f'attachment; filename="{pdf_filename(contract)}"'}
        return Response(contract_pdf(contract), headers=headers, content_type="application/pdf")


routes = [("contracts", ContractViewSet, "contract")]
urlpatterns: list = []
