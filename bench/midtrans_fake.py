"""A fake Midtrans on 127.0.0.1 for load runs: the app's real `midtransclient` calls it
through MIDTRANS_SNAP_BASE_URL and MIDTRANS_API_BASE_URL (Midtrans itself is never
reachable from here).

It speaks the two calls a checkout and a webhook make, shaped like Midtrans's published
answers (`../shared/midtrans/api_responses/`, with a built-in fallback of the same fields
when that folder is absent):

- `POST /snap/v1/transactions`: checks the server key (Basic auth), that `gross_amount`
  equals the sum of the items and that the order id is new; answers 201 with a token.
- `GET /v2/{order_id or transaction_id}/status`: 404 until the order is settled (Midtrans
  answers 404 for a Snap order nobody has paid yet), then the settlement, signed like a
  notification. Like Midtrans's Get Status API it answers by either id (the app asks by
  transaction id once it has stored one).

and two of its own, for the harness: `POST /_bench/settle` with
`[{order_id, gross_amount, transaction_id, payment_type}]` (only orders opened through Snap
are accepted; the answer lists the refused ones) and `GET /_bench/stats` (calls per
endpoint, the answers that were not 2xx, and the TCP connections accepted: as many
connections as calls means the app opens a new one, in production a new TLS session, for
every call).

It runs as its own process (`MidtransFake.start()`), so its CPU time is measured apart
from the harness's and the app's, and it shares no interpreter lock with either:

    fake = MidtransFake()
    fake.start()
    env = {**fake.app_env(), ...}   # PAYMENT_GATEWAY=midtrans, the key and both base URLs
    ...
    fake.settle([...]); fake.stats()
    fake.stop()
"""

import argparse
import base64
import copy
import hashlib
import json
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "midtrans" / "api_responses"

# The fields the samples carry, for a checkout without ../shared (CI images, a copy).
FALLBACK_SAMPLES: dict[str, dict[str, Any]] = {
    "snap_201_token": {"token": "", "redirect_url": ""},
    "status_200_card_settlement_doc": {
        "transaction_time": "2020-01-09 18:27:19",
        "gross_amount": "10000.00",
        "currency": "IDR",
        "order_id": "",
        "payment_type": "credit_card",
        "signature_key": "",
        "status_code": "200",
        "transaction_id": "",
        "transaction_status": "settlement",
        "fraud_status": "accept",
        "settlement_time": "2020-01-10 16:15:31",
        "status_message": "Success, transaction is found",
        "merchant_id": "M004123",
    },
    "status_404_current": {"status_code": "404", "status_message": "Transaction doesn't exist."},
    "snap_401_bad_server_key": {
        "error_messages": ["Access denied due to unauthorized transaction, please check client or server key"]
    },
    "status_401_core_api": {"status_code": "401", "status_message": "Unknown Merchant server_key/id"},
    "snap_400_duplicate_order_id_en": {
        "error_messages": ["transaction_details.order_id has already been taken"]
    },
    "snap_400_gross_amount_ne_items_body": {
        "error_messages": ["transaction_details.gross_amount is not equal to the sum of item_details"]
    },
    "snap_400_missing_gross_amount": {"error_messages": ["transaction_details.gross_amount is required"]},
}
SAMPLE_NAMES = tuple(FALLBACK_SAMPLES)


def load_samples() -> tuple[dict[str, dict[str, Any]], str]:
    """The answers the fake is built from, and where they came from."""
    if all((SAMPLES / f"{name}.json").is_file() for name in SAMPLE_NAMES):
        return (
            {name: json.loads((SAMPLES / f"{name}.json").read_text()) for name in SAMPLE_NAMES},
            str(SAMPLES),
        )
    return copy.deepcopy(FALLBACK_SAMPLES), "built-in"


def signature(*, order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """Midtrans's notification signature: hex SHA-512 over the four strings as sent."""
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def settlement_notification(
    *, order_id: str, gross_amount: int, transaction_id: str, payment_type: str, server_key: str
) -> dict[str, Any]:
    """The HTTP notification Midtrans sends when a payment settles, signed with `server_key`."""
    amount = f"{gross_amount}.00"
    moment = time.strftime("%Y-%m-%d %H:%M:%S")
    return {
        "transaction_time": moment,
        "transaction_status": "settlement",
        "transaction_id": transaction_id,
        "status_message": "midtrans payment notification",
        "status_code": "200",
        "signature_key": signature(
            order_id=order_id, status_code="200", gross_amount=amount, server_key=server_key
        ),
        "settlement_time": moment,
        "payment_type": payment_type,
        "order_id": order_id,
        "merchant_id": "G000000000",
        "gross_amount": amount,
        "fraud_status": "accept",
        "currency": "IDR",
    }


# --- the server (its own process) -------------------------------------------------------


class State:
    def __init__(self, *, server_key: str, base_url: str) -> None:
        self.server_key = server_key
        self.base_url = base_url
        self.samples, self.samples_from = load_samples()
        self.lock = threading.Lock()
        self.opened: dict[str, int] = {}  # Snap order id -> gross amount
        self.settled: dict[str, dict[str, Any]] = {}  # order id -> the status answer
        self.transactions: dict[str, str] = {}  # transaction id -> order id
        self.calls: dict[str, int] = {}
        self.refusals: dict[str, int] = {}
        self.connections = 0  # TCP connections accepted: calls / connections = reuse by the client

    def sample(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.samples[name])

    def count(self, endpoint: str, status: int) -> None:
        with self.lock:
            self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
            if status >= 300:
                key = f"{endpoint} {status}"
                self.refusals[key] = self.refusals.get(key, 0) + 1

    def snap(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        details = body.get("transaction_details") or {}
        items = body.get("item_details") or []
        order_id = details.get("order_id")
        if not order_id or "gross_amount" not in details:
            return 400, self.sample("snap_400_missing_gross_amount")
        if details["gross_amount"] != sum(item["price"] * item["quantity"] for item in items):
            return 400, self.sample("snap_400_gross_amount_ne_items_body")
        with self.lock:
            if order_id in self.opened:
                return 400, self.sample("snap_400_duplicate_order_id_en")
            self.opened[order_id] = details["gross_amount"]
        token = str(uuid.uuid4())
        answer = self.sample("snap_201_token")
        answer.update(token=token, redirect_url=f"{self.base_url}/snap/v2/vtweb/{token}")
        return 201, answer

    def status(self, order_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            answer = self.settled.get(self.transactions.get(order_id, order_id))
        if answer is None:
            return 404, self.sample("status_404_current")
        return 200, answer

    def settle(self, rows: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        refused = []
        settled = 0
        for row in rows:
            order_id = row["order_id"]
            with self.lock:
                opened = self.opened.get(order_id)
            if opened is None or opened != row["gross_amount"]:
                refused.append(order_id)
                continue
            amount = f"{row['gross_amount']}.00"
            answer = self.sample("status_200_card_settlement_doc")
            for card_only in ("masked_card", "approval_code", "bank", "eci", "card_type"):
                answer.pop(card_only, None)
            answer.pop("channel_response_code", None)
            answer.pop("channel_response_message", None)
            answer.update(
                order_id=order_id,
                gross_amount=amount,
                transaction_id=row["transaction_id"],
                payment_type=row["payment_type"],
                transaction_status="settlement",
                fraud_status="accept",
                status_code="200",
                signature_key=signature(
                    order_id=order_id, status_code="200", gross_amount=amount, server_key=self.server_key
                ),
            )
            with self.lock:
                self.settled[order_id] = answer
                self.transactions[row["transaction_id"]] = order_id
            settled += 1
        return 200, {"settled": settled, "refused": refused}

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": dict(self.calls),
                "refusals": dict(self.refusals),
                "connections": self.connections,
                "opened": len(self.opened),
                "settled": len(self.settled),
                "samples": self.samples_from,
            }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Midtrans's servers
    server: "FakeServer"

    def setup(self) -> None:
        super().setup()
        state = self.server.state
        with state.lock:
            state.connections += 1

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        user, _, _ = base64.b64decode(header[6:]).decode().partition(":")
        return secrets.compare_digest(user, self.server.state.server_key)

    def do_POST(self) -> None:
        state = self.server.state
        path = self.path.split("?")[0]
        body = self._body()
        if path == "/snap/v1/transactions":
            if not self._authorised():
                status, answer = 401, state.sample("snap_401_bad_server_key")
            else:
                status, answer = state.snap(body or {})
            state.count("snap", status)
        elif path == "/_bench/settle":
            status, answer = state.settle(body or [])
        else:
            status, answer = 404, state.sample("status_404_current")
            state.count("other", status)
        self._answer(status, answer)

    def do_GET(self) -> None:
        state = self.server.state
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 3 and parts[0] == "v2" and parts[2] == "status":
            if not self._authorised():
                status, answer = 401, state.sample("status_401_core_api")
            else:
                status, answer = state.status(parts[1])
            state.count("status", status)
        elif parts == ["_bench", "stats"]:
            status, answer = 200, state.stats()
        else:
            status, answer = 404, state.sample("status_404_current")
            state.count("other", status)
        self._answer(status, answer)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        pass


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, server_key: str) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.state = State(server_key=server_key, base_url=f"http://127.0.0.1:{self.server_address[1]}")


def serve(port: int, server_key_file: Path) -> None:
    # The key comes in a file, never on the command line (visible to every user in ps).
    server_key = server_key_file.read_text().strip()
    server = FakeServer(port, server_key)
    print(f"ready on {server.state.base_url}", flush=True)
    server.serve_forever(poll_interval=0.1)


# --- the harness's side -----------------------------------------------------------------


class MidtransFake:
    """The fake, started as a child process on a free loopback port with a random
    sandbox-style server key; stopped (only that process) by `stop()`."""

    def __init__(self, *, workdir: Path) -> None:
        from bench.server import free_port

        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server_key = f"SB-Mid-server-bench-{secrets.token_urlsafe(18)}"
        self.workdir = workdir
        self.log = workdir / "midtrans-fake.log"
        self.process: subprocess.Popen | None = None

    def app_env(self) -> dict[str, str]:
        """The app's settings that point it at this fake (status checks on, the default)."""
        return {
            "PAYMENT_GATEWAY": "midtrans",
            "MIDTRANS_SERVER_KEY": self.server_key,
            "MIDTRANS_CLIENT_KEY": "SB-Mid-client-bench",
            "MIDTRANS_IS_PRODUCTION": "false",
            "MIDTRANS_SNAP_BASE_URL": f"{self.base_url}/snap/v1",
            "MIDTRANS_API_BASE_URL": self.base_url,
            "MIDTRANS_VERIFY_STATUS": "true",
        }

    def start(self) -> None:
        key_file = self.workdir / "midtrans-fake.key"
        key_file.write_text(self.server_key)
        key_file.chmod(0o600)
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--port", str(self.port), "--server-key-file", str(key_file)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Midtrans fake exited:\n{self.log.read_text()}")
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the Midtrans fake did not answer")

    def _call(self, path: str, body: object | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method="POST" if data else "GET")
        request.add_header("Content-Type", "application/json")
        # The fake's own control endpoint on loopback (base_url is http://127.0.0.1:<port>).
        with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310
            return json.loads(response.read())

    def settle(self, rows: list[dict[str, Any]]) -> list[str]:
        """Make the status API answer settlement for these orders ({order_id, gross_amount
        (int), transaction_id, payment_type}); returns the order ids it refused (never
        opened through Snap, or another amount)."""
        refused = []
        for start in range(0, len(rows), 500):
            refused += self._call("/_bench/settle", rows[start : start + 500])["refused"]
        return refused

    def stats(self) -> dict[str, Any]:
        return self._call("/_bench/stats")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-key-file", type=Path, required=True)
    args = parser.parse_args()
    serve(args.port, args.server_key_file)


if __name__ == "__main__":
    main()
