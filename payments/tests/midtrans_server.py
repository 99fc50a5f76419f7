"""A fake Midtrans on 127.0.0.1 that speaks its HTTP protocol, for tests through the real
`midtransclient`: Snap `POST /snap/v1/transactions`, Core API `GET /v2/{id}/status`,
`POST /v2/{id}/cancel`, `POST /v2/{id}/refund`, `POST /v2/{id}/approve` and
`POST /v2/{id}/deny` (the last four refuse what Midtrans's references say it refuses). Answers are built from Midtrans's
published samples in `../shared/midtrans/api_responses/`.

`transactions` is Midtrans's side of the world: the status answer per order id, which
tests set (`set_status`, `chargeback`, `reverse`) to what Midtrans would know; a status
answer need not be what a notification said. `failures` makes an endpoint fail:
"timeout" (answers after the client gave up), "drop" (closes the connection), "html" (a
proxy's error page), or an (HTTP status, sample name) pair.

The status API behaves as documented rather than echoing:
- `/v2/{id}/status` takes the order id or the transaction id; a transaction keeps its
  transaction id for life.
- BI-SNAP channels (DANA; the Danamon, BSI, SeaBank and Saqu virtual accounts) answer only
  by transaction id, 404 by order id, with the transaction id in `order_id` (Midtrans's Get
  Status API reference: "If you're using BI SNAP and DANA payment methods, please only use
  Transaction ID to get status"; midtrans-php issues #113 and #121; SNAP-Woocommerce PR #85).
- Fee imposition (`fee=`): `gross_amount` includes the shopper's fee; the notification
  carries `metadata.extra_info.gross_amount_info` (midtrans-php #118). Whether the status
  answer carries that block is not documented; this server leaves it out, the harder case.
- Chargebacks and reversals follow the "Transaction Status Cycle" page: settlement ->
  chargeback | partial_chargeback | deny (a reversal, Permata VA, Mandiri Bill, Indomaret).
"""

import base64
import copy
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from django.conf import settings

SHARED = Path(settings.BASE_DIR).parent / "shared" / "midtrans"

# Which published status answer each transaction status is shaped like.
STATUS_SAMPLES = {
    "capture": "status_200_card_capture_current",
    "settlement": "status_200_card_settlement_doc",
    "pending": "status_201_ovo_pending",
    "deny": "php_test_deny",
    "cancel": "php_test_cancel",
    "expire": "php_test_expire_407",
    "failure": "php_test_deny",
    "refund": "php_test_refund",
    "partial_refund": "status_partial_refund_doc",
    "chargeback": "status_200_card_settlement_doc",
    "partial_chargeback": "status_200_card_settlement_doc",
    "authorize": "status_200_card_capture_current",
}
BISNAP_PAYMENT_TYPES = ("dana",)
BISNAP_VA_BANKS = ("danamon", "bsi", "seabank", "saqu")
# Midtrans's Refund Transaction reference: refunds only from settlement ("If transaction's
# status is still Pending Authorize or Capture please use Cancel API instead"), and only
# for "credit_card, gopay, shopeepay, dana, ovo, QRIS, kredivo and akulaku".
REFUNDABLE = ("settlement", "partial_refund")
REFUNDABLE_TYPES = ("credit_card", "gopay", "shopeepay", "dana", "ovo", "qris", "kredivo", "akulaku")
# Cancel Transaction reference: a transaction not yet paid, or a card captured but not
# settled (a void), can be cancelled.
CANCELLABLE = ("pending", "capture")
STATUS_CODES = {"pending": "201", "deny": "202", "cancel": "202", "failure": "202", "expire": "407"}


def api_sample(name: str) -> dict[str, Any]:
    return json.loads((SHARED / "api_responses" / f"{name}.json").read_text())


def notification_sample(name: str) -> dict[str, Any]:
    return json.loads((SHARED / "notifications" / f"{name}.json").read_text())


@dataclass
class Seen:
    method: str
    path: str
    body: Any
    server_key: str | None


@dataclass
class FakeMidtrans:
    server_key: str
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "snap" | "status" | "cancel" | "refund" | "approve" | "deny"
    failures: dict[str, object] = field(default_factory=dict)
    refund_answer: dict[str, Any] | None = None  # a canned refund answer (e.g. rejected by the bank)
    seen: list[Seen] = field(default_factory=list)
    snap_orders: set[str] = field(default_factory=set)
    refund_keys: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    moving: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    base_url: str = ""

    # --- what Midtrans knows ------------------------------------------------------------

    def set_status(
        self,
        order_id: str,
        transaction_status: str,
        *,
        gross_amount: str,
        fraud_status: str | None = "accept",
        payment_type: str = "bank_transfer",
        transaction_id: str | None = None,
        fee: int = 0,
        **extra: Any,
    ) -> dict[str, Any]:
        """Midtrans now knows `order_id` as this. Its transaction id is kept from before
        (or `transaction_id`, or a new one); with `fee` the shopper paid `gross_amount` plus
        that fee (fee imposition)."""
        answer = api_sample(STATUS_SAMPLES[transaction_status])
        with self.lock:
            known = self.transactions.get(order_id) or {}
        if fee:
            gross_amount = f"{int(float(gross_amount)) + fee}.00"
        answer.update(
            order_id=order_id,
            transaction_status=transaction_status,
            gross_amount=gross_amount,
            payment_type=payment_type,
            status_code=STATUS_CODES.get(transaction_status, "200"),
            transaction_id=transaction_id or known.get("transaction_id") or str(uuid.uuid4()),
        )
        for name in ("va_numbers", "permata_va_number", "bill_key", "refund_amount", "refunds"):
            answer.pop(name, None)
            if name in known and name not in extra:
                answer[name] = known[name]
        answer.pop("fraud_status", None)
        if fraud_status is not None:
            answer["fraud_status"] = fraud_status
        answer.update(extra)
        with self.lock:
            self.transactions[order_id] = answer
        return answer

    def chargeback(self, order_id: str, *, amount: int | None = None) -> dict[str, Any]:
        """The card holder's bank takes a settled payment back, in full or `amount` of it."""
        current = self.status_of(order_id)
        extra = {} if amount is None else {"chargeback_amount": f"{amount}.00"}
        return self.set_status(
            order_id,
            "chargeback" if amount is None else "partial_chargeback",
            gross_amount=current["gross_amount"],
            payment_type=current["payment_type"],
            fraud_status=current.get("fraud_status"),
            **extra,
        )

    def reverse(self, order_id: str) -> dict[str, Any]:
        """A reversal: settlement -> deny (Permata VA, Mandiri Bill, Indomaret)."""
        current = self.status_of(order_id)
        return self.set_status(
            order_id, "deny", gross_amount=current["gross_amount"], payment_type=current["payment_type"]
        )

    def status_of(self, order_id: str) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self.transactions.get(order_id))

    def status_answer(self, key: str) -> dict[str, Any] | None:
        """What `GET /v2/{key}/status` answers (None: 404), by order id or transaction id."""
        with self.lock:
            by_order = self.transactions.get(key)
            by_id = next((t for t in self.transactions.values() if t.get("transaction_id") == key), None)
            if by_order is not None and not _bisnap(by_order):
                return copy.deepcopy(by_order)
            if by_id is None:
                return None
            answer = copy.deepcopy(by_id)
        if _bisnap(answer):
            answer["order_id"] = answer["transaction_id"]
        return answer

    def requests_to(self, path_part: str) -> list[Seen]:
        with self.lock:
            return [seen for seen in self.seen if path_part in seen.path]

    # --- the HTTP side ------------------------------------------------------------------

    def handle(self, handler: "Handler", method: str) -> None:
        path = handler.path.split("?")[0]
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        server_key = _basic_auth_user(handler.headers.get("Authorization"))
        with self.lock:
            self.seen.append(Seen(method, path, body, server_key))
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/snap/v1/transactions":
            endpoint = "snap"
        elif (
            len(parts) == 3
            and parts[0] == "v2"
            and (method, parts[2])
            in {
                ("GET", "status"),
                ("POST", "cancel"),
                ("POST", "refund"),
                ("POST", "approve"),
                ("POST", "deny"),
            }
        ):
            endpoint = parts[2]
        else:
            return handler.answer(404, {"status_code": "404", "status_message": "Not found"})
        failure = self.failures.get(endpoint)
        if failure == "timeout":
            self.release.wait(5)  # longer than the client's read timeout
            return handler.answer(500, {"status_message": "too late"})
        if failure == "drop":
            handler.close_connection = True
            return None
        if failure == "html":
            return handler.answer_raw(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if isinstance(failure, tuple):
            status, sample = failure
            return handler.answer(status, api_sample(sample))
        if server_key != self.server_key:
            sample = "snap_401_bad_server_key" if endpoint == "snap" else "status_401_core_api"
            return handler.answer(401, api_sample(sample))
        if endpoint == "snap":
            return self._snap(handler, body)
        return getattr(self, f"_{endpoint}")(handler, parts[1], body)

    def _snap(self, handler: "Handler", body: dict[str, Any]) -> None:
        details = body.get("transaction_details") or {}
        items = body.get("item_details") or []
        order_id = details.get("order_id")
        if not order_id or "gross_amount" not in details:
            return handler.answer(400, api_sample("snap_400_missing_gross_amount"))
        # "The sum of price x quantity of all item_details must equal gross_amount" (item
        # details object, https://docs.midtrans.com/reference/item-details-object); Snap
        # answers a request that breaks it with this 400. item_details themselves are optional.
        if items and details["gross_amount"] != sum(item["price"] * item["quantity"] for item in items):
            return handler.answer(400, api_sample("snap_400_gross_amount_ne_items_body"))
        with self.lock:
            taken = order_id in self.snap_orders
            self.snap_orders.add(order_id)
        if taken:
            return handler.answer(400, api_sample("snap_400_duplicate_order_id_en"))
        answer = api_sample("snap_201_token")
        token = str(uuid.uuid4())
        answer.update(token=token, redirect_url=f"{self.base_url}/snap/v2/vtweb/{token}")
        return handler.answer(201, answer)

    def _status(self, handler: "Handler", order_id: str, body: object) -> None:
        answer = self.status_answer(order_id)
        if answer is None:
            return handler.answer(404, api_sample("status_404_current"))
        return handler.answer(200, answer)

    def _cancel(self, handler: "Handler", order_id: str, body: object) -> None:
        with self.moving:
            return self._cancelled(handler, order_id)

    def _cancelled(self, handler: "Handler", order_id: str) -> None:
        current = self.status_of(order_id)
        if current is None:
            return handler.answer(404, api_sample("status_404_current"))
        if current["transaction_status"] not in CANCELLABLE:
            return handler.answer(412, api_sample("cancel_412_error"))
        answer = self._move(current, "cancel")
        return handler.answer(
            200, {**answer, "status_code": "200", "status_message": "Success, transaction is canceled"}
        )

    def _approve(self, handler: "Handler", order_id: str, body: object) -> None:
        return self._decide(handler, order_id, "capture", "accept", "Success, transaction is approved")

    def _deny(self, handler: "Handler", order_id: str, body: object) -> None:
        return self._decide(handler, order_id, "deny", "deny", "Success, transaction is denied")

    def _decide(
        self, handler: "Handler", order_id: str, to_status: str, fraud_status: str, message: str
    ) -> None:
        """Approve/Deny Transaction references: only a card capture that fraud detection
        challenged can be approved or denied; anything else is 412."""
        with self.moving:
            return self._decided(handler, order_id, to_status, fraud_status, message)

    def _decided(
        self, handler: "Handler", order_id: str, to_status: str, fraud_status: str, message: str
    ) -> None:
        current = self.status_of(order_id)
        if current is None:
            return handler.answer(404, api_sample("status_404_current"))
        if (current["transaction_status"], current.get("fraud_status")) != ("capture", "challenge"):
            return handler.answer(412, api_sample("cancel_412_error"))
        answer = self._move(current, to_status, fraud_status=fraud_status)
        return handler.answer(200, {**answer, "status_code": "200", "status_message": message})

    def _move(self, current: dict[str, Any], to_status: str, **extra: Any) -> dict[str, Any]:
        """The transaction moves to `to_status`, keeping what identifies it."""
        kept = {
            name: current[name]
            for name in ("transaction_id", "fraud_status", "refund_amount")
            if current.get(name) is not None
        }
        return self.set_status(
            current["order_id"],
            to_status,
            gross_amount=current["gross_amount"],
            payment_type=current["payment_type"],
            **{**kept, **extra},
        )

    def _refund(self, handler: "Handler", order_id: str, body: dict[str, Any]) -> None:
        if self.refund_answer is not None:
            return handler.answer(200, {**self.refund_answer, "order_id": order_id})
        with self.moving:  # one change of a transaction at a time, as on Midtrans's side
            status, answer = self._refunded(order_id, body)
        return handler.answer(status, answer)

    def _refunded(self, order_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("refund_key") in self.refund_keys:
            return 406, api_sample("refund_406_duplicate_refund_key")
        current = self.status_of(order_id)
        if current is None:
            return 404, api_sample("status_404_current")
        if current["transaction_status"] not in REFUNDABLE or current["payment_type"] not in REFUNDABLE_TYPES:
            return 412, api_sample("cancel_412_error")
        gross = int(float(current["gross_amount"]))
        already = int(float(current.get("refund_amount") or 0))
        if not 0 < body["amount"] <= gross - already:
            return 414, api_sample("refund_414_invalid_amount")
        self.refund_keys.add(body["refund_key"])
        refunded = already + body["amount"]
        status = "refund" if refunded == gross else "partial_refund"
        self._move(current, status, refund_amount=f"{refunded}.00")
        answer = api_sample("php_test_refund" if status == "refund" else "refund_200_partial")
        answer.update(
            order_id=order_id,
            transaction_id=current["transaction_id"],
            gross_amount=current["gross_amount"],
            payment_type=current["payment_type"],
            transaction_status=status,
            refund_amount=f"{body['amount']}.00",
            refund_key=body["refund_key"],
        )
        return 200, answer


def _bisnap(answer: dict[str, Any]) -> bool:
    banks = [str(va.get("bank", "")).lower() for va in answer.get("va_numbers") or [] if isinstance(va, dict)]
    return answer.get("payment_type") in BISNAP_PAYMENT_TYPES or any(b in BISNAP_VA_BANKS for b in banks)


def _basic_auth_user(header: str | None) -> str | None:
    if not header or not header.startswith("Basic "):
        return None
    user, _, _ = base64.b64decode(header[6:]).decode().partition(":")
    return user


class Handler(BaseHTTPRequestHandler):
    fake: FakeMidtrans

    def do_GET(self) -> None:
        self.server.fake.handle(self, "GET")

    def do_POST(self) -> None:
        self.server.fake.handle(self, "POST")

    def answer(self, status: int, body: dict[str, Any]) -> None:
        self.answer_raw(status, json.dumps(body).encode(), "application/json")

    def answer_raw(self, status: int, raw: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class FakeMidtransServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeMidtrans) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.fake = fake
        fake.base_url = f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.fake.release.set()
        self.shutdown()
        self.server_close()
