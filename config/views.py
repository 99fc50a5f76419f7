from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponseBase
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.exceptions import api_not_found
from config.readiness import is_ready, readiness


class HealthView(APIView):
    """Liveness and database reachability, for load balancers and uptime checks."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "Health", {"status": serializers.CharField(), "database": serializers.CharField()}
        )
    )
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError:
            return Response({"status": "error", "database": "unavailable"}, status=503)
        return Response({"status": "ok", "database": "ok"})


class PublicDocsOnly:
    """The API's documentation exists only with API_DOCS_PUBLIC (default: with DEBUG); else
    its paths answer the same JSON 404 as any unknown path under /api/."""

    def dispatch(self, request, *args, **kwargs) -> HttpResponseBase:
        if not settings.API_DOCS_PUBLIC:
            return api_not_found(request)
        return super().dispatch(request, *args, **kwargs)


class ApiSchemaView(PublicDocsOnly, SpectacularAPIView):
    pass


class ApiDocsView(PublicDocsOnly, SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served from its own URL (`?script`), not inline,
    so the page runs under a Content-Security-Policy that allows no inline script."""


DEPENDENCIES = ("database", "cache", "broker", "storage")
DEPENDENCY_STATES = ["ok", "not_configured", "unavailable", "timeout"]  # one enum in the schema


def dependency_states() -> dict:
    # A field instance each: DRF binds a field to one name (one shared instance documented
    # only the last dependency).
    return {name: serializers.ChoiceField(choices=DEPENDENCY_STATES) for name in DEPENDENCIES}


class ReadyView(APIView):
    """Readiness for load balancers: database, cache, broker and file storage, each with a
    short deadline. 200 when every one is usable (`not_configured` counts: no broker means
    tasks run in-process); 503 naming those that are down."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        responses={
            200: inline_serializer(
                "Ready",
                {
                    "status": serializers.ChoiceField(choices=["ok"]),
                    "checks": inline_serializer(
                        "ReadyChecks",
                        dependency_states(),
                    ),
                },
            ),
            503: inline_serializer(
                "NotReady",
                {
                    "status": serializers.ChoiceField(choices=["unavailable"]),
                    "down": serializers.ListField(child=serializers.CharField()),
                    "checks": inline_serializer(
                        "NotReadyChecks",
                        dependency_states(),
                    ),
                },
            ),
        }
    )
    def get(self, request: Request) -> Response:
        states = readiness()
        if is_ready(states):
            return Response({"status": "ok", "checks": states})
        down = [name for name, state in states.items() if state not in ("ok", "not_configured")]
        return Response({"status": "unavailable", "down": down, "checks": states}, status=503)
