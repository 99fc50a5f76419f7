"""Live order status over Server-Sent Events (issue 20): `orders/{number}/events/` for the
shopper who placed the order (and staff who see all orders), `kitchen/events/` for the
kitchen board. The reading and waiting live in orders.streams; this is the door: who may
listen, from where to resume, and the response."""

from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import Http404, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from orders import permissions, selectors, streams
from orders.api.serializers import OrderEventSerializer
from orders.models import OrderEvent

LAST_EVENT_ID_HEADER = "Last-Event-ID"
LAST_EVENT_ID_QUERY = "last_event_id"


class EventStreamRenderer(BaseRenderer):
    """Lets a client that accepts only `text/event-stream` (EventSource) through content
    negotiation; the stream itself is a StreamingHttpResponse, never rendered here."""

    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


class OrderEventStreamSerializer(OrderEventSerializer):
    """An event as the order shows it, with its id (the stream's `id:`) and order number."""

    order = serializers.CharField(source="order.number", help_text="The order's number.")

    class Meta(OrderEventSerializer.Meta):
        fields = ["id", "order", *OrderEventSerializer.Meta.fields]


def render_event(event: OrderEvent) -> bytes:
    return streams.frame(event_id=event.pk, name=event.type, data=OrderEventStreamSerializer(event).data)


def last_event_id(request: Request) -> int:
    """Where a reconnecting client left off: the `Last-Event-ID` header an EventSource sends,
    or `?last_event_id=` for polyfills that cannot set it; 0 (from the start) without."""
    raw = request.headers.get(LAST_EVENT_ID_HEADER) or request.query_params.get(LAST_EVENT_ID_QUERY) or ""
    raw = raw.strip()
    if not raw:
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValidationError({LAST_EVENT_ID_HEADER: [_("An event id (a non-negative integer).")]})
    return int(raw)


def event_stream(request: Request, *, order_id: int | None, after: int, closed: bool = False):
    """The response: an async generator under ASGI (uvicorn: no thread per open stream), a
    polling generator under WSGI (runserver, where an async one would be buffered whole)."""
    kwargs = {"order_id": order_id, "after": after, "render": render_event, "closed": closed}
    if isinstance(request._request, ASGIRequest):
        content = streams.astream(**kwargs)
        # The stream reads on the shared pool: this request's thread keeps no connection open
        # for as long as the client listens (that would be one per open stream).
        if not connection.in_atomic_block:
            connection.close()
    else:
        content = streams.stream(**kwargs)
    response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


STREAM_PARAMETERS = [
    OpenApiParameter(
        LAST_EVENT_ID_HEADER,
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        description="Resume after this event id (EventSource sends it when it reconnects).",
    ),
    OpenApiParameter(
        LAST_EVENT_ID_QUERY,
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        description=f"The same as the `{LAST_EVENT_ID_HEADER}` header, for clients that cannot set it.",
    ),
]

STREAM_FORMAT = (
    "Server-Sent Events: each event is `id: <event id>`, `event: <type>` and `data: <JSON>`, "
    "the JSON being the event as `OrderEventStream` describes it; a `: heartbeat` comment "
    f"every {int(streams.HEARTBEAT_SECONDS)} seconds when quiet."
)
BAD_EVENT_ID = OpenApiResponse(
    description=f"`{LAST_EVENT_ID_HEADER}` (or `{LAST_EVENT_ID_QUERY}`) is not an event id: "
    f'`{{"{LAST_EVENT_ID_HEADER}": ["..."]}}`.'
)


class StreamView(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    def perform_content_negotiation(self, request, force=False):
        # A stream is a stream whatever `?format=` says: DRF answers an unknown one with a 404
        # (schemathesis found it), which would hide the stream behind a parameter it ignores.
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            return super().perform_content_negotiation(request, force=True)

    def handle_exception(self, exc):
        # Errors are JSON whatever the client accepts (an EventSource accepts only the stream).
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


# What an SSE client reads from the stream: one message per event, whose `data` is the JSON of
# `OrderEventStream` (the serializer below). Schemathesis and EventSource read the message, not
# the payload, so the schema describes the message.
SSE_MESSAGE = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The event id (send it back as Last-Event-ID)."},
        "event": {"type": "string", "description": "The event's type."},
        "data": {"type": "string", "description": "JSON: an OrderEvent with its `id` and `order`."},
    },
    "required": ["data"],
}


class OrderEventsView(StreamView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="orders_events",
        parameters=STREAM_PARAMETERS,
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                SSE_MESSAGE,
                description=f"The order's events after `{LAST_EVENT_ID_HEADER}` (all without it), then "
                "each new one as it happens. The stream ends after a terminal status (completed, "
                "cancelled, expired, refunded); opened on a closed order it sends what is missed "
                f"and ends. {STREAM_FORMAT}",
            ),
            400: BAD_EVENT_ID,
            404: OpenApiResponse(description="No such order, or not yours (code `not_found`)."),
        },
    )
    def get(self, request: Request, number: str) -> StreamingHttpResponse:
        """Live status of one order (the shopper who placed it, or staff who see all orders)."""
        after = last_event_id(request)
        order = (
            selectors.order_list(user=request.user)
            .select_related(None)
            .prefetch_related(None)
            .only("id", "status")
            .filter(number=number)
            .first()
        )
        if order is None:
            raise NotFound()  # like a missing one (DESIGN §5)
        closed = order.status in streams.TERMINAL_STATUSES
        return event_stream(request, order_id=order.pk, after=after, closed=closed)


class SeesAllOrders(BasePermission):
    """Staff holding orders.view_order (the kitchen board's permission)."""

    def has_permission(self, request, view) -> bool:
        return permissions.sees_all_orders(request.user)


class KitchenEventsView(StreamView):
    permission_classes = [IsAuthenticated, SeesAllOrders]

    @extend_schema(
        operation_id="kitchen_events",
        parameters=STREAM_PARAMETERS,
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                SSE_MESSAGE,
                description="Status changes of every order (a new paid order is `to_status: paid`) after "
                f"`{LAST_EVENT_ID_HEADER}`, or from now without it. {STREAM_FORMAT}",
            ),
            400: BAD_EVENT_ID,
            403: OpenApiResponse(description="Staff without orders.view_order (code `permission_denied`)."),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        """Live status changes for the kitchen board (staff who see all orders)."""
        after = last_event_id(request) or streams.latest_event_id()
        return event_stream(request, order_id=None, after=after)
