"""A fake Midtrans on 127.0.0.1 that speaks its HTTP protocol, for tests through the real
`midtransclient`: Snap `POST /snap/v1/transactions`, Core API `GET /v2/{id}/status`,
`POST /v2/{id}/cancel` and `POST /v2/{id}/refund`. Answers are built from Midtrans's
published samples in `../shared/midtrans/api_responses/`.

`transactions` is Midtrans's side of the world: the status answer per order id, which
tests set (`set_status`) to what Midtrans would know. `failures` makes an endpoint fail:
"timeout" (answers after the client gave up), "drop" (closes the connection), "html" (a
proxy's error page), or an (HTTP status, sample name) pair.
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
}
REFUNDABLE = ("settlement", "capture", "partial_refund")
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
    failures: dict[str, object] = field(default_factory=dict)  # "snap" | "status" | "cancel" | "refund"
    refund_answer: dict[str, Any] | None = None  # a canned refund answer (e.g. rejected by the bank)
    seen: list[Seen] = field(default_factory=list)
    snap_orders: set[str] = field(default_factory=set)
    refund_keys: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
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
        **extra: Any,
    ) -> dict[str, Any]:
        answer = api_sample(STATUS_SAMPLES[transaction_status])
        answer.update(
            order_id=order_id,
            transaction_status=transaction_status,
            gross_amount=gross_amount,
            payment_type=payment_type,
            status_code=STATUS_CODES.get(transaction_status, "200"),
            transaction_id=answer.get("transaction_id") or str(uuid.uuid4()),
        )
        answer.pop("fraud_status", None)
        if fraud_status is not None:
            answer["fraud_status"] = fraud_status
        answer.update(extra)
        with self.lock:
            self.transactions[order_id] = answer
        return answer

    def status_of(self, order_id: str) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self.transactions.get(order_id))

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
        answer = self.status_of(order_id)
        if answer is None:
            return handler.answer(404, api_sample("status_404_current"))
        return handler.answer(200, answer)

    def _cancel(self, handler: "Handler", order_id: str, body: object) -> None:
        current = self.status_of(order_id)
        if current is None or current["transaction_status"] not in ("pending", "capture"):
            return handler.answer(412, api_sample("cancel_412_error"))
        answer = self.set_status(order_id, "cancel", gross_amount=current["gross_amount"])
        return handler.answer(
            200, {**answer, "status_code": "200", "status_message": "Success, transaction is canceled"}
        )

    def _refund(self, handler: "Handler", order_id: str, body: dict[str, Any]) -> None:
        if self.refund_answer is not None:
            return handler.answer(200, {**self.refund_answer, "order_id": order_id})
        with self.lock:
            repeated = body.get("refund_key") in self.refund_keys
            self.refund_keys.add(body.get("refund_key"))
        if repeated:
            return handler.answer(406, api_sample("refund_406_duplicate_refund_key"))
        current = self.status_of(order_id)
        if current is None or current["transaction_status"] not in REFUNDABLE:
            return handler.answer(412, api_sample("cancel_412_error"))
        gross = int(float(current["gross_amount"]))
        already = int(float(current.get("refund_amount") or 0))
        if not 0 < body["amount"] <= gross - already:
            return handler.answer(414, api_sample("refund_414_invalid_amount"))
        refunded = already + body["amount"]
        status = "refund" if refunded == gross else "partial_refund"
        self.set_status(
            order_id,
            status,
            gross_amount=current["gross_amount"],
            payment_type=current["payment_type"],
            refund_amount=f"{refunded}.00",
        )
        answer = api_sample("php_test_refund" if status == "refund" else "refund_200_partial")
        answer.update(
            order_id=order_id,
            gross_amount=current["gross_amount"],
            payment_type=current["payment_type"],
            transaction_status=status,
            refund_amount=f"{body['amount']}.00",
            refund_key=body["refund_key"],
        )
        return handler.answer(200, answer)


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
