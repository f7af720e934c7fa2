from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char


def validate_credit_code(value: str) -> None:
    """Reject anything but an 18-character unified social credit code with a correct check character."""
    if len(value) != 18:
        raise ValidationError(_("A unified social credit code has 18 characters."), code="credit_code_length")
    bad = sorted({ch for ch in value if ch not in CREDIT_CODE_ALPHABET})
    if bad:
        raise ValidationError(
            _("A unified social credit code cannot contain %(chars)s."),
            code="credit_code_characters",
            params={"chars": ", ".join(bad)},
        )
    if credit_code_check_char(value[:17]) != value[17]:
        raise ValidationError(
            _("The check character is wrong: this is not a valid unified social credit code."),
            code="credit_code_check",
        )
