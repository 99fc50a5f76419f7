"""The shoppers: real HTTP against the app instances, every answer recorded.

A visit: (pickup shoppers list the slots of their day), add the lines to the cart, check
out with an Idempotency-Key (some send the same checkout twice at once, to both
instances), then pay on the mock gateway and have the notification delivered again as
duplicates spread over the instances, or pay with the notification lost, or cancel, or
leave the order unpaid.

Like a real client, a request that got no answer (connection refused or cut: an instance
was killed) or a 5xx is sent again, to another instance, until a deadline; checkout is safe
to repeat because of its Idempotency-Key, a webhook delivery because the handler is
idempotent. Every attempt is recorded, so the run can tell the 5xx a fault caused from any
other.
"""

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
import world
from money import MoneyBack

TIMEOUT = (3.05, 30)  # connect, read
RETRY_FOR = 60.0  # seconds a client keeps retrying one step
# Answers that mean "the same request may work a moment later".
RETRY_CODES = {"idempotency_key_in_flight", "payment_opening"}


@dataclass(frozen=True)
class Call:
    op: str
    instance: str
    started: float  # time.monotonic()
    ended: float
    status: int | None  # None: no answer (refused, reset, timed out)
    code: str = ""  # the body's `code`, when there is one
    error: str = ""
    json_body: bool = True  # the answer was JSON (every /api/ answer must be)


@dataclass
class Visit:
    """What happened to one shopper."""

    user_id: int
    checkout_status: int | None = None
    checkout_code: str = ""
    replayed: bool = False
    order_number: str = ""
    gateway_order_id: str = ""
    token: str = ""
    total: int = 0
    action: str = ""
    action_result: str = ""
    notifications: Counter = field(default_factory=Counter)  # status -> count
    gave_up: list[str] = field(default_factory=list)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def add(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


class Api:
    """Requests to the instances of one run; a session (keep-alive) per thread."""

    def __init__(self, *, instances: list, recorder: Recorder) -> None:
        self.instances = instances
        self.recorder = recorder
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def send(
        self,
        op: str,
        method: str,
        path: str,
        *,
        instance: int,
        token: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Call, Any]:
        target = self.instances[instance % len(self.instances)]
        headers = {"Accept": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            response = self._session().request(
                method, target.base_url + path, data=data, headers=headers, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            self._local.session = None  # its pooled connections may point at a dead process
            call = Call(op, target.name, started, time.monotonic(), None, error=type(exc).__name__)
            self.recorder.add(call)
            return call, None
        try:
            payload = response.json()
            is_json = True
        except ValueError:
            payload, is_json = None, False
        code = payload.get("code", "") if isinstance(payload, dict) else ""
        call = Call(
            op, target.name, started, time.monotonic(), response.status_code, code=code, json_body=is_json
        )
        self.recorder.add(call)
        return call, payload

    def retrying(
        self,
        op: str,
        method: str,
        path: str,
        *,
        rng: random.Random,
        retry_codes: frozenset[str] | set[str] = frozenset(),
        **kwargs: Any,
    ) -> tuple[Call, Any]:
        """Send until an answer that is not a 5xx (nor one of `retry_codes`), moving to
        another instance after each failure, for up to RETRY_FOR seconds."""
        instance = rng.randrange(len(self.instances))
        deadline = time.monotonic() + RETRY_FOR
        pause = 0.2
        while True:
            call, payload = self.send(op, method, path, instance=instance, **kwargs)
            retry = call.status is None or call.status >= 500 or call.code in retry_codes
            if not retry or time.monotonic() > deadline:
                return call, payload
            instance += 1
            time.sleep(pause + rng.random() * pause)
            pause = min(pause * 1.6, 2.0)


class Shopping(MoneyBack):
    """Runs the visits of one wave over a pool of client threads."""

    def __init__(self, *, api: Api, clients: int, copies: int, seed: int, staff_token: str = "") -> None:
        self.api = api
        self.staff_token = staff_token  # refunds and kitchen moves
        self.clients = clients
        self.copies = copies
        self.seed = seed
        self.done = 0
        self._lock = threading.Lock()
        # Side requests that go out together with a visit's own: the second checkout of a
        # double submit, the duplicate notifications.
        self._side = ThreadPoolExecutor(max_workers=max(4, clients * 2), thread_name_prefix="side")

    def run(
        self, plans: list[world.Plan], *, on_progress: Callable[[int], None] | None = None
    ) -> list[Visit]:
        visits: list[Visit] = []

        def one(index_plan: tuple[int, world.Plan]) -> Visit:
            index, plan = index_plan
            rng = random.Random(f"{self.seed}-{index}")
            visit = self.visit(plan, rng)
            with self._lock:
                self.done += 1
                done = self.done
            if on_progress:
                on_progress(done)
            return visit

        with ThreadPoolExecutor(max_workers=self.clients, thread_name_prefix="shopper") as pool:
            visits = list(pool.map(one, enumerate(plans)))
        return visits

    def close(self) -> None:
        self._side.shutdown(wait=True)

    # --- one shopper ------------------------------------------------------------------------------

    def visit(self, plan: world.Plan, rng: random.Random) -> Visit:
        api, token = self.api, plan.shopper.token
        visit = Visit(user_id=plan.shopper.user_id, action=plan.action)
        if plan.slot_date:
            api.retrying("slots", "GET", f"/api/v1/shop/slots/?date={plan.slot_date}", rng=rng, token=token)
        for slug, quantity in plan.lines:
            api.retrying(
                "cart_add",
                "POST",
                "/api/v1/cart/items/",
                rng=rng,
                token=token,
                body={"product": slug, "quantity": quantity},
            )
        body = {"pickup_slot": plan.slot_id} if plan.slot_id else {}
        headers = {"Idempotency-Key": str(uuid.uuid4())}

        def checkout(seed: float) -> tuple[Call, Any]:
            return api.retrying(
                "checkout",
                "POST",
                "/api/v1/orders/",
                rng=random.Random(seed),
                retry_codes=RETRY_CODES,
                token=token,
                body=body,
                headers=headers,
            )

        if plan.double_submit:
            # The same checkout twice at the same moment (a double click through a load
            # balancer): one order at most, and both answers tell of the same one.
            other = self._side.submit(checkout, rng.random())
            results = [checkout(rng.random()), other.result()]
        else:
            results = [checkout(rng.random())]
        placed = [(call, payload) for call, payload in results if call.status == 201]
        call, payload = placed[0] if placed else results[0]
        visit.checkout_status, visit.checkout_code = call.status, call.code
        if call.code in RETRY_CODES or call.status is None or call.status >= 500:
            visit.gave_up.append(f"checkout {call.status} {call.code}")
        numbers = {p["number"] for c, p in placed}
        if len(numbers) > 1:
            visit.gave_up.append(f"double submit made two orders: {sorted(numbers)}")
        if call.status != 201:
            return visit
        visit.order_number, visit.total = payload["number"], int(payload["total"])
        payment = payload.get("payment")
        if payment is None:
            call, payload = api.retrying(
                "pay_open",
                "POST",
                f"/api/v1/orders/{visit.order_number}/pay/",
                rng=rng,
                retry_codes=RETRY_CODES,
                token=token,
                body={},
            )
            payment = payload.get("payment") if call.status == 200 and isinstance(payload, dict) else None
            if payment is None:
                visit.gave_up.append(f"no payment opened ({call.status} {call.code})")
                return visit
        visit.gateway_order_id, visit.token = payment["gateway_order_id"], payment["token"]
        getattr(self, f"_{plan.action}")(plan, visit, rng)
        return visit

    def _pay(self, plan: world.Plan, visit: Visit, rng: random.Random) -> None:
        call, _payload = self.api.retrying(
            "mock_pay",
            "POST",
            f"/api/v1/payments/mock/{visit.token}/",
            rng=rng,
            body={"transaction_status": "settlement", "payment_type": plan.payment_type},
        )
        visit.action_result = f"{call.status} {call.code}".strip()
        notification = world.notification_body(token=visit.token)
        if notification is None:  # the gateway never recorded the payment: nothing to repeat
            visit.gave_up.append(f"mock payment not recorded ({visit.action_result})")
            return
        raw = json.dumps(notification).encode()
        first = rng.randrange(len(self.api.instances))

        rngs = [random.Random(rng.random()) for _ in range(self.copies)]

        def deliver(n: int) -> Call:
            # Alternate instances, and Midtrans's two spellings of the URL.
            path = "/api/v1/payments/midtrans/notification" + ("/" if n % 2 else "")
            call, _payload = self._deliver(path, raw, first + n, rngs[n])
            return call

        for call in self._side.map(deliver, range(self.copies)):
            visit.notifications[call.status] += 1

    def _notify(
        self, visit: Visit, notification: dict[str, Any], rng: random.Random, *, copies: int = 0
    ) -> None:
        """Deliver one notification the gateway sent (`copies` times, at once, spread over
        the instances and both spellings of the URL)."""
        raw = json.dumps(notification).encode()
        first = rng.randrange(len(self.api.instances))
        rngs = [random.Random(rng.random()) for _ in range(copies or self.copies)]

        def deliver(n: int) -> Call:
            path = "/api/v1/payments/midtrans/notification" + ("/" if n % 2 else "")
            return self._deliver(path, raw, first + n, rngs[n])[0]

        for call in self._side.map(deliver, range(len(rngs))):
            visit.notifications[call.status] += 1

    def _deliver(self, path: str, raw: bytes, instance: int, rng: random.Random) -> tuple[Call, Any]:
        deadline = time.monotonic() + RETRY_FOR
        while True:
            call, payload = self.api.send("notify", "POST", path, instance=instance, raw=raw)
            if (call.status is not None and call.status < 500) or time.monotonic() > deadline:
                return call, payload
            instance += 1  # Midtrans retries; the next delivery may land on another instance
            time.sleep(0.3 + rng.random() * 0.3)

    def _pay_lost(self, plan: world.Plan, visit: Visit, rng: random.Random) -> None:
        visit.action_result = world.pay_without_notification(
            token=visit.token, payment_type=plan.payment_type
        )

    def _cancel(self, plan: world.Plan, visit: Visit, rng: random.Random) -> None:
        call, _payload = self.api.retrying(
            "cancel",
            "POST",
            f"/api/v1/orders/{visit.order_number}/cancel/",
            rng=rng,
            token=plan.shopper.token,
            body={},
        )
        visit.action_result = f"{call.status} {call.code}".strip()

    def _leave(self, plan: world.Plan, visit: Visit, rng: random.Random) -> None:
        visit.action_result = "left unpaid"
