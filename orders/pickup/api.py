"""The shop's opening hours and pickup slots, public: a shopper sees them before logging in.
Both views only read (pickup.selectors): the slot rows are made ahead, never by a GET.
Busy mode (pause, resume, delay) is for staff holding orders.change_kitchenstate."""

from dataclasses import asdict

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import staff_has_perm
from orders.api.serializers import (
    BusySerializer,
    DelaySerializer,
    PauseSerializer,
    PickupSlotSerializer,
    ShopSerializer,
    SlotsQuerySerializer,
)
from orders.pickup import kitchen, selectors
from orders.pickup.kitchen import BUSY_PERMISSION
from orders.pickup.schedule import shop_zone
from orders.shop_settings import shop_settings_get


class ShopView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses=ShopSerializer, tags=["shop"])
    def get(self, request: Request) -> Response:
        """Whether the shop is open now, today's hours and, while closed, the next opening."""
        now = timezone.now()
        status = selectors.shop_status(now=now)
        busy = kitchen.busy_read(now=now)
        body = {
            "name": settings.SHOP_NAME,
            "time_zone": settings.TIME_ZONE,
            **asdict(status),
            "paused_until": busy.paused_until,
            "pause_reason": busy.pause_reason,
            "prep_minutes": busy.prep_minutes,
            "charges": shop_settings_get(),
        }
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


# --- busy mode (staff) ------------------------------------------------------------------


class MayRunBusyMode(BasePermission):
    """Staff holding the busy-mode permission (the Kitchen and Manager roles)."""

    def has_permission(self, request, view) -> bool:
        return staff_has_perm(request.user, BUSY_PERMISSION)


def _busy_body(busy: kitchen.Busy) -> dict:
    return BusySerializer({**asdict(busy), "prep_minutes": busy.prep_minutes}).data


BUSY_ERRORS = {
    401: OpenApiResponse(description="Not signed in."),
    403: OpenApiResponse(description=f"Staff without {BUSY_PERMISSION}."),
}


class ShopPauseView(APIView):
    permission_classes = [IsAuthenticated, MayRunBusyMode]

    @extend_schema(
        request=PauseSerializer,
        responses={
            200: BusySerializer,
            400: OpenApiResponse(description="Invalid minutes or reason."),
            **BUSY_ERRORS,
        },
        tags=["shop"],
    )
    def post(self, request: Request) -> Response:
        """Staff: pause new orders for `minutes` (busy mode). Checkout answers 409 `shop_paused`
        with `resumes_at` until then; the pause ends by itself. A new pause replaces one running."""
        data = PauseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_busy_body(kitchen.kitchen_pause(**data.validated_data)))


class ShopResumeView(APIView):
    permission_classes = [IsAuthenticated, MayRunBusyMode]

    @extend_schema(request=None, responses={200: BusySerializer, **BUSY_ERRORS}, tags=["shop"])
    def post(self, request: Request) -> Response:
        """Staff: take orders again now (ends a pause; nothing to end is not an error)."""
        return Response(_busy_body(kitchen.kitchen_resume()))


class ShopDelayView(APIView):
    permission_classes = [IsAuthenticated, MayRunBusyMode]

    @extend_schema(
        request=DelaySerializer,
        responses={
            200: BusySerializer,
            400: OpenApiResponse(description="Invalid minutes, or an end in the past."),
            **BUSY_ERRORS,
        },
        tags=["shop"],
    )
    def post(self, request: Request) -> Response:
        """Staff: add `minutes` to the kitchen's preparation time (orders as soon as possible get
        later ready times) until `until`, or until cleared with 0."""
        data = DelaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_busy_body(kitchen.kitchen_delay(**data.validated_data)))
