"""`Idempotency-Key` on the API's POSTs: a retried request gets the first response back instead of running twice.

As at Stripe: a key belongs to its caller (an API key, or a person signed in) and is kept IDEMPOTENCY_TTL_HOURS,
after which it may be used again. The key is claimed by an INSERT of its own, committed before the view runs, so a
concurrent duplicate sees the claim (409 `idempotency_in_progress`); once the view has answered, its response is
stored and replayed with `Idempotent-Replayed: true`. A 5xx or a 429 is not stored, the key is let go and a retry
runs again. The same key on another path or body is refused (422 `idempotency_key_reused`).

The middleware runs before DRF authenticates the request inside the view, so it authenticates the caller itself
with the view's own authenticators; a request it cannot tie to a caller passes through and the view answers it.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import IdempotencyRecord
from core.errors import DomainError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
API_PREFIX = "/api/v1/"
MULTIPART = "multipart/form-data"


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency_key_invalid"
    status = 400
    default_message = _("The Idempotency-Key header must be 1 to 255 printable characters.")


class IdempotencyInProgress(DomainError):
    code = "idempotency_in_progress"
    status = 409
    default_message = _("A request with this Idempotency-Key is still running; retry once it has answered.")


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    default_message = _("This Idempotency-Key was used for a different request; use a new key for a new request.")


class IdempotencyMiddleware:
    """Honours `Idempotency-Key` on POSTs under /api/v1/; every other request passes through untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        try:
            return self._idempotent(request, key.strip())
        except DomainError as exc:
            return JsonResponse({"code": exc.code, "detail": str(exc.message)}, status=exc.status)

    def _idempotent(self, request: HttpRequest, key: str) -> HttpResponse:
        if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise IdempotencyKeyInvalid
        view = _api_view(request)
        principal = _principal(request, view) if view else None
        if principal is None:  # anonymous, or refused: the view answers (a 401, or a public endpoint's own answer)
            return self.get_response(request)
        digest = _digest(request, view)
        record, claimed = key_claim(principal=principal, key=key, path=request.path, request_hash=digest)
        if not claimed:
            return replay(record)
        try:
            response = self.get_response(request)
        except BaseException:
            key_release(record=record)
            raise
        response_store(record=record, response=response)
        return response


# --- the records ------------------------------------------------------------------------------------------------


def _cutoff():
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def key_claim(*, principal: str, key: str, path: str, request_hash: str) -> tuple[IdempotencyRecord, bool]:
    """The record of this key and whether this request claimed it (False: an earlier request's answer to replay)."""
    fields = {"method": "POST", "path": path, "request_hash": request_hash}
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(principal=principal, key=key, **fields), True
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    if record is not None and record.created_at < _cutoff() and _reclaim(record, fields):
        return record, True
    if record is None or record.created_at < _cutoff():  # let go or re-claimed a moment ago by a concurrent retry
        raise IdempotencyInProgress
    if (record.path, record.request_hash) != (path, request_hash):
        raise IdempotencyKeyReused
    if record.status_code is None:
        raise IdempotencyInProgress
    return record, False


def _reclaim(record: IdempotencyRecord, fields: dict) -> bool:
    """Take over an expired record for a new request; False if a concurrent retry took it first."""
    fresh = {**fields, "status_code": None, "content_type": "", "body": b"", "created_at": timezone.now()}
    if not IdempotencyRecord.objects.filter(pk=record.pk, created_at__lt=_cutoff()).update(**fresh):
        return False
    for name, value in fresh.items():
        setattr(record, name, value)
    return True


def key_release(*, record: IdempotencyRecord) -> None:
    """Let the key go, so that a retry runs the request again."""
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def response_store(*, record: IdempotencyRecord, response: HttpResponse) -> None:
    """Keep the view's answer for replays; a server error, a throttled or a streamed answer lets the key go instead."""
    if response.streaming or response.status_code >= 500 or response.status_code == 429:
        key_release(record=record)
        return
    content_type = response.get("Content-Type", "")
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=response.status_code, content_type=content_type, body=response.content
    )


def replay(record: IdempotencyRecord) -> HttpResponse:
    """The stored answer of the request that first used the key."""
    response = HttpResponse(bytes(record.body), status=record.status_code, content_type=record.content_type or None)
    response[REPLAYED_HEADER] = "true"
    return response


def records_purge() -> int:
    """Delete the records older than IDEMPOTENCY_TTL_HOURS; how many."""
    deleted, _per_model = IdempotencyRecord.objects.filter(created_at__lt=_cutoff()).delete()
    return deleted


# --- the request ------------------------------------------------------------------------------------------------


def _api_view(request: HttpRequest) -> APIView | None:
    """An instance of the DRF view the request goes to (for its authenticators and parsers), if it goes to one."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None
    view_class = getattr(match.func, "cls", None)
    if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
        return None
    return view_class(**getattr(match.func, "initkwargs", {}))


def _principal(request: HttpRequest, view: APIView) -> str | None:
    """`api_key:<id>` or `user:<id>`, authenticated as the view will; None when the caller is anonymous or refused."""
    django_user = getattr(request, "user", None)
    try:
        caller = Request(request, authenticators=view.get_authenticators()).user
    except exceptions.APIException:
        return None
    finally:  # DRF sets the request's user, to AnonymousUser when it refuses: the view must start from the original
        if django_user is not None:
            request.user = django_user
    api_key = getattr(caller, "api_key", None)
    if api_key is not None:
        return f"api_key:{api_key.pk}"
    return f"user:{caller.pk}" if caller.is_authenticated else None


def _digest(request: HttpRequest, view: APIView) -> str:
    """SHA-256 of the query string and body; of a multipart body's fields and files, as its boundary changes from one
    send to the next."""
    digest = hashlib.sha256(request.META.get("QUERY_STRING", "").encode() + b"\n")
    if request.content_type == MULTIPART and any(parser.media_type == MULTIPART for parser in view.get_parsers()):
        _digest_multipart(request, digest)
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _digest_multipart(request: HttpRequest, digest) -> None:
    # Parsed here with the request's upload handlers (large files go to temporary files); DRF then reuses
    # request.POST and request.FILES rather than parsing again.
    try:
        digest.update(json.dumps(sorted(request.POST.lists())).encode())
        uploads = sorted(request.FILES.lists())
    except MultiPartParserError as exc:
        raise DomainError(_("Multipart form parse error."), code="parse_error") from exc
    for field, files in uploads:
        for upload in files:
            digest.update(json.dumps([field, upload.name, upload.size]).encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
