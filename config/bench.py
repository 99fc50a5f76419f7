"""The benchmark's reference endpoint, routed only when `BENCH_ROUTES` is on (`bench/run.py`
turns it on for the server it starts; production never routes it).

`GET /_bench/bare` goes through everything an anonymous menu read goes through (every
middleware, DRF's request wrapping, the project's default authenticators finding no
credentials, content negotiation, the JSON renderer) and does nothing else, so the
benchmark can state each endpoint's throughput as a ratio to it.
"""

from django.urls import URLPattern, path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class BareView(APIView):
    # The default authentication classes on purpose: an anonymous menu read runs them too
    # (they find no credentials), so the reference pays what every public read pays.
    permission_classes = [AllowAny]
    schema = None  # never part of the API's contract

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


def bench_urlpatterns(*, enabled: bool) -> list[URLPattern]:
    """The benchmark's routes when `enabled` (the `BENCH_ROUTES` setting), else none."""
    if not enabled:
        return []
    return [path("_bench/bare", BareView.as_view(), name="bench-bare")]
