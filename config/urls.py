from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from config.api import exceptions
from config.bench import bench_urlpatterns
from config.metrics import metrics_view
from config.views import ApiDocsView, ApiSchemaView

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    # Prometheus, only with Authorization: Bearer $METRICS_TOKEN (else 404).
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    # Only with API_DOCS_PUBLIC; else a 404 like any unknown path.
    path("api/schema/", ApiSchemaView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    # The mock gateway's payment page and Snap's "finish" page (HTML).
    path("payments/", include("payments.urls")),
    # Anything else under /api/ is a JSON 404, also with DEBUG on and without the slash
    # redirect (a POST must never be redirected).
    re_path(r"^api/", exceptions.api_not_found),
]

# The benchmark's reference view (`bench/run.py`); never routed unless asked for.
urlpatterns += bench_urlpatterns(enabled=settings.BENCH_ROUTES)

if settings.DEBUG:
    # Product images in local runs; production serves MEDIA_ROOT from the web server or
    # an object store.
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]

handler400 = exceptions.handler400
handler403 = exceptions.handler403
handler404 = exceptions.handler404
handler500 = exceptions.handler500
