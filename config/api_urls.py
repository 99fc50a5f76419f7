"""Everything under /api/v1/: the one DRF router plus the few plain API views."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from catalog.api.views import CategoryViewSet, ProductViewSet
from config.views import HealthView

router = SimpleRouter()
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("auth/", include("accounts.api.urls")),
    *router.urls,
]
