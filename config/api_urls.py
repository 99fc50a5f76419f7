"""Everything under /api/v1/: the one DRF router plus the few plain API views."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from cart.api.views import CartItemViewSet, CartView
from catalog.api.views import CategoryViewSet, ProductViewSet
from config.views import HealthView
from invoices.api.views import InvoiceViewSet
from orders.api.views import OrderViewSet

router = SimpleRouter()
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")
router.register("cart/items", CartItemViewSet, basename="cart-item")
router.register("orders", OrderViewSet, basename="order")
router.register("invoices", InvoiceViewSet, basename="invoice")

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("auth/", include("accounts.api.urls")),
    path("cart/", CartView.as_view(), name="cart"),
    *router.urls,
]
