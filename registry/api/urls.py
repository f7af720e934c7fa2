from rest_framework.routers import SimpleRouter

from registry.api import views

# A SimpleRouter: accounts' DefaultRouter already serves the API root at the same prefix.
router = SimpleRouter()
router.register("products", views.ProductViewSet, basename="product")
router.register("versions", views.VersionViewSet, basename="version")
router.register("documents", views.DocumentViewSet, basename="document")
router.register("certificates", views.CertificateViewSet, basename="certificate")

urlpatterns = router.urls
