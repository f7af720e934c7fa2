from rest_framework.routers import SimpleRouter

from valuation.api import views

# A SimpleRouter: accounts' DefaultRouter already serves the API root at the same prefix.
router = SimpleRouter()
router.register("valuations", views.ValuationViewSet, basename="valuation")
router.register("comparables", views.ComparableViewSet, basename="comparable")
router.register("revaluations", views.RevaluationViewSet, basename="revaluation")

urlpatterns = router.urls
