"""The shop's opening hours and pickup slots, public: a shopper sees them before logging in.
Both views only read (pickup.selectors): the slot rows are made ahead, never by a GET."""

from dataclasses import asdict

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.api.serializers import PickupSlotSerializer, ShopSerializer, SlotsQuerySerializer
from orders.pickup import selectors
from orders.pickup.schedule import shop_zone
from orders.shop_settings import shop_settings_get


class ShopView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses=ShopSerializer, tags=["shop"])
    def get(self, request: Request) -> Response:
        """Whether the shop is open now, today's hours and, while closed, the next opening."""
        status = selectors.shop_status(now=timezone.now())
        body = {"name": settings.SHOP_NAME, "time_zone": settings.TIME_ZONE, **asdict(status)}
        body["charges"] = shop_settings_get()
        return Response(ShopSerializer(body).data)


class ShopSlotsView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[SlotsQuerySerializer],
        responses={
            200: PickupSlotSerializer(many=True),
            400: OpenApiResponse(description="Not a date, or a date outside the booking window."),
        },
        tags=["shop"],
    )
    def get(self, request: Request) -> Response:
        """The pickup slots of a date that can still be booked, full ones with `remaining` 0.
        Book one by giving its `id` as `pickup_slot` at checkout."""
        query = SlotsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        day = query.validated_data.get("date") or timezone.localdate(now, shop_zone())
        slots = selectors.slots_for_date(day=day, now=now)
        return Response(PickupSlotSerializer(slots, many=True).data)
