"""Mask personal information in dataset samples (formats from shared REFERENCE.md).

A value in a column flagged by `registry.pii` is shown masked when it is recognisably of the column's kind and
as `***` otherwise, so an unrecognised raw value never shows. Other columns go through `mask_free_text`, which
masks identity numbers, mobile numbers, bank cards and e-mail addresses found inside longer text. Names inside
free text are not masked: they cannot be told from ordinary words reliably.
"""

import re
from collections.abc import Callable

from registry import pii
from registry.pii import ColumnFinding, PiiKind

HIDDEN = "***"


def mask_value(kind: PiiKind, value: str) -> str:
    """`value` masked as a `kind` value: `110105********002X`, `138****5678`, `张*`, `***@example.com`,
    `6222 **** **** 1234`; `***` when `value` is not of that kind."""
    return _MASKERS[kind](value) or HIDDEN


def mask_rows(rows: list[dict[str, object]], findings: list[ColumnFinding]) -> list[dict[str, object]]:
    """Copies of `rows` with flagged columns masked and PII inside the other columns' text masked."""
    kinds = {finding.column: finding.kind for finding in findings}
    return [{column: _mask_cell(kinds.get(column), value) for column, value in row.items()} for row in rows]


def mask_free_text(value: str) -> str:
    """`value` with every identity number, mobile number, bank card and e-mail address inside it masked."""
    if not _MAYBE_PII_RE.search(value):
        return value
    # Patterns run on a full-width-folded copy; folding is one to one, so its spans also cut the original,
    # whose other characters (full-width punctuation) are kept as they are.
    text, folded = value, pii.fold_full_width(value)
    for pattern, masker in _TEXT_PATTERNS:
        text_parts: list[str] = []
        folded_parts: list[str] = []
        end = 0
        for match in pattern.finditer(folded):
            if (masked := masker(match)) is not None:
                text_parts += (text[end : match.start()], masked)
                folded_parts += (folded[end : match.start()], masked)
                end = match.end()
        if end:
            text = "".join(text_parts) + text[end:]
            folded = "".join(folded_parts) + folded[end:]
    return text


def _mask_cell(kind: PiiKind | None, value: object) -> object:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if not text.strip():
        return value
    if kind is None:
        masked = mask_free_text(text)
        return value if masked == text else masked
    return mask_value(kind, text)


def _mask_id_number(value: str) -> str | None:
    number = pii.normalise_id_number(value)
    return f"{number[:6]}{'*' * 8}{number[14:]}" if number else None


def _mask_mobile(value: str) -> str | None:
    number = pii.normalise_mobile(value)
    return f"{number[:3]}****{number[7:]}" if number else None


def _mask_bank_card(value: str) -> str | None:
    """First 4 and last 4 digits; the hidden middle shown in groups of 4 (`6222 **** **** *** 1234` for 19)."""
    number = pii.normalise_bank_card(value)
    if number is None:
        return None
    hidden = len(number) - 8
    middle = " ".join("*" * min(4, hidden - start) for start in range(0, hidden, 4))
    return f"{number[:4]} {middle} {number[-4:]}"


def _mask_email(value: str) -> str | None:
    domain = pii.email_domain(value)
    return f"{HIDDEN}@{domain}" if domain else None


def _mask_person_name(value: str) -> str | None:
    name = pii.prepare(value)
    if not pii.is_person_name(name):
        return None
    surname, given = pii.split_surname(name)
    return surname + "*" * len(given)


_MASKERS: dict[PiiKind, Callable[[str], str | None]] = {
    PiiKind.ID_NUMBER: _mask_id_number,
    PiiKind.MOBILE: _mask_mobile,
    PiiKind.BANK_CARD: _mask_bank_card,
    PiiKind.EMAIL: _mask_email,
    PiiKind.PERSON_NAME: _mask_person_name,
}

_MAYBE_PII_RE = re.compile(r"[0-9@\uff10-\uff19\uff20]")
# In order: an e-mail local part may be digits, an identity number may pass Luhn, a card number holds 11-digit
# runs. Anything shaped like an e-mail address is masked, even when its local part would not pass
# `pii.is_email`; digit runs are masked only when their detector accepts them.
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str | None]], ...] = (
    (
        re.compile(rf"[A-Za-z0-9._%+-]+@({pii.EMAIL_DOMAIN_PATTERN})", re.ASCII),
        lambda match: f"{HIDDEN}@{match[1]}",
    ),
    (re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)", re.ASCII), lambda match: _mask_id_number(match[0])),
    (
        re.compile(r"(?<!\d)\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?(?!\d)", re.ASCII),
        lambda match: _mask_bank_card(match[0]),
    ),
    (
        re.compile(r"(?<!\d)(?:(?:\+|00)?86[ -]?)?1[3-9]\d([ -]?)\d{4}\1\d{4}(?!\d)", re.ASCII),
        lambda match: _mask_mobile(match[0]),
    ),
)
