"""Output serializers (read-only) and input serializers (validated, then handed to a service; never saved)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.choices import ApiKeyScope, Role
from accounts.models import ApiKey, Invitation, Membership, Organization, User
from accounts.services import ORGANIZATION_EDITABLE

# --- shared pieces ----------------------------------------------------------------------------------------------


class OrganizationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name"]
        read_only_fields = fields


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]
        read_only_fields = fields


class RejectUnknownFieldsMixin:
    # DRF ignores fields it does not know; a partner that sends one expects it to change, so say no. (A comment, not a
    # docstring: drf-spectacular would take a docstring as the description of every input serializer without one.)

    def validate(self, attrs: dict) -> dict:
        unknown = sorted(set(getattr(self, "initial_data", {}) or {}) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(dict.fromkeys(unknown, _("This field cannot be set here.")))
        return super().validate(attrs)


# --- who is calling ---------------------------------------------------------------------------------------------


class MeMembershipSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organization", "role"]
        read_only_fields = fields


class MeUserSerializer(serializers.Serializer):
    """A person signed in with a session."""

    type = serializers.ChoiceField(choices=["user"], read_only=True)
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    memberships = MeMembershipSerializer(many=True, read_only=True)


class MeApiKeyDetailSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scope", "expires_at"]
        read_only_fields = fields


class MeOrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "status"]
        read_only_fields = fields


class MeApiKeySerializer(serializers.Serializer):
    """A partner system calling with an API key: it acts for the key's organisation."""

    type = serializers.ChoiceField(choices=["api_key"], read_only=True)
    organization = MeOrganizationSerializer(read_only=True)
    api_key = MeApiKeyDetailSerializer(read_only=True)


# --- organisations ----------------------------------------------------------------------------------------------


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "kind",
            "credit_code",
            "status",
            "status_reason",
            "verified_at",
            "can_sell",
            "can_buy",
            "can_operate_public_data",
            "can_appraise",
            "address",
            "contact_name",
            "contact_email",
            "contact_phone",
            "licence_uploaded_at",
            "created_at",
        ]
        read_only_fields = fields


class LicenceUploadSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    business_licence = serializers.FileField(use_url=False, help_text="The business licence: PDF, PNG or JPEG.")


class OrganizationUpdateSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """The profile fields an owner or admin may change; name and credit code are fixed once registered."""

    class Meta:
        model = Organization
        fields = sorted(ORGANIZATION_EDITABLE)


# --- memberships ------------------------------------------------------------------------------------------------


class MembershipSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True)
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organization", "user", "role", "created_at"]
        read_only_fields = fields


class MembershipRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


# --- invitations ------------------------------------------------------------------------------------------------


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation; its token is e-mailed to the invitee and never returned by the API."""

    organization = OrganizationSummarySerializer(read_only=True)
    invited_by = UserSummarySerializer(read_only=True)
    state = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = [
            "id",
            "organization",
            "email",
            "role",
            "state",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["open", "accepted", "revoked", "expired"]))
    def get_state(self, invitation: Invitation) -> str:
        if invitation.accepted_at:
            return "accepted"
        if invitation.revoked_at:
            return "revoked"
        return "open" if invitation.is_open else "expired"


class InvitationCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    organization = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Required for a signed-in user (an organisation they own or administer); "
        "an API key always uses its own organisation.",
    )
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)


# --- API keys ---------------------------------------------------------------------------------------------------


class ApiKeySerializer(serializers.ModelSerializer):
    """An API key's metadata; the hash is never shown and the raw key only once, when it is created."""

    organization = OrganizationSummarySerializer(read_only=True)
    created_by = UserSummarySerializer(read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "organization",
            "name",
            "prefix",
            "scope",
            "is_active",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "last_used_ip",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The raw key, shown this once: store it now, it cannot be retrieved again."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    organization = serializers.IntegerField(min_value=1, help_text="An organisation you own or administer.")
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(
        choices=ApiKeyScope.choices,
        default=ApiKeyScope.READ,
        help_text="`read`, `write`, or `manage` (what an owner or admin does: members, invitations, the profile, "
        "sandbox export decisions); never more than your own role allows.",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
