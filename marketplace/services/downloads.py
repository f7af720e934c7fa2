"""Downloads: signed, expiring links to what a download entitlement delivers, and the fingerprinted file itself.

- Which version: a subscription delivers the latest registered version while it runs, so its buyer gets each new
  version as it is registered; a licence delivers the latest version registered when the contract started: that
  is the data the buyer paid for, and a later version is a new release the merchant may sell again.
- A link is a `TimestampSigner` token (salt `marketplace.download`) naming the entitlement and the version, valid
  for MARKETPLACE_DOWNLOAD_LINK_SECONDS. It is bound to the buyer organisation, not to one person: any member (or
  API key) of the buyer may open it, nobody else (404). Opening it checks everything again: the entitlement still
  runs, the product is still registered, the buyer is still verified.
- The file is written record by record with the contract's fingerprint (marketplace.fingerprint), in the source's
  encoding (a GBK file stays GBK), and never held in memory. Parquet is re-written by DuckDB to a temporary file
  first (for its metadata), then streamed.
- Every download is logged: a `Download` row (fingerprint id, SHA-256 and size of the bytes delivered) and a
  `download.delivered` audit event, in one transaction, when the stream ends. A client that goes away mid-file is
  logged too, with the bytes it got (`complete: false` in the event): a partial copy can leak as well, and tracing
  only considers contracts with a logged download. A link refused before the first byte logs nothing.
- Tracing (`manage.py trace_leak`) also considers contracts that other apps delivered fingerprinted files under
  (the sandbox's released results), through `on_leak_candidates` and `on_delivery_log`.
"""

import datetime
import hashlib
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.querysets import groups_allowed
from accounts.services import person_of, require_verified
from audit.services import audit_record
from core.errors import NotFoundError
from marketplace import fingerprint
from marketplace.choices import EntitlementKind, EntitlementStatus, PlanKind
from marketplace.models import Contract, Download, Entitlement
from marketplace.services.common import MarketError
from registry.choices import ProductStatus
from registry.models import ProductVersion
from registry.storage import CHUNK, local_path

LINK_SALT = "marketplace.download"
CONTENT_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


class DeliveryRefused(MarketError):
    """The entitlement does not (or no longer) deliver this."""

    status = 403


class LinkExpired(MarketError):
    status = 410
    code = "link_expired"


@dataclass(frozen=True)
class Delivery:
    """A file about to be streamed: its name and type, and the chunks (logging the download when they run out)."""

    filename: str
    content_type: str
    chunks: Iterator[bytes]


# --- who may have what ---------------------------------------------------------------------------------------------


def buyer_entitlements(user: Any) -> QuerySet:
    """Entitlements of the organisations `user` (a person or an API key) may read for as a buyer."""
    if user is None or not user.is_authenticated:
        return Entitlement.objects.none()
    return Entitlement.objects.filter(contract__buyer__group_id__in=groups_allowed(user, "view"))


def is_running(entitlement: Entitlement, now: datetime.datetime | None = None) -> bool:
    """Active and within its dates (a licence's download window may close before the contract expires)."""
    now = now or timezone.now()
    within = entitlement.starts_at <= now and (entitlement.ends_at is None or entitlement.ends_at > now)
    return entitlement.status == EntitlementStatus.ACTIVE and within


def ended_message(entitlement: Entitlement) -> str:
    """Why an entitlement no longer (or not yet) delivers, for people."""
    if entitlement.ended_at:
        when = date_format(timezone.localtime(entitlement.ended_at), "DATETIME_FORMAT")
        return _("This access ended on %(date)s: %(reason)s") % {"date": when, "reason": entitlement.ended_reason}
    if entitlement.starts_at > timezone.now():
        when = date_format(timezone.localtime(entitlement.starts_at), "DATETIME_FORMAT")
        return _("This access starts on %(date)s.") % {"date": when}
    when = date_format(timezone.localtime(entitlement.ends_at), "DATETIME_FORMAT")
    return _("This access ran until %(date)s; it has ended.") % {"date": when}


# What an entitlement of each kind says when asked for another kind of delivery, and the code of that refusal.
WRONG_KIND = {
    EntitlementKind.API: gettext_lazy(
        "This contract grants metered API access, not downloads: call the data API with an API key."
    ),
    EntitlementKind.SANDBOX: gettext_lazy(
        "Sandbox access lets you compute on the data inside the sandbox; it never delivers the data itself."
    ),
    EntitlementKind.DOWNLOAD: gettext_lazy("This contract grants downloads, not metered API access."),
}
WRONG_KIND_CODE = {EntitlementKind.DOWNLOAD: "not_downloadable", EntitlementKind.API: "not_metered"}


def require_access(entitlement: Entitlement, *, by: Any, kind: str) -> None:
    """Only the buyer's members, while the entitlement runs, for a product still registered (404 for outsiders)."""
    if not buyer_entitlements(by).filter(pk=entitlement.pk).exists():
        raise NotFoundError()
    if entitlement.kind != kind:
        raise DeliveryRefused(str(WRONG_KIND[entitlement.kind]), code=WRONG_KIND_CODE.get(kind, "wrong_kind"))
    require_verified(entitlement.contract.buyer)
    if not is_running(entitlement):
        raise DeliveryRefused(ended_message(entitlement), code="entitlement_ended")
    if entitlement.contract.listing.product.status != ProductStatus.REGISTERED:
        raise DeliveryRefused(
            _("The regulator has withdrawn this product's registration: it cannot be delivered now."),
            code="product_unavailable",
        )


def _loaded(pk: int) -> Entitlement | None:
    related = ("contract__buyer", "contract__listing__product")
    return Entitlement.objects.select_related(*related).filter(pk=pk).first()


# --- versions and links --------------------------------------------------------------------------------------------


def deliverable_version(entitlement: Entitlement) -> ProductVersion | None:
    """The version a download delivers now (see the module docstring)."""
    contract = entitlement.contract
    versions = ProductVersion.objects.registered().filter(product_id=contract.listing.product_id)
    if contract.terms["plan"]["kind"] != PlanKind.SUBSCRIPTION:
        versions = versions.filter(registered_at__lte=contract.starts_at)
    return versions.order_by("-number").first()


def download_link(*, entitlement: Entitlement, by: Any) -> str:
    """A signed token for the file the entitlement delivers now, valid MARKETPLACE_DOWNLOAD_LINK_SECONDS."""
    entitlement = _loaded(entitlement.pk)
    require_access(entitlement, by=by, kind=EntitlementKind.DOWNLOAD)
    version = deliverable_version(entitlement)
    if version is None:
        raise DeliveryRefused(_("No registered version of this product can be delivered."), code="no_version")
    return signing.TimestampSigner(salt=LINK_SALT).sign_object({"e": entitlement.pk, "v": version.pk})


def link_expires_at(now: datetime.datetime | None = None) -> datetime.datetime:
    """When a link handed out now stops working."""
    return (now or timezone.now()) + datetime.timedelta(seconds=settings.MARKETPLACE_DOWNLOAD_LINK_SECONDS)


def _unsign(token: str) -> dict:
    signer = signing.TimestampSigner(salt=LINK_SALT)
    try:
        return signer.unsign_object(token, max_age=settings.MARKETPLACE_DOWNLOAD_LINK_SECONDS)
    except signing.SignatureExpired as exc:
        raise LinkExpired(
            _("This download link has expired. Ask for a new one on your access page: links work for %(minutes)s "
              "minutes.") % {"minutes": max(1, settings.MARKETPLACE_DOWNLOAD_LINK_SECONDS // 60)}
        ) from exc  # fmt: skip
    except signing.BadSignature as exc:
        raise NotFoundError(_("This download link is not valid."), code="link_invalid") from exc


# --- opening a link ------------------------------------------------------------------------------------------------


def download_open(*, token: str, user: Any, ip: str | None = None) -> Delivery:
    """Check a link and its entitlement now, and return the fingerprinted file, logged as it is delivered."""
    payload = _unsign(token)
    entitlement = _loaded(payload["e"])
    if entitlement is None:
        raise NotFoundError(_("This download link is not valid."), code="link_invalid")
    require_access(entitlement, by=user, kind=EntitlementKind.DOWNLOAD)
    versions = ProductVersion.objects.registered().filter(product_id=entitlement.contract.listing.product_id)
    version = versions.filter(pk=payload["v"]).first()
    if version is None:
        raise NotFoundError(_("This download link is not valid."), code="link_invalid")
    return Delivery(
        filename=delivered_name(version),
        content_type=content_type(version),
        chunks=_stream(entitlement, version, user, ip),
    )


def delivered_name(version: ProductVersion) -> str:
    """The file name a delivery gets: the merchant's, with the version number."""
    name = PurePath(version.original_name)
    return f"{name.stem}-v{version.number}{name.suffix or '.' + version.file_format}"


def content_type(version: ProductVersion) -> str:
    """The media type, with the charset the text is delivered in."""
    media = CONTENT_TYPES.get(version.file_format, "application/octet-stream")
    if version.file_format == "parquet":
        return media
    charset = "utf-8" if (version.encoding or "utf-8").startswith("utf-8") else version.encoding
    return f"{media}; charset={charset}"


def _stream(entitlement: Entitlement, version: ProductVersion, user: Any, ip: str | None) -> Iterator[bytes]:
    digest, size, complete = hashlib.sha256(), 0, False
    try:
        for chunk in _marked(version, entitlement.contract.number):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
        complete = True
    finally:
        if size:
            _record(entitlement, version, user, ip, sha256=digest.hexdigest(), size=size, complete=complete)


def _marked(version: ProductVersion, number: str) -> Iterator[bytes]:
    if version.file_format == "parquet":
        yield from _marked_parquet(version, number)
        return
    with version.file.storage.open(version.file.name, "rb") as stream:
        yield from fingerprint.mark_text(
            stream,
            file_format=version.file_format,
            encoding=version.encoding,
            key=fingerprint.contract_key(number),
            delimiter=(version.profile or {}).get("delimiter"),
        )


def _marked_parquet(version: ProductVersion, number: str) -> Iterator[bytes]:
    with tempfile.TemporaryDirectory(prefix="databourse-delivery-") as work, local_path(version.file) as source:
        target = Path(work) / "delivery.parquet"
        fingerprint.mark_parquet(source, target, number=number)
        with open(target, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk


@transaction.atomic
def _record(
    entitlement: Entitlement,
    version: ProductVersion,
    user: Any,
    ip: str | None,
    *,
    sha256: str,
    size: int,
    complete: bool,
) -> Download:
    """The download row and its audit event, together."""
    contract: Contract = entitlement.contract
    download = Download(
        entitlement=entitlement, version=version, user=person_of(user), ip_address=ip,
        fingerprint=fingerprint.fingerprint_id(contract.number), sha256=sha256, size=size,
    )  # fmt: skip
    download.full_clean()
    download.save()
    audit_record(action="download.delivered", obj=download, actor=user, organization_id=contract.buyer_id,
                 data={"contract": contract.number, "version": version.number, "fingerprint": download.fingerprint,
                       "sha256": sha256, "size": size, "complete": complete, "ip": ip})  # fmt: skip
    return download


# --- tracing -------------------------------------------------------------------------------------------------------

# Apps built on the marketplace that deliver fingerprinted files of their own (the sandbox's released results)
# subscribe here from their AppConfig.ready(). The marketplace cannot import them (dependencies point one way), so
# tracing asks them: which contracts they delivered a file under, and the log of those deliveries.
LEAK_CANDIDATE_HOOKS: list[Callable[..., Iterable[int]]] = []
DELIVERY_LOG_HOOKS: list[Callable[..., Iterable["DeliveryLogEntry"]]] = []


@dataclass(frozen=True)
class DeliveryLogEntry:
    """One logged delivery of a file that is not a `Download` (who, when, from where, what), for trace_leak."""

    at: datetime.datetime
    email: str
    ip: str | None
    what: str


def on_leak_candidates(hook: Callable[..., Iterable[int]]) -> Callable[..., Iterable[int]]:
    """Register `hook(product_id=None) -> contract ids` that had another kind of file delivered (of the product)."""
    if hook not in LEAK_CANDIDATE_HOOKS:
        LEAK_CANDIDATE_HOOKS.append(hook)
    return hook


def on_delivery_log(hook: Callable[..., Iterable[DeliveryLogEntry]]) -> Callable[..., Iterable[DeliveryLogEntry]]:
    """Register `hook(contract=...) -> [DeliveryLogEntry]`: the contract's other deliveries, newest first."""
    if hook not in DELIVERY_LOG_HOOKS:
        DELIVERY_LOG_HOOKS.append(hook)
    return hook


def leak_candidates(*, product_id: int | None = None) -> QuerySet:
    """Contracts that had a file delivered (of the product, if given): the only ones a leaked copy can come from."""
    delivered = Q(pk__in=Download.objects.values("entitlement__contract_id"))
    for hook in LEAK_CANDIDATE_HOOKS:
        delivered |= Q(pk__in=hook(product_id=product_id))
    contracts = Contract.objects.filter(delivered).select_related("buyer", "listing__product")
    return contracts.filter(listing__product_id=product_id) if product_id else contracts


def delivery_log(contract: Contract) -> list[DeliveryLogEntry]:
    """The contract's deliveries other than downloads (from the hooks), newest first."""
    entries = [entry for hook in DELIVERY_LOG_HOOKS for entry in hook(contract=contract)]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)
