"""The sandbox's part of /api/v1/ (mounted at sandbox/): each area module lists its viewsets in `routes` and other
paths in `urlpatterns`; URL names are prefixed `sandbox-` within the `api` namespace."""

from rest_framework.routers import SimpleRouter

from sandbox.api import datasets, exports, runs, saved_queries, workspaces

AREAS = (datasets, workspaces, runs, saved_queries, exports)

router = SimpleRouter()
for area in AREAS:
    for prefix, viewset, basename in area.routes:
        router.register(prefix, viewset, basename=basename)

urlpatterns = [*router.urls, *(path for area in AREAS for path in area.urlpatterns)]
