"""Midtrans through its official client, `midtransclient` (Snap for tokens, Core API for
status, cancel, refund, and approve/deny of challenged card payments).

midtransclient calls `requests` with no timeout, so each client gets an HTTP client whose
`requests.Session` adds connect and read timeouts from settings. Base URLs come from
settings when set (tests, proxies). Every failure (Midtrans's error answers,
midtransclient's JSONDecodeError, `requests` exceptions) becomes one GatewayError whose
message never carries the server key: the original exception is dropped (`from None`)
because the `requests` objects it holds carry the Authorization header.
"""

import math
import re
from datetime import datetime, timedelta
from typing import Any

import midtransclient
import requests
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from midtransclient.http_client import HttpClient

from config import metrics
from config.money import percent
from orders.charge_names import charge_name
from orders.models import Order
from payments.gateways.base import GatewayError, OpenedPayment, signature_matches

NAME_LIMIT = 50  # Midtrans's limit on item_details[].name and .id
ERROR_LIMIT = 300


class TimeoutSession(requests.Session):
    """A session that gives every request a (connect, read) timeout unless one is passed."""

    def __init__(self, *, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        with metrics.gateway_call(gateway="midtrans", operation=gateway_operation(url)):
            response = super().request(method, url, **kwargs)
            if response.status_code >= 500:
                metrics.GATEWAY_ERRORS.labels(gateway="midtrans", operation=gateway_operation(url)).inc()
            return response


def gateway_operation(url: str) -> str:
    """`snap` (a token), or the status API's verb: `status`, `cancel`, `refund` …"""
    path = url.split("?", 1)[0].rstrip("/")
    if "/snap/" in path:
        return "snap"
    last = path.rsplit("/", 1)[-1]
    return last if last.isalpha() and len(last) <= 20 else "other"


def snap_parameters(*, order: Order, gateway_order_id: str, start: datetime, minutes: int) -> dict[str, Any]:
    """Snap's create-transaction body: integer `gross_amount` equal to the sum of the items
    (a bundle is one item at the bundle's price; the discount and each charge one item),
    names cut to Midtrans's 50 characters."""
    items = [
        {
            "id": line.sku[:NAME_LIMIT],
            "price": line.unit_price,
            "quantity": line.quantity,
            "name": line.product_name[:NAME_LIMIT],
        }
        for line in order.lines.all()
    ]
    # The order's own totals (orders/totals.py) explain every rupiah between the lines and
    # the total: the discount as a negative item, then service, tax, packaging and rounding,
    # so the items add up to gross_amount as Midtrans requires. Tax inside the prices adds
    # nothing and is no item.
    # Their names are in the order's language: Snap shows them to the shopper.
    with translation.override(order.language or None):
        if order.discount:
            items.append({"id": "DISCOUNT", "price": -order.discount, "quantity": 1, "name": _("Discount")})
        items.extend(
            {
                "id": charge["code"].upper(),
                "price": charge["amount"],
                "quantity": 1,
                "name": _charge_name(charge),
            }
            for charge in order.charges
            if charge["amount"]
        )
    customer = {
        "first_name": (order.customer_name or order.customer_email)[:255],
        "email": order.customer_email,
    }
    phone = re.sub(r"[^0-9+]", "", order.customer_phone)[:19]
    if phone:
        customer["phone"] = phone
    parameters = {
        "transaction_details": {"order_id": gateway_order_id, "gross_amount": order.total},
        "item_details": items,
        "customer_details": customer,
        "expiry": {
            "start_time": timezone.localtime(start).strftime("%Y-%m-%d %H:%M:%S %z"),
            "unit": "minute",
            "duration": minutes,
        },
        "callbacks": {"finish": f"{settings.PUBLIC_BASE_URL}/payments/finish/"},
    }
    enabled = [code.strip() for code in settings.MIDTRANS_ENABLED_PAYMENTS if code.strip()]
    if enabled:  # else Snap offers every channel the dashboard enables
        parameters["enabled_payments"] = enabled
    return parameters


def _charge_name(charge: dict) -> str:
    """`PB1 10%`, `Service charge 5%`, `Packaging`, `Rounding` (in the active language)."""
    rate = charge.get("rate_bp")
    if not rate:
        return charge_name(charge)[:NAME_LIMIT]
    return f"{charge_name(charge)} {percent(rate)}"[:NAME_LIMIT]


def payment_window(*, now: datetime, until: datetime) -> tuple[datetime, int]:
    """Whole minutes from `now` (to the second) that end no later than `until`: the gateway's
    window never outlives the order's."""
    start = now.replace(microsecond=0)
    return start, max(1, math.floor((until - start).total_seconds() / 60))


class MidtransGateway:
    name = "midtrans"

    @sensitive_variables("server_key")
    def __init__(
        self,
        *,
        server_key: str,
        is_production: bool,
        snap_base_url: str = "",
        api_base_url: str = "",
        timeout: tuple[float, float],
    ) -> None:
        self._server_key = server_key
        self.is_production = is_production
        http = HttpClient()
        http.http_client = TimeoutSession(timeout=timeout)
        self._snap = midtransclient.Snap(is_production=is_production, server_key=server_key)
        self._core = midtransclient.CoreApi(is_production=is_production, server_key=server_key)
        self._snap.http_client = self._core.http_client = http
        # Instance attributes shadow midtransclient's class-level defaults for this client only.
        if snap_base_url:
            self._snap.api_config.SNAP_SANDBOX_BASE_URL = snap_base_url
            self._snap.api_config.SNAP_PRODUCTION_BASE_URL = snap_base_url
        if api_base_url:
            self._core.api_config.CORE_SANDBOX_BASE_URL = api_base_url
            self._core.api_config.CORE_PRODUCTION_BASE_URL = api_base_url

    @classmethod
    def from_settings(cls) -> "MidtransGateway":
        return cls(
            server_key=settings.MIDTRANS_SERVER_KEY,
            is_production=settings.MIDTRANS_IS_PRODUCTION,
            snap_base_url=settings.MIDTRANS_SNAP_BASE_URL,
            api_base_url=settings.MIDTRANS_API_BASE_URL,
            timeout=(settings.MIDTRANS_TIMEOUT_CONNECT, settings.MIDTRANS_TIMEOUT_READ),
        )

    def __repr__(self) -> str:
        # midtransclient's own ApiConfig repr prints the server key; this one never does.
        return f"<MidtransGateway production={self.is_production}>"

    # --- the protocol -------------------------------------------------------------------

    def create_payment(self, *, order: Order, gateway_order_id: str, expires_at: datetime) -> OpenedPayment:
        start, minutes = payment_window(now=timezone.now(), until=expires_at)
        parameters = snap_parameters(
            order=order, gateway_order_id=gateway_order_id, start=start, minutes=minutes
        )
        answer = _call(self._snap.create_transaction, parameters)
        token, redirect_url = answer.get("token"), answer.get("redirect_url")
        if not isinstance(token, str) or not token or not isinstance(redirect_url, str):
            raise GatewayError("Midtrans Snap answered without a token.")
        return OpenedPayment(
            token=token, redirect_url=redirect_url, expires_at=start + timedelta(minutes=minutes)
        )

    def get_status(self, *, gateway_order_id: str) -> dict[str, Any]:
        return _call(self._core.transactions.status, gateway_order_id)

    def cancel(self, *, gateway_order_id: str) -> dict[str, Any]:
        return _call(self._core.transactions.cancel, gateway_order_id)

    def approve(self, *, gateway_order_id: str) -> dict[str, Any]:
        return _call(self._core.transactions.approve, gateway_order_id)

    def deny(self, *, gateway_order_id: str) -> dict[str, Any]:
        return _call(self._core.transactions.deny, gateway_order_id)

    def refund(self, *, gateway_order_id: str, amount: int, refund_key: str, reason: str) -> dict[str, Any]:
        parameters = {"refund_key": refund_key, "amount": amount, "reason": reason[:255]}
        return _call(self._core.transactions.refund, gateway_order_id, parameters)

    def signature_valid(self, payload: dict[str, Any]) -> bool:
        return signature_matches(payload, server_key=self._server_key)


def _call(method, *args) -> dict[str, Any]:
    try:
        answer = method(*args)
    except midtransclient.MidtransAPIError as exc:
        raise _api_error(exc) from None
    except midtransclient.JSONDecodeError:
        raise GatewayError("Midtrans answered with something that is not JSON.", reachable=False) from None
    except requests.Timeout:
        raise GatewayError("Midtrans did not answer in time.", reachable=False) from None
    except requests.RequestException as exc:
        raise GatewayError(
            f"Midtrans could not be reached ({type(exc).__name__}).", reachable=False
        ) from None
    if not isinstance(answer, dict):
        raise GatewayError("Midtrans answered with something that is not a JSON object.")
    return answer


def _api_error(exc: midtransclient.MidtransAPIError) -> GatewayError:
    body = exc.api_response_dict if isinstance(exc.api_response_dict, dict) else {}
    messages = body.get("error_messages") or [body.get("status_message")]
    text = "; ".join(str(m) for m in messages if m) if isinstance(messages, list) else str(messages)
    try:
        status_code = int(body.get("status_code") or exc.http_status_code)
    except (TypeError, ValueError):
        status_code = exc.http_status_code
    message = f"Midtrans refused the request ({status_code}): {text or 'no reason given'}"
    return GatewayError(message[:ERROR_LIMIT], status_code=status_code)
