"""The gateway's webhook and the mock gateway's JSON endpoint: no login (the gateway's
signature, or the mock token, is the credential), no CSRF, JSON in and out."""

import logging

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.error_schema import domain_errors
from payments.api.serializers import MockActionSerializer, NotificationAnswerSerializer
from payments.api.throttling import COUNTED_STATUSES, WebhookRejectedThrottle
from payments.exceptions import MockTransactionClosed
from payments.gateways.answers import AMOUNT_PATTERN, NOTIFICATION_FIELDS
from payments.gateways.mock import mock_transaction_get
from payments.services.webhook import notification_handle, payment_mock_complete

logger = logging.getLogger(__name__)


def body_read_limited(request: HttpRequest, *, limit: int) -> bytes | None:
    """The request body, or None when it is longer than `limit` bytes. A declared
    Content-Length over the limit is refused unread; without one (chunked), or with one
    that understates, at most limit + 1 bytes are read."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request._body if hasattr(request, "_body") else request.read(limit + 1)
    return None if len(body) > limit else body


def _text(description: str, **extra) -> dict:
    return {"type": "string", "minLength": 1, "description": description, **extra}


# What the handler requires of a notification (payments.gateways.answers.NOTIFICATION_FIELDS and
# AMOUNT_PATTERN): five non-empty strings, the amount as Midtrans writes it. Anything else
# Midtrans sends is kept as received.
NOTIFICATION_SCHEMA = {
    "type": "object",
    "properties": {
        "order_id": _text("The attempt's gateway order id, {order number}-{attempt}."),
        "status_code": _text("Midtrans's status code, as a string: 200, 201, 202, 407 ..."),
        "gross_amount": _text("The amount, e.g. 25000.00.", pattern=AMOUNT_PATTERN.pattern.join("^$")),
        "signature_key": _text("SHA-512 of order_id + status_code + gross_amount + the server key."),
        "transaction_status": _text("settlement, capture, pending, deny, cancel, expire, refund ..."),
    },
    "required": list(NOTIFICATION_FIELDS),
    "additionalProperties": True,
}


class MidtransNotificationView(APIView):
    """Midtrans's HTTP notification. Answered with the handler's status: 200 when taken
    (also for repeats), 400 malformed, 403 bad signature, 404 unknown order_id, 413 a body
    over WEBHOOK_MAX_BODY_BYTES (not stored), 429 when this address has sent too many
    refused ones, 503 when the status could not be confirmed or the handler failed
    (Midtrans retries on anything but 2xx)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []  # the raw body is what is signed and stored
    throttle_classes = [WebhookRejectedThrottle]

    @extend_schema(
        request={"application/json": NOTIFICATION_SCHEMA},
        responses={
            200: NotificationAnswerSerializer,
            400: OpenApiResponse(NotificationAnswerSerializer, description="Malformed notification."),
            403: OpenApiResponse(NotificationAnswerSerializer, description="Invalid signature."),
            404: OpenApiResponse(NotificationAnswerSerializer, description="Unknown order_id."),
            413: OpenApiResponse(
                NotificationAnswerSerializer, description="Body over WEBHOOK_MAX_BODY_BYTES; not stored."
            ),
            503: OpenApiResponse(
                NotificationAnswerSerializer,
                description="Status not confirmed, or the handler failed; retry.",
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        # The site-wide DATA_UPLOAD_MAX_MEMORY_SIZE still holds if it is the smaller.
        limit = min(settings.WEBHOOK_MAX_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or float("inf"))
        raw_body = body_read_limited(request._request, limit=int(limit))
        if raw_body is None:
            logger.warning("Webhook body over %s bytes refused", limit)
            status_code = 413
            answer = {
                "status": "rejected",
                "detail": f"The body is larger than {limit} bytes.",
                "code": "request_too_large",
            }
        else:
            status_code, answer = notification_handle(raw_body=raw_body)
        if status_code in COUNTED_STATUSES:
            WebhookRejectedThrottle().record(request)
        return Response(answer, status=status_code)


class MockPaymentView(APIView):
    """The mock gateway's payment page as JSON: pay, deny, cancel or let expire the mock
    transaction behind `token`; a signed notification then goes through the webhook."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=MockActionSerializer,
        responses={
            200: NotificationAnswerSerializer,
            404: OpenApiResponse(description="Unknown token, or the mock gateway is not in use."),
            **domain_errors(MockTransactionClosed),
        },
        auth=[],
    )
    def post(self, request: Request, token: str) -> Response:
        tx = mock_transaction_get(token=token)  # an unknown token is a 404 whatever the body
        data = MockActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        status_code, answer = payment_mock_complete(token=token, **data.validated_data)
        tx.refresh_from_db()
        return Response(
            {"order_id": tx.gateway_order_id, "transaction_status": tx.transaction_status, **answer},
            status=status_code,
        )
