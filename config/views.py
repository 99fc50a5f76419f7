from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

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


DEPENDENCY_STATE = serializers.ChoiceField(choices=["ok", "not_configured", "unavailable", "timeout"])


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
                        dict.fromkeys(("database", "cache", "broker", "storage"), DEPENDENCY_STATE),
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
                        dict.fromkeys(("database", "cache", "broker", "storage"), DEPENDENCY_STATE),
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
