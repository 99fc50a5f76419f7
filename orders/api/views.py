from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from orders import selectors, services
from orders.api.filters import OrderFilter
from orders.api.serializers import (
    CancelSerializer,
    CheckoutSerializer,
    OrderSerializer,
    StatusChangeSerializer,
)
from orders.api.throttling import CheckoutThrottle, checkout_throttle_record
from orders.models import IdempotencyKey, Order

IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency_key_from(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise ValidationError({IDEMPOTENCY_HEADER: ["Use 1 to 255 printable ASCII characters."]})
    return key


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    # As checked above; a header loses leading and trailing spaces on the way in.
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
    OpenApiParameter.HEADER,
    description="1 to 255 printable ASCII characters. Retries with the same key and body return the first response.",
)


class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    """Shoppers see and act on their own orders (another user's is a 404); staff see all."""

    serializer_class = OrderSerializer
    lookup_field = "number"
    lookup_value_regex = r"[A-Za-z0-9-]{1,40}"
    filterset_class = OrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Order.objects.none()
        return selectors.order_list(user=self.request.user)

    def get_throttles(self):
        if self.action == "create":
            return [CheckoutThrottle()]
        return super().get_throttles()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.action == "create":  # counted by outcome, error answers included
            checkout_throttle_record(request, response)
        return response

    def _order_data(self, order: Order) -> dict:
        return OrderSerializer(
            self.get_queryset().get(pk=order.pk), context=self.get_serializer_context()
        ).data

    @extend_schema(
        request=CheckoutSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: OrderSerializer,
            400: OpenApiResponse(description="Invalid input, or cart_empty."),
            409: OpenApiResponse(
                description="insufficient_stock, product_unavailable, or key still in flight."
            ),
            422: OpenApiResponse(description="Idempotency-Key reused with another body."),
        },
    )
    def create(self, request: Request) -> Response:
        """Check out the chosen cart lines (all when `items` is absent)."""
        data = CheckoutSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = idempotency_key_from(request)
        if key is None:
            order = services.order_place(user=request.user, **data.validated_data)
            return Response(self._order_data(order), status=status.HTTP_201_CREATED)

        record = services.idempotency_claim(
            user=request.user,
            key=key,
            request_hash=services.request_fingerprint(method="POST", path=request.path, body=request.data),
        )
        if record.state == IdempotencyKey.State.COMPLETED:
            return self._replay(record.response_body, record.response_status)
        if record.order_id is not None:  # the first request placed the order, then died
            body = self._order_data(record.order)
            services.idempotency_complete(record=record, status=status.HTTP_201_CREATED, body=body)
            return self._replay(body, status.HTTP_201_CREATED)
        try:
            order = services.order_place(user=request.user, idempotency_key=record, **data.validated_data)
            body = self._order_data(order)
        except BaseException:
            services.idempotency_release(record=record)
            raise
        services.idempotency_complete(record=record, status=status.HTTP_201_CREATED, body=body)
        return Response(body, status=status.HTTP_201_CREATED)

    @staticmethod
    def _replay(body, status_code: int) -> Response:
        return Response(body, status=status_code, headers={"Idempotent-Replayed": "true"})

    @extend_schema(request=CancelSerializer, responses={200: OrderSerializer, 409: OpenApiResponse()})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, number: str | None = None) -> Response:
        """Cancel a pending order (owner or staff); its stock goes back on the shelf."""
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_cancel(
            order=self.get_object(), actor=services.Actor.of(request.user), **data.validated_data
        )
        return Response(self._order_data(order))

    @extend_schema(request=StatusChangeSerializer, responses={200: OrderSerializer, 409: OpenApiResponse()})
    @action(
        detail=True, methods=["post"], url_path="status", permission_classes=[IsAuthenticated, IsAdminUser]
    )
    def set_status(self, request: Request, number: str | None = None) -> Response:
        """Staff: move an order through the kitchen flow."""
        data = StatusChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_set_status(
            order=self.get_object(),
            to_status=data.validated_data["status"],
            actor=services.Actor.of(request.user),
            note=data.validated_data["note"],
        )
        return Response(self._order_data(order))
