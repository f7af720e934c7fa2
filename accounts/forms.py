"""Web forms: they check input and hand it to the services; they never save models themselves."""

from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from accounts.choices import ApiKeyScope, Role
from accounts.models import Organization, User
from accounts.validators import validate_credit_code

CAPABILITY_FIELDS = ("can_sell", "can_buy", "can_operate_public_data", "can_appraise")
LICENCE_ACCEPT = ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"


class ServiceForm(forms.Form):
    """A form whose data goes to a service; the service's ValidationError can be put back on the form."""

    def add_service_errors(self, exc: ValidationError) -> None:
        """Dict errors go on their fields (when the form has them), everything else on top of the form."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for field, errors in exc.error_dict.items():
            self.add_error(field if field in self.fields else None, errors)


class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with an e-mail address; the field keeps the name `username`, which django-axes reads."""

    username = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


class AccountForm(ServiceForm):
    """The person signing up: name, e-mail and a password checked by the password validators."""

    full_name = forms.CharField(label=_("Full name"), max_length=150, widget=forms.TextInput({"autocomplete": "name"}))
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=lazy(password_validation.password_validators_help_text_html, str)(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Type the same password, to catch typing mistakes."),
    )

    def clean(self) -> dict:
        data = super().clean()
        password = data.get("password1")
        if password and data.get("password2") and password != data["password2"]:
            self.add_error("password2", _("The two passwords are not the same."))
        elif password:
            candidate = User(email=data.get("email", ""), full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(password, user=candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data

    def service_data(self) -> dict:
        """Keyword arguments for `services.user_create`."""
        data = self.cleaned_data
        return {"email": data["email"], "password": data["password1"], "full_name": data["full_name"]}


class InvitationSignUpForm(AccountForm):
    """Sign-up for an invited person: the e-mail address is the invited one and cannot be changed."""

    def __init__(self, *args, invited_email: str, **kwargs) -> None:
        super().__init__(*args, initial={"email": invited_email}, **kwargs)
        self.fields["email"].disabled = True
        self.fields["email"].help_text = _("The invitation was sent to this address.")


class OrganizationProfileForm(ServiceForm):
    """What an organisation may change after registration: what it does and how to reach it."""

    can_sell = forms.BooleanField(
        label=_("Sells data (data merchant)"),
        required=False,
        help_text=_("Register data products and list them on the exchange."),
    )
    can_buy = forms.BooleanField(
        label=_("Buys data"),
        required=False,
        initial=True,
        help_text=_("Sign contracts for data products, APIs and sandbox access."),
    )
    can_operate_public_data = forms.BooleanField(
        label=_("Operates public data"),
        required=False,
        help_text=_("Publish public data under authorised operation, in the digital lab (sandbox)."),
    )
    can_appraise = forms.BooleanField(
        label=_("Appraises data assets"),
        required=False,
        help_text=_("Produce accredited valuations and compliance opinions."),
    )
    address = forms.CharField(label=_("Registered address"), max_length=300)
    contact_name = forms.CharField(label=_("Contact person"), max_length=100)
    contact_email = forms.EmailField(label=_("Contact e-mail"), help_text=_("Review decisions are sent here."))
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=30, required=False)

    @classmethod
    def for_organization(cls, organization: Organization, data: dict | None = None) -> "OrganizationProfileForm":
        initial = {name: getattr(organization, name) for name in cls.base_fields}
        return cls(data, initial=initial)

    def capability_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in CAPABILITY_FIELDS]

    def contact_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in CAPABILITY_FIELDS]


class OrganizationRegisterForm(OrganizationProfileForm):
    """A new organisation: its registered name and unified social credit code, then its profile."""

    name = forms.CharField(
        label=_("Organisation name"),
        max_length=200,
        help_text=_("The full registered name, exactly as on the business licence (营业执照)."),
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        min_length=18,
        max_length=18,
        validators=[validate_credit_code],
        help_text=_("The 18-character code (统一社会信用代码) printed on the business licence."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )

    field_order = ("name", "credit_code", *CAPABILITY_FIELDS)

    def clean_credit_code(self) -> str:
        return self.cleaned_data["credit_code"].strip().upper()

    def contact_fields(self) -> list[forms.BoundField]:
        return [f for f in super().contact_fields() if f.name not in ("name", "credit_code")]


class LicenceUploadForm(ServiceForm):
    business_licence = forms.FileField(
        label=_("Business licence"),
        help_text=_("A scan or photo of the business licence: PDF, PNG or JPEG, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": LICENCE_ACCEPT}),
    )


class OrganizationSwitchForm(ServiceForm):
    organization = forms.IntegerField(label=_("Organisation"), widget=forms.HiddenInput)


class LanguageForm(forms.Form):
    """The language picked in the page header's switch."""

    language = forms.ChoiceField(choices=settings.LANGUAGES)


class RoleForm(ServiceForm):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class InvitationForm(ServiceForm):
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Role.choices,
        initial=Role.VIEWER,
        help_text=_("Viewers read; editors also change data; administrators and owners manage members and keys."),
    )


class ApiKeyForm(ServiceForm):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What the key is for, e.g. the partner system that uses it.")
    )
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=ApiKeyScope.choices,
        initial=ApiKeyScope.READ,
        widget=forms.RadioSelect,
        help_text=_(
            "Read keys only read; write keys also create and change; manage keys can also do what an owner or "
            "administrator does (members, invitations, the profile, sandbox export decisions), but never issue keys. "
            "Give a key the least it needs."
        ),
    )
    expires_at = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Optional. The key stops working at the end of this day. Leave empty for no expiry."),
    )

    def clean_expires_at(self) -> datetime | None:
        """The end of the chosen day (midnight after it) in the current time zone."""
        day = self.cleaned_data["expires_at"]
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


class TokenForm(ServiceForm):
    token = forms.CharField(
        label=_("Six-digit code"),
        min_length=6,
        max_length=8,
        help_text=_("The code your authenticator app shows now."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}),
    )
