"""The marketplace's part of /api/v1/: each area module lists its viewsets in `routes` and other paths in
`urlpatterns`."""

from rest_framework.routers import SimpleRouter

from marketplace.api import contracts, delivery, demands, feedback, listings, payments

AREAS = (listings, contracts, payments, delivery, demands, feedback)

router = SimpleRouter()
for area in AREAS:
    for prefix, viewset, basename in area.routes:
        router.register(prefix, viewset, basename=basename)

urlpatterns = [*router.urls, *(path for area in AREAS for path in area.urlpatterns)]
