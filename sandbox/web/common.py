"""What the sandbox pages share: lookups scoped to the user, the status JSON the pages poll, the disclosure report."""

import datetime
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from accounts.models import Membership
from accounts.web import can, user_memberships
from core.errors import DomainError
from sandbox import engine
from sandbox.models import ExportRequest, QueryRun, SandboxDataset
from sandbox.services import workspaces


class JsonArrayLength(models.Func):
    """The length of a JSON array column (how many rows a run kept, without loading them)."""

    function = "jsonb_array_length"
    output_field = models.IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="json_array_length", **extra)


def operated_datasets(user: Any) -> QuerySet:
    """Datasets of the organisations the user works for as an operator (another organisation's: not there)."""
    return SandboxDataset.objects.restrict(user, "view")


def visible_runs(user: Any) -> QuerySet:
    """Runs of the user's organisations, and runs on the datasets they operate."""
    return QueryRun.objects.visible_to(user)


def visible_exports(user: Any) -> QuerySet:
    """Export requests of the user's organisations, and those on the datasets they operate (both are granted)."""
    return ExportRequest.objects.restrict(user, "view")


def membership_in(request: HttpRequest, organization_id: int) -> Membership | None:
    return next((m for m in user_memberships(request) if m.organization_id == organization_id), None)


def may(request: HttpRequest, organization_id: int, action: str) -> bool:
    """Whether the user's role in that organisation allows `action` (drives buttons; the services check again)."""
    return can(membership_in(request, organization_id), action)


def workspace_or_404(request: HttpRequest, dataset_pk: int) -> workspaces.Workspace:
    try:
        return workspaces.workspace_for(request.user, dataset_pk)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        raise


def no_store_json(payload: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(payload, status=status)
    patch_cache_control(response, private=True, no_store=True)
    return response


def month_start(day: datetime.date) -> datetime.datetime:
    return workspaces.day_bounds(day.replace(day=1))[0]


def today_bounds() -> tuple[datetime.datetime, datetime.datetime]:
    return workspaces.day_bounds(timezone.localdate())


def note_text(note: Any) -> str:
    """One line of a run's disclosure report in the reader's language, whatever shape the engine gave it."""
    if isinstance(note, dict):
        if "params" in note:  # built again: the stored sentence is in the language of whoever ran the query
            text = engine.note_message(note.get("code", ""), note.get("count", 0), note["params"])
            if text:
                return text
        return str(note.get("message") or note.get("text") or note.get("code") or "")
    return str(note)


def note_lines(run: QueryRun) -> list[dict]:
    """The disclosure report as lines with their code (when the engine gave one)."""
    notes = run.notes or []
    return [{"text": note_text(note), "code": note.get("code", "") if isinstance(note, dict) else ""}
            for note in notes]  # fmt: skip
