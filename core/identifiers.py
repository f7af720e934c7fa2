"""Check characters of Chinese identifiers (see shared REFERENCE.md)."""

from datetime import date
from operator import mul

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a unified social credit code."""
    total = sum(CREDIT_CODE_ALPHABET.index(ch) * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """True when `code` is 18 characters of the credit-code alphabet with a correct check character."""
    if len(code) != 18 or any(ch not in CREDIT_CODE_ALPHABET for ch in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


ID_NUMBER_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_NUMBER_CHECK_CHARS = "10X98765432"
# First two digits of the administrative division: the province-level divisions (71 Taiwan, 81 Hong Kong,
# 82 Macao) and 91.
ID_NUMBER_PROVINCES = frozenset(
    str(code)
    for code in (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66))
) | frozenset({"71", "81", "82", "91"})
ID_NUMBER_EARLIEST_BIRTH_DATE = date(1900, 1, 1)
_ID_NUMBER_ZERO_SUM = ord("0") * sum(ID_NUMBER_WEIGHTS)


def id_number_check_char(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits of a resident identity number."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError(f"An identity number starts with 17 digits, not {first17!r}.")
    # Weighting the ASCII codes and taking off what the "0"s contribute gives the digit sum about twice as fast
    # as int() per character; dataset profiling runs this on every 18-digit value.
    total = sum(map(mul, first17.encode(), ID_NUMBER_WEIGHTS)) - _ID_NUMBER_ZERO_SUM
    return ID_NUMBER_CHECK_CHARS[total % 11]


def is_valid_id_number(value: str, *, today: date | None = None) -> bool:
    """True when `value` is a resident identity number: 17 digits and a correct check character (upper-case X),
    a known province code and a real birth date from 1900-01-01 to `today` (default: the local date)."""
    body = value[:17]
    if len(value) != 18 or not (body.isascii() and body.isdigit()) or body[:2] not in ID_NUMBER_PROVINCES:
        return False
    if id_number_check_char(body) != value[17]:
        return False
    born = _id_number_birth_date(body)
    return born is not None and ID_NUMBER_EARLIEST_BIRTH_DATE <= born <= (today or date.today())


def _id_number_birth_date(body: str) -> date | None:
    try:
        return date.fromisoformat(body[6:14])  # the basic ISO form YYYYMMDD, all digits here
    except ValueError:  # 19990230, month 13 and the like
        return None
