"""Domain errors with stable codes; the web UI shows their message, the API returns the code."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule refused the request; `code` is stable, `message` is for people."""

    code = "domain_error"
    status = 400
    default_message = _("The request could not be completed.")

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        super().__init__(str(self.message))


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409
    default_message = _("That change of state is not allowed.")


class PermissionDeniedError(DomainError):
    code = "permission_denied"
    status = 403
    default_message = _("You do not have permission to do that.")


class OrganizationNotVerified(DomainError):
    code = "organization_not_verified"
    status = 403
    default_message = _("Your organisation must be verified before it can do this.")


class NotFoundError(DomainError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")
