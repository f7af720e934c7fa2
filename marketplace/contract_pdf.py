"""A contract as people read it: the signed terms in words (for the contract page, the PDF and the regulator console,
so the three cannot disagree) and the contract as an A4 PDF in the active language.

Everything about the deal is read from the terms snapshot the parties signed, not from today's listing or plan: the
PDF of a contract says what was agreed even after the merchant has edited the listing. The PDF is built from the
blocks of `core.pdf` (Helvetica for Latin text, STSong-Light for Chinese, no font files needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from core.pdf import (
    BRAND,
    BRAND_STYLE,
    CELL,
    CELL_BOLD,
    HEADING,
    NAVY,
    PALE,
    RULE,
    SMALL,
    TITLE,
    WIDTH,
    ZEBRA,
    markup,
    paragraph,
    register_fonts,
    render_pdf,
)
from marketplace.choices import BillingPeriod, Party, PlanKind, Territory
from marketplace.models import Contract, Signature
from marketplace.services.contracts import terms_hash
from registry.choices import LicenceTemplate, Sector
from valuation.report import format_money, format_yes_no

DASH = "—"
LONG_TEXT = 600  # characters: a longer value is set as paragraphs that may split across pages
HASH_STYLE = ParagraphStyle("hash", fontName="Courier", fontSize=8, leading=10.5, textColor=NAVY)


# --- the terms in words -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A titled group of (label, value) rows of the signed terms."""

    key: str
    title: str
    rows: list[tuple[str, str]]


@dataclass(frozen=True)
class SignatureLine:
    """One party's signature as printed: who, when, from where, the hash they signed; `signed` is False while
    the party has not signed yet."""

    party: str
    party_label: str
    organization: str
    signed: bool
    signer: str = ""
    signed_at: str = ""
    ip_address: str = ""
    terms_sha256: str = ""
    standing: bool = False
    matches: bool = False


def choice_label(choices: type[models.TextChoices], value: Any) -> str:
    """The translated label of a stored choice; the raw value when the choice has gone since the signing."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value) if value not in (None, "") else DASH


def _money(value: Any, places: str = "0.01") -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError):
        return DASH
    return format_money(amount) if places == "0.01" else f"¥{amount.quantize(Decimal(places))}"


def when(value: Any) -> str:
    """A time in the active language and the site's time zone; a dash for none."""
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else DASH


def _plan_rows(plan: dict) -> list[tuple[str, str]]:
    kind = plan.get("kind")
    rows = [(_("Plan"), plan.get("name") or DASH), (_("Kind"), choice_label(PlanKind, kind))]
    if kind == PlanKind.SUBSCRIPTION:
        rows.append((_("Billing period"), choice_label(BillingPeriod, plan.get("billing_period"))))
    if kind == PlanKind.METERED_API:
        rows += [
            (_("Price per call"), _money(plan.get("price_per_call"), "0.0001")),
            (_("Free calls per month"), formats.number_format(plan.get("free_calls") or 0, force_grouping=True)),
            (_("Calls allowed per minute"), str(plan.get("rate_limit_per_minute") or DASH)),
        ]
    if kind == PlanKind.LICENCE:
        days = int(plan.get("download_days") or 0)
        rows.append((_("Download window"), ngettext("%(n)d day", "%(n)d days", days) % {"n": days}))
    rows.append((_("Exclusive"), format_yes_no(bool(plan.get("exclusive")))))
    return rows


def _licence_rows(licence: dict) -> list[tuple[str, str]]:
    months = int(licence.get("term_months") or 0)
    return [
        (_("Licence"), choice_label(LicenceTemplate, licence.get("licence_template"))),
        (_("Permitted purposes"), licence.get("permitted_purposes") or DASH),
        (_("Term"), ngettext("%(n)d month", "%(n)d months", months) % {"n": months}),
        (_("Territory"), choice_label(Territory, licence.get("territory"))),
        (_("Redistribution allowed"), format_yes_no(bool(licence.get("redistribution")))),
        (_("Onward transfer allowed"), format_yes_no(bool(licence.get("onward_transfer")))),
    ]


def terms_sections(terms: dict) -> list[Section]:
    """The terms snapshot in words, in the active language: product, plan and price, licence, purpose."""
    product, listing = terms.get("product", {}), terms.get("listing", {})
    price = [(_("Price"), _money(terms.get("price"))), (_("Currency"), terms.get("currency") or "CNY")]
    return [
        Section("product", _("Product"), [
            (_("Product"), product.get("title") or DASH),
            (_("Sector"), choice_label(Sector, product.get("sector"))),
            (_("Listing"), listing.get("title") or DASH),
        ]),
        Section("plan", _("Plan and price"), _plan_rows(terms.get("plan", {})) + price),
        Section("licence", _("Licence terms"), _licence_rows(terms.get("licence", {}))),
        Section("purpose", _("Purpose"), [(_("Purpose stated by the buyer"), terms.get("purpose") or DASH)]),
    ]  # fmt: skip


def party_rows(terms: dict) -> list[tuple[str, str, str]]:
    """(role, name, unified social credit code) of the buyer and the merchant, as they signed."""
    return [
        (str(Party.BUYER.label), *_party(terms.get("buyer", {}))),
        (str(Party.MERCHANT.label), *_party(terms.get("merchant", {}))),
    ]


def _party(party: dict) -> tuple[str, str]:
    return party.get("name") or DASH, party.get("credit_code") or DASH


def _person(user: Any) -> str:
    return (getattr(user, "full_name", "") or str(user)) if user is not None else DASH


def signature_lines(contract: Contract, signatures: list[Signature]) -> list[SignatureLine]:
    """Both parties' signature lines, buyer first; a party that has not signed gets an unsigned line."""
    by_party = {signature.party: signature for signature in signatures}
    names = {Party.BUYER: contract.buyer.name, Party.MERCHANT: contract.merchant.name}
    lines = []
    for party in (Party.BUYER, Party.MERCHANT):
        signature = by_party.get(party)
        if signature is None:
            lines.append(SignatureLine(party, str(party.label), names[party], signed=False))
            continue
        lines.append(SignatureLine(
            party, str(party.label), names[party], signed=True, signer=_person(signature.user),
            signed_at=when(signature.signed_at), ip_address=signature.ip_address or DASH,
            terms_sha256=signature.terms_sha256, standing=signature.standing,
            matches=signature.terms_sha256 == contract.terms_sha256,
        ))  # fmt: skip
    return lines


def terms_intact(contract: Contract) -> bool:
    """Whether the stored terms still hash to the SHA-256 the parties signed."""
    return terms_hash(contract.terms) == contract.terms_sha256


# --- the PDF ----------------------------------------------------------------------------------------------------


def _grid(rows: list[list[Flowable]], widths: list[float], *, header: bool = False) -> PdfTable:
    table = PdfTable(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), PALE), ("LINEBELOW", (0, 0), (-1, 0), 0.8, NAVY)]
    table.setStyle(TableStyle(style))
    return table


def _lines(text: str, style: ParagraphStyle = CELL) -> Paragraph:
    """Text that keeps its line breaks."""
    return Paragraph(markup(text).replace("\n", "<br/>"), style)


def _pairs(rows: list[tuple[str, str]]) -> list[Flowable]:
    """Label and value side by side; a long value (a purpose) as paragraphs below its label, so it can split across
    pages (a table cell cannot)."""
    story: list[Flowable] = []
    short: list[list[Flowable]] = []
    for label, value in rows:
        if len(value) <= LONG_TEXT:
            short.append([paragraph(label, SMALL), _lines(value)])
            continue
        if short:
            story.append(_grid(short, [0.3 * WIDTH, 0.7 * WIDTH]))
            short = []
        story += [paragraph(label, SMALL), *(_lines(part) for part in value.split("\n\n"))]
    if short:
        story.append(_grid(short, [0.3 * WIDTH, 0.7 * WIDTH]))
    return story


def _header(contract: Contract) -> list[Flowable]:
    meta = [
        (_("Number"), contract.number),
        (_("Status"), contract.get_status_display()),
        (_("Requested at"), when(contract.created_at)),
        (_("Starts at"), when(contract.starts_at)),
        (_("Ends at"), when(contract.ends_at)),
    ]
    if contract.status_reason:
        meta.append((_("Reason for the last change"), contract.status_reason))
    return [
        paragraph(BRAND, BRAND_STYLE),
        paragraph(_("Data licence contract"), SMALL),
        paragraph(contract.number, TITLE),
        Spacer(1, 4),
        *_pairs(meta),
    ]


def _parties(contract: Contract) -> list[Flowable]:
    head = [
        paragraph(_("Party"), CELL_BOLD),
        paragraph(_("Organisation"), CELL_BOLD),
        paragraph(_("Unified social credit code"), CELL_BOLD),
    ]
    rows = [
        [paragraph(role, CELL), paragraph(name, CELL), paragraph(code, CELL)]
        for role, name, code in party_rows(contract.terms)
    ]
    return [
        paragraph(_("Parties"), HEADING),
        _grid([head, *rows], [0.2 * WIDTH, 0.5 * WIDTH, 0.3 * WIDTH], header=True),
    ]


def _sections(contract: Contract) -> list[Flowable]:
    story: list[Flowable] = []
    for section in terms_sections(contract.terms):
        story.append(KeepTogether([paragraph(section.title, HEADING), *_pairs(section.rows)]))
    return story


def _fingerprint(contract: Contract) -> list[Flowable]:
    note = _(
        "SHA-256 of the canonical JSON of the terms above (sorted keys, no spaces, UTF-8): what both parties signed."
    )
    box = PdfTable([[Paragraph(contract.terms_sha256, HASH_STYLE)], [paragraph(note, SMALL)]], colWidths=[WIDTH])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.6, RULE), ("BACKGROUND", (0, 0), (-1, -1), ZEBRA)]))
    return [KeepTogether([paragraph(_("Terms fingerprint (SHA-256)"), HEADING), box])]


def _signature_cell(line: SignatureLine) -> list[Flowable]:
    if not line.signed:
        return [paragraph(_("Not signed yet."), SMALL)]
    by = _("Standing offer signed by %(name)s") if line.standing else _("Signed by %(name)s")
    cell = [
        paragraph(by % {"name": line.signer}, CELL),
        paragraph(_("at %(time)s from %(address)s") % {"time": line.signed_at, "address": line.ip_address}, SMALL),
        Paragraph(line.terms_sha256, HASH_STYLE),
    ]
    if not line.matches:
        cell.append(paragraph(_("This hash differs from the terms' SHA-256."), CELL_BOLD))
    return cell


def _signatures(contract: Contract, signatures: list[Signature]) -> list[Flowable]:
    rows = [
        [[paragraph(line.party_label, CELL_BOLD), paragraph(line.organization, SMALL)], _signature_cell(line)]
        for line in signature_lines(contract, signatures)
    ]
    return [KeepTogether([paragraph(_("Signatures"), HEADING), _grid(rows, [0.3 * WIDTH, 0.7 * WIDTH])])]


def _story(contract: Contract, signatures: list[Signature]) -> list[Flowable]:
    return [
        *_header(contract),
        *_parties(contract),
        *_sections(contract),
        *_fingerprint(contract),
        *_signatures(contract, signatures),
    ]


def contract_pdf(contract: Contract, *, invariant: bool = False) -> bytes:
    """The contract as an A4 PDF in the active language; `invariant` gives the same bytes for the same contract."""
    register_fonts()
    signatures = list(contract.signatures.select_related("user"))
    return render_pdf(
        _story(contract, signatures),
        header=f"{BRAND} · {_('Data licence contract')} {contract.number}",
        footer=contract.number,
        invariant=invariant,
        title=f"{contract.number} · {contract.terms.get('listing', {}).get('title', '')}",
        author=contract.merchant.name,
        subject=_("Data licence contract"),
    )


def pdf_filename(contract: Contract) -> str:
    return f"contract-{contract.number}.pdf"
