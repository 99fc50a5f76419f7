"""The stress shoppers' orders whose money goes back (`client.Shopping`'s actions void,
chargeback, chargeback_part, refund, refund_part): Midtrans's side played on the mock
gateway (world.py), staff's through the API with a staff token, each at once with other
staff moving the order into the kitchen.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import world

if TYPE_CHECKING:  # client imports this module
    from client import Visit


class MoneyBack:
    """Mixed into `client.Shopping`: uses its `api`, `_side`, `_pay` and `_notify`."""

    def _staff(self, op: str, path: str, body: dict[str, Any], rng: random.Random) -> str:
        call, _payload = self.api.retrying(
            op, "POST", f"/api/v1/orders/{path}", rng=rng, token=self.staff_token, body=body
        )
        return f"{op} {call.status} {call.code}".strip()

    def _to_kitchen(self, visit: Visit, rng: random.Random) -> Any:
        """Staff start preparing the order (at once with what else happens to it): 200, or
        409 when the order has left `paid` first."""
        return self._side.submit(
            self._staff,
            "kitchen",
            f"{visit.order_number}/status/",
            {"status": "preparing"},
            random.Random(rng.random()),
        )

    def _void(self, plan: world.Plan, visit: Visit, rng: random.Random) -> None:
        """A card captured, then voided at the gateway before settlement: the `cancel`
        notification races a late copy of the `capture` one."""
        self._pay(plan, visit, rng)
        if visit.gave_up:
            return
        kitchen = self._to_kitchen(visit, rng)
        voided = world.gateway_void(gateway_order_id=visit.gateway_order_id)
        visit.action_result += " void " + ("done" if voided else "refused")
        if voided:
            self._notify(visit, voided, rng)
        visit.action_result += " " + kitchen.result()

    def _chargeback(self, plan: world.Plan, visit: Visit, rng: random.Random) -> None:
        """A card captured, settled by the bank, then charged back (in full, or a quarter of
        it) while staff move the order into the kitchen."""
        self._pay(plan, visit, rng)
        if visit.gave_up:
            return
        settled = world.gateway_move(
            gateway_order_id=visit.gateway_order_id, from_statuses=("capture",), to="settlement"
        )
        if settled:
            self._notify(visit, settled, rng, copies=1)
        kitchen = self._to_kitchen(visit, rng)
        part = plan.action == world.CHARGEBACK_PART
        charged = world.gateway_move(
            gateway_order_id=visit.gateway_order_id,
            from_statuses=("settlement",),
            to="partial_chargeback" if part else "chargeback",
            chargeback_amount=max(1, visit.total // 4) if part else 0,
        )
        visit.action_result += " chargeback " + ("done" if charged else "refused")
        if charged:
            self._notify(visit, charged, rng)
        visit.action_result += " " + kitchen.result()

    def _chargeback_part(self, plan: world.Plan, visit: Visit, rng: random.Random) -> None:
        self._chargeback(plan, visit, rng)

    def _refund(self, plan: world.Plan, visit: Visit, rng: random.Random, *, part: bool = False) -> None:
        """Staff refund all (a captured card: voided) or a third of the order through the
        API, at once with other staff starting to prepare it. What the gateway cannot
        refund (bank transfers, Mandiri Bill, convenience stores) is refunded offline."""
        self._pay(plan, visit, rng)
        if visit.gave_up:
            return
        if part and plan.payment_type == world.CARD:  # only a settled card is refunded in part
            settled = world.gateway_move(
                gateway_order_id=visit.gateway_order_id, from_statuses=("capture",), to="settlement"
            )
            if settled:
                self._notify(visit, settled, rng, copies=1)
        body: dict[str, Any] = {"reason": "stress: shopper asked for the money back"}
        if part:
            body["amount"] = max(1, visit.total // 3)
        if not world.gateway_refundable(plan.payment_type):
            body.update(method="offline", reference=f"TRF-{visit.order_number}")
        kitchen = self._to_kitchen(visit, rng)
        visit.action_result += " " + self._staff("refund", f"{visit.order_number}/refund/", body, rng)
        visit.action_result += " " + kitchen.result()

    def _refund_part(self, plan: world.Plan, visit: Visit, rng: random.Random) -> None:
        self._refund(plan, visit, rng, part=True)
