from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.exceptions import EmailNotVerified
from catalog.exceptions import InsufficientStock, ProductUnavailable
from config.api.error_schema import domain_errors
from orders import idempotency, permissions, selectors, services
from orders.api.checkout import checkout, order_body
from orders.api.filters import OrderFilter
from orders.api.order_json import order_data
from orders.api.serializers import (
    CancelSerializer,
    CheckoutSerializer,
    OrderSerializer,
    RefundSerializer,
    RejectSerializer,
    StatusChangeSerializer,
)
from orders.api.throttling import CheckoutThrottle, checkout_throttle_record
from orders.exceptions import (
    CartEmpty,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidTransition,
    KitchenFull,
    ShopClosed,
    ShopPaused,
    SlotFull,
    SlotUnavailable,
    TooManyUnpaidOrders,
)
from orders.models import Order, OrderStatus
from payments.exceptions import (
    PaymentGatewayError,
    PaymentNotAllowed,
    PaymentOpening,
    RefundNotAllowed,
    RefundNotSupported,
)
from payments.services.opening import payment_open
from payments.services.refunds import order_refund, order_refund_by_status, order_reject

IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency_key_from(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise ValidationError({IDEMPOTENCY_HEADER: [_("Use 1 to 255 printable ASCII characters.")]})
    return key


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    # As checked above; a header loses leading and trailing spaces on the way in.
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
    OpenApiParameter.HEADER,
    description="1 to 255 printable ASCII characters. Retries with the same key and body return the first response.",
)


IDEMPOTENT_REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    {"type": "string", "enum": ["true"]},
    OpenApiParameter.HEADER,
    response=[201],
    description="`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
)


REFUND_IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY_PARAMETER.type,
    OpenApiParameter.HEADER,
    description=IDEMPOTENCY_KEY_PARAMETER.description
    + " Send one with every refund: a retry after a lost answer (timeout, 5xx) with the same "
    "key is the same refund, at the gateway too; without a key a retry refunds again.",
)

IDEMPOTENT_REPLAYED_200 = OpenApiParameter(
    IDEMPOTENT_REPLAYED.name,
    IDEMPOTENT_REPLAYED.type,
    OpenApiParameter.HEADER,
    response=[200],
    description=IDEMPOTENT_REPLAYED.description,
)


class MayMoveOrders(BasePermission):
    """Staff holding at least one of the permissions behind the status moves; which move is
    allowed is checked against the requested status (orders.permissions)."""

    def has_permission(self, request, view) -> bool:
        return permissions.may_set_any_status(request.user)


class MayRefund(BasePermission):
    """Staff holding orders.refund_order."""

    def has_permission(self, request, view) -> bool:
        return permissions.may_set_status(request.user, OrderStatus.REFUNDED)


class MayAccept(BasePermission):
    """Staff holding orders.change_order (the kitchen flow)."""

    def has_permission(self, request, view) -> bool:
        return permissions.may_set_status(request.user, OrderStatus.PREPARING)


class MayReject(BasePermission):
    """Staff holding both orders.cancel_order and orders.refund_order: a rejection is a
    cancellation that gives the money back."""

    def has_permission(self, request, view) -> bool:
        return permissions.may_set_status(request.user, OrderStatus.CANCELLED) and permissions.may_set_status(
            request.user, OrderStatus.REFUNDED
        )


class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    """Shoppers see and act on their own orders (another user's is a 404); so does staff
    without orders.view_order, while staff holding it see all."""

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
        return order_body(order, request=self.request)

    # The reads answer with orders.api.order_json.order_data, OrderSerializer's output built
    # directly (OrderSerializer stays serializer_class: the schema and the browsable API).
    def list(self, request: Request, *args, **kwargs) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response([order_data(order, request=request) for order in queryset])
        return self.get_paginated_response([order_data(order, request=request) for order in page])

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(order_data(self.get_object(), request=request))

    @extend_schema(
        request=CheckoutSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENT_REPLAYED],
        responses={
            201: OpenApiResponse(
                OrderSerializer,
                description="The order is placed. Its payment is opened at the gateway after the "
                "order is committed; if that fails in any way (gateway down or refusing, a payment "
                "window too short), the order is still answered, with `payment: null` and "
                "`payment_error` saying why; `POST orders/{number}/pay/` tries again.",
            ),
            **domain_errors(
                CartEmpty,
                SlotUnavailable,
                InsufficientStock,
                ProductUnavailable,
                ShopClosed,
                SlotFull,
                TooManyUnpaidOrders,
                EmailNotVerified,
                KitchenFull,
                ShopPaused,
                IdempotencyKeyInFlight,
                IdempotencyKeyReused,
            ),
        },
    )
    def create(self, request: Request) -> Response:
        """Check out the chosen cart lines (all when `items` is absent)."""
        data = CheckoutSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = idempotency_key_from(request)
        result = checkout(
            user=request.user,
            selection=data.validated_data,
            idempotency_key=key,
            request_hash=idempotency.request_fingerprint(method="POST", path=request.path, body=request.data)
            if key
            else "",
        )
        headers = {"Idempotent-Replayed": "true"} if result.replayed else None
        return Response(result.body, status=result.status, headers=headers)

    @extend_schema(
        request=CancelSerializer,
        responses={
            200: OrderSerializer,
            403: OpenApiResponse(description="Staff who may see the order but lack orders.cancel_order."),
            **domain_errors(InvalidTransition),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, number: str | None = None) -> Response:
        """Cancel a pending order (owner or staff); its stock goes back on the shelf."""
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = self.get_object()
        if not permissions.may_cancel(request.user, order):
            raise PermissionDenied(_("Cancelling another customer's order needs the cancel permission."))
        order = services.order_cancel(
            order=order, actor=services.Actor.of(request.user), **data.validated_data
        )
        return Response(self._order_data(order))

    @extend_schema(
        request=None,
        responses={
            200: OrderSerializer,
            404: OpenApiResponse(description="Not your order."),
            **domain_errors(
                PaymentNotAllowed,
                PaymentOpening,
                PaymentGatewayError,
                payment_gateway_error="The gateway refused (502) or could not be reached (503): "
                "the order is as it was; try again.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def pay(self, request: Request, number: str | None = None) -> Response:
        """The order's payment: its current attempt while that is pending and open, else a
        new attempt at the gateway. Only the shopper who placed the order may pay it."""
        order = self.get_object()
        if order.user_id != request.user.pk:  # staff see every order, but pay only their own
            raise NotFound()
        payment_open(order=order)
        return Response(self._order_data(order))

    @extend_schema(
        request=StatusChangeSerializer,
        responses={
            200: OrderSerializer,
            403: OpenApiResponse(
                description="The caller lacks the permission this status needs: orders.change_order "
                "(preparing, ready, completed), orders.cancel_order, orders.refund_order."
            ),
            **domain_errors(InvalidTransition),
        },
    )
    @action(
        detail=True, methods=["post"], url_path="status", permission_classes=[IsAuthenticated, MayMoveOrders]
    )
    def set_status(self, request: Request, number: str | None = None) -> Response:
        """Staff: move an order through the kitchen flow, cancel it, or record an offline
        refund (the order becomes refunded and its invoice gets a credit note for what is not
        credited), each with its own permission."""
        data = StatusChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        to_status, note = data.validated_data["status"], data.validated_data["note"]
        if not permissions.may_set_status(request.user, to_status):
            raise PermissionDenied(
                _("Setting an order %(to_status)s needs its permission.") % {"to_status": to_status}
            )
        if to_status == OrderStatus.REFUNDED:  # an offline refund: with its credit note
            order = order_refund_by_status(
                order=self.get_object(), actor=services.Actor.of(request.user), note=note
            )
            return Response(self._order_data(order))
        order = services.order_set_status(
            order=self.get_object(), to_status=to_status, actor=services.Actor.of(request.user), note=note
        )
        return Response(self._order_data(order))

    @extend_schema(
        request=RefundSerializer,
        parameters=[REFUND_IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENT_REPLAYED_200],
        responses={
            200: OrderSerializer,
            400: OpenApiResponse(
                description="Invalid input: an amount outside 1..what is left, or an offline refund "
                "without its reference."
            ),
            403: OpenApiResponse(description="The caller lacks orders.refund_order."),
            404: OpenApiResponse(description="No such order."),
            **domain_errors(
                RefundNotSupported,
                RefundNotAllowed,
                InvalidTransition,
                PaymentGatewayError,
                IdempotencyKeyInFlight,
                IdempotencyKeyReused,
            ),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, MayRefund])
    def refund(self, request: Request, number: str | None = None) -> Response:
        """Staff: give back all (or `amount`) of what paid the order. A settled card, e-wallet
        or QRIS payment is refunded at the gateway, a captured card voided; a bank transfer,
        Mandiri Bill or convenience-store payment, which the gateway cannot refund, is
        recorded with method "offline" and the refund's reference. Every path issues the
        credit note for exactly what went back; a full refund makes the order refunded."""
        data = RefundSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = self.get_object()
        key = idempotency_key_from(request)

        def call() -> idempotency.Answered:
            order_refund(
                order=order, actor=services.Actor.of(request.user), idempotency_key=key, **data.validated_data
            )
            order.refresh_from_db()
            return idempotency.Answered(status=200, body=self._order_data(order))

        if key is None:
            answered = call()
        else:
            answered = idempotency.idempotent_call(
                user=request.user,
                key=key,
                request_hash=idempotency.request_fingerprint(
                    method="POST", path=request.path, body=request.data
                ),
                call=call,
            )
        headers = {"Idempotent-Replayed": "true"} if answered.replayed else None
        return Response(answered.body, status=answered.status, headers=headers)

    @extend_schema(
        request=None,
        responses={
            200: OrderSerializer,
            403: OpenApiResponse(description="The caller lacks orders.change_order."),
            404: OpenApiResponse(description="No such order."),
            **domain_errors(InvalidTransition),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, MayAccept])
    def accept(self, request: Request, number: str | None = None) -> Response:
        """Staff: take a paid order on: paid -> preparing (409 invalid_transition from any
        other status, nothing changed)."""
        order = services.order_set_status(
            order=self.get_object(), to_status=OrderStatus.PREPARING, actor=services.Actor.of(request.user)
        )
        return Response(self._order_data(order))

    @extend_schema(
        request=RejectSerializer,
        responses={
            200: OrderSerializer,
            400: OpenApiResponse(
                description="Invalid input: no reason, or an offline refund without its reference."
            ),
            403: OpenApiResponse(description="The caller lacks orders.cancel_order or orders.refund_order."),
            404: OpenApiResponse(description="No such order."),
            **domain_errors(InvalidTransition, RefundNotSupported, RefundNotAllowed, PaymentGatewayError),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, MayReject])
    def reject(self, request: Request, number: str | None = None) -> Response:
        """Staff: turn down a paid order the kitchen has not started, with a reason: it is
        cancelled with everything it paid given back (the order becomes refunded, with its
        credit note), through the refund endpoint's service and body, less `amount`. A type
        the gateway cannot refund is 409 refund_not_supported unless method is offline."""
        data = RejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_reject(
            order=self.get_object(), actor=services.Actor.of(request.user), **data.validated_data
        )
        return Response(self._order_data(order))
