from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite


class DatabourseAdminSite(OTPAdminSite):
    """Admin site for regulators; every login needs a confirmed TOTP device."""

    site_header = _("Databourse regulator console")
    site_title = _("Databourse regulator console")
    index_title = _("Review queues and ledger")
    login_template = "admin/login_otp.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
