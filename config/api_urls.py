"""Everything under /api/v1/: the one DRF router plus the few plain API views."""

from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from cart.api.views import CartItemViewSet, CartView
from catalog.api.menu_fast import menu_fast
from catalog.api.views import CategoryViewSet, ProductViewSet
from config.views import HealthView, ReadyView
from invoices.api.views import InvoiceViewSet
from orders.api.events import KitchenEventsView, OrderEventsView
from orders.api.reports import SalesReportView, TaxReportView
from orders.api.shop_settings import ShopSettingsView
from orders.api.views import OrderViewSet
from orders.pickup.api import ShopDelayView, ShopPauseView, ShopResumeView, ShopSlotsView, ShopView
from orders.vouchers.api import CartVoucherView, VoucherViewSet
from payments.api.views import MidtransNotificationView, MockPaymentView, PaymentRecheckView

router = SimpleRouter()
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")
router.register("cart/items", CartItemViewSet, basename="cart-item")
router.register("orders", OrderViewSet, basename="order")
router.register("invoices", InvoiceViewSet, basename="invoice")
router.register("vouchers", VoucherViewSet, basename="voucher")


def _with_menu_fast(urls: list) -> list:
    """The anonymous product list and detail are answered in front of DRF (catalog/api/menu_fast.py)."""
    for url in urls:
        if url.name in ("product-list", "product-detail"):
            url.callback = menu_fast(url.callback, detail=url.name == "product-detail")
    return urls


urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("ready/", ReadyView.as_view(), name="ready"),
    path("auth/", include("accounts.api.urls")),
    path("cart/", CartView.as_view(), name="cart"),
    path("cart/voucher/", CartVoucherView.as_view(), name="cart-voucher"),
    path("shop/", ShopView.as_view(), name="shop"),
    path("shop/slots/", ShopSlotsView.as_view(), name="shop-slots"),
    path("shop/settings/", ShopSettingsView.as_view(), name="shop-settings"),
    path("reports/sales/", SalesReportView.as_view(), name="report-sales"),
    path("reports/tax/", TaxReportView.as_view(), name="report-tax"),
    path("shop/pause/", ShopPauseView.as_view(), name="shop-pause"),
    path("shop/resume/", ShopResumeView.as_view(), name="shop-resume"),
    path("shop/delay/", ShopDelayView.as_view(), name="shop-delay"),
    # With or without the slash: Midtrans does not follow redirects.
    re_path(
        r"^payments/midtrans/notification/?$",
        MidtransNotificationView.as_view(),
        name="midtrans-notification",
    ),
    path("payments/mock/<str:token>/", MockPaymentView.as_view(), name="mock-payment"),
    path("orders/<str:number>/events/", OrderEventsView.as_view(), name="order-events"),
    path("kitchen/events/", KitchenEventsView.as_view(), name="kitchen-events"),
    path("orders/<str:number>/payment-recheck/", PaymentRecheckView.as_view(), name="order-payment-recheck"),
    *_with_menu_fast(router.urls),
]
