"""Partner API for accounts: who is calling, organisations, memberships, invitations and API keys.

- Reads: every `get_queryset()` is `restrict(request.user, "view")`, so another organisation's object is a 404.
  Write actions look the object up the same way and let the service check the caller's role, so a member without
  the role gets 403 `permission_denied` while an outsider still gets 404.
- Writes: an input serializer validates the body (400 `invalid` + `fields`), a service does the work.
- API keys: `HasApiKeyScope` lets a `read` key only read and a `write` key also write (403 `insufficient_scope`
  beyond). What an owner or admin does (the profile and its licence, roles, removing members, invitations, revoking
  keys: each viewset's `manage_actions`) needs the `manage` scope, and the services check again that the key's
  issuer still manages the organisation (403 `permission_denied` otherwise). A key holds no role, so it never grants
  or removes the owner role. Keys are issued by signed-in owners and admins only (`IsSessionUser`): a key never
  issues a key, so revoking a leaked key ends its access for good.
- Authentication failures are 401 with `WWW-Authenticate: Api-Key`: `not_authenticated`, `api_key_invalid`,
  `api_key_revoked`, `api_key_expired`, and `organization_not_verified` for a key whose organisation is not
  (or no longer) verified: the key itself cannot be used, so it is an authentication failure, like revocation.
"""

from django.http import FileResponse, Http404
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api import serializers as s
from accounts.api.filters import ApiKeyFilter, InvitationFilter, MembershipFilter, OrganizationFilter
from accounts.api.permissions import HasApiKeyScope, IsSessionUser
from accounts.models import ApiKey, Invitation, Membership, Organization
from core.api import error_responses

API_PERMISSIONS = [IsAuthenticated, HasApiKeyScope]
READ_ERRORS = error_responses(401, 429)
# A list also answers 400 for a filter value it cannot use and 404 for a page past the end (`?page=`).
LIST_ERRORS = error_responses(400, 401, 404, 429)
DETAIL_ERRORS = error_responses(401, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 429)


def acting_organization(request: Request, organization_id: int | None) -> Organization:
    """The organisation a create acts in: an API key's own, or one the signed-in user manages (else 404)."""
    api_key = getattr(request.user, "api_key", None)
    if api_key is not None:
        if organization_id not in (None, api_key.organization_id):
            raise exceptions.NotFound()
        return api_key.organization
    if organization_id is None:
        raise exceptions.ValidationError({"organization": [_("This field is required.")]}, code="required")
    organization = Organization.objects.restrict(request.user, "manage").filter(pk=organization_id).first()
    if organization is None:
        raise exceptions.NotFound()
    return organization


class MeView(APIView):
    """Who is calling: a signed-in person and their memberships, or an API key and its organisation."""

    permission_classes = API_PERMISSIONS

    @extend_schema(
        responses={
            200: PolymorphicProxySerializer(
                component_name="Me",
                serializers={"user": s.MeUserSerializer, "api_key": s.MeApiKeySerializer},
                resource_type_field_name="type",
            ),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        api_key = getattr(request.user, "api_key", None)
        if api_key is not None:
            me = {"type": "api_key", "organization": api_key.organization, "api_key": api_key}
            return Response(s.MeApiKeySerializer(me).data)
        user = request.user
        memberships = Membership.objects.restrict(user, "view").filter(user=user).select_related("organization")
        me = {
            "type": "user",
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "memberships": memberships,
        }
        return Response(s.MeUserSerializer(me).data)


@extend_schema_view(
    list=extend_schema(responses={200: s.OrganizationSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: s.OrganizationSerializer, **DETAIL_ERRORS}),
)
class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """Organisations the caller belongs to (an API key: its own); owners and admins may edit the profile."""

    permission_classes = API_PERMISSIONS
    serializer_class = s.OrganizationSerializer
    filterset_class = OrganizationFilter
    manage_actions = frozenset({"partial_update", "upload_licence"})

    def get_queryset(self):
        return Organization.objects.restrict(self.request.user, "view").order_by("name", "pk")

    @extend_schema(
        request=s.OrganizationUpdateSerializer,
        responses={200: s.OrganizationSerializer, **WRITE_ERRORS},
        description="Change profile fields (owner or admin); `name` and `credit_code` cannot be changed.",
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        organization = self.get_object()
        body = s.OrganizationUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        organization = services.organization_update(organization=organization, by=request.user, **body.validated_data)
        return Response(s.OrganizationSerializer(organization).data)

    @extend_schema(
        operation_id="organizations_licence",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **DETAIL_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def licence(self, request: Request, pk: str | None = None) -> FileResponse:
        """The business licence the organisation uploaded for verification (404 when there is none)."""
        organization = self.get_object()
        if not organization.business_licence:
            raise Http404
        name = organization.business_licence.name.rsplit("/", 1)[-1]
        response = FileResponse(
            organization.business_licence.open("rb"), as_attachment=True, filename=name,
            content_type="application/octet-stream",
        )  # fmt: skip
        patch_cache_control(response, private=True, no_store=True)
        return response

    @extend_schema(
        operation_id="organizations_upload_licence",
        request={"multipart/form-data": s.LicenceUploadSerializer},
        responses={200: s.OrganizationSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    @licence.mapping.post
    def upload_licence(self, request: Request, pk: str | None = None) -> Response:
        """Upload the business licence (PDF, PNG or JPEG) while verification is pending or was rejected
        (400 `licence_locked` after); a rejected organisation goes back to pending."""
        organization = self.get_object()
        body = s.LicenceUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        licence = body.validated_data["business_licence"]
        organization = services.organization_upload_licence(organization=organization, by=request.user, licence=licence)
        return Response(s.OrganizationSerializer(organization).data)


@extend_schema_view(
    list=extend_schema(responses={200: s.MembershipSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: s.MembershipSerializer, **DETAIL_ERRORS}),
)
class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Members of the caller's organisations; owners and admins change roles and remove members."""

    permission_classes = API_PERMISSIONS
    serializer_class = s.MembershipSerializer
    filterset_class = MembershipFilter
    manage_actions = frozenset({"role", "destroy"})

    def get_queryset(self):
        members = Membership.objects.restrict(self.request.user, "view").select_related("organization", "user")
        return members.order_by("organization__name", "user__email", "pk")

    @extend_schema(
        operation_id="memberships_change_role",
        request=s.MembershipRoleSerializer,
        responses={200: s.MembershipSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def role(self, request: Request, pk: str | None = None) -> Response:
        """Change a member's role; only an owner grants or removes the owner role, and the last owner stays."""
        membership = self.get_object()
        body = s.MembershipRoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            membership=membership, role=body.validated_data["role"], by=request.user
        )
        return Response(s.MembershipSerializer(membership).data)

    @extend_schema(request=None, responses={204: None, **WRITE_ERRORS})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Remove a member (owner or admin), or leave an organisation yourself; the last owner cannot go."""
        services.membership_remove(membership=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(responses={200: s.InvitationSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: s.InvitationSerializer, **DETAIL_ERRORS}),
)
class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Invitations to join the caller's organisations; the token goes to the invitee by e-mail only."""

    permission_classes = API_PERMISSIONS
    serializer_class = s.InvitationSerializer
    filterset_class = InvitationFilter
    manage_actions = frozenset({"create", "revoke"})

    def get_queryset(self):
        invitations = Invitation.objects.restrict(self.request.user, "view")
        return invitations.select_related("organization", "invited_by").order_by("-created_at", "-pk")

    @extend_schema(request=s.InvitationCreateSerializer, responses={201: s.InvitationSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Invite someone by e-mail (owner or admin of the organisation)."""
        body = s.InvitationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organization = acting_organization(request, body.validated_data.get("organization"))
        invitation, _token = services.invitation_create(
            organization=organization,
            email=body.validated_data["email"],
            role=body.validated_data["role"],
            by=request.user,
        )
        return Response(s.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="invitations_revoke", request=None, responses={200: s.InvitationSerializer, **WRITE_ERRORS}
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw an open invitation."""
        invitation = services.invitation_revoke(invitation=self.get_object(), by=request.user)
        return Response(s.InvitationSerializer(invitation).data)


@extend_schema_view(
    list=extend_schema(responses={200: s.ApiKeySerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(responses={200: s.ApiKeySerializer, **DETAIL_ERRORS}),
)
class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """API keys of the caller's organisations. Issuing one needs a signed-in owner or admin; revoking, an owner or
    admin or a key with the `manage` scope."""

    permission_classes = API_PERMISSIONS
    serializer_class = s.ApiKeySerializer
    filterset_class = ApiKeyFilter
    manage_actions = frozenset({"revoke"})

    def get_queryset(self):
        keys = ApiKey.objects.restrict(self.request.user, "view").select_related("organization", "created_by")
        return keys.order_by("-created_at", "-pk")

    def get_permissions(self):
        permissions = super().get_permissions()
        if self.action == "create":
            permissions.append(IsSessionUser())
        return permissions

    @extend_schema(request=s.ApiKeyCreateSerializer, responses={201: s.ApiKeyCreatedSerializer, **WRITE_ERRORS})
    def create(self, request: Request) -> Response:
        """Issue a key for a verified organisation (signed in only); the response carries the raw `key`, this once
        only. Its scope may not exceed the issuer's role: `manage` needs an owner or admin."""
        body = s.ApiKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        organization = acting_organization(request, data.pop("organization"))
        api_key, raw_key = services.api_key_create(organization=organization, by=request.user, **data)
        response = Response({**s.ApiKeySerializer(api_key).data, "key": raw_key}, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(operation_id="api_keys_revoke", request=None, responses={200: s.ApiKeySerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke a key at once; requests with it then fail with 401 `api_key_revoked`."""
        api_key = services.api_key_revoke(api_key=self.get_object(), by=request.user)
        return Response(s.ApiKeySerializer(api_key).data)
