"""The Idempotency-Key records of checkout and of staff refunds: claim a key for one
request body, complete it with the response to replay, release it when the request failed
before changing anything, and purge old keys. The key row is the first lock a checkout
takes. Checkout ties the key to the order it places (`order`: a request that died after
placing it is answered with that order); `idempotent_call` is the plain form for requests
that change nothing when they fail (a staff refund).
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from orders.exceptions import IdempotencyKeyInFlight, IdempotencyKeyReused
from orders.models import IdempotencyKey


def request_fingerprint(*, method: str, path: str, body: object) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic(durable=True)
def idempotency_claim(
    *, user: User, key: str, request_hash: str, now: datetime | None = None
) -> IdempotencyKey:
    """Claim `key` for a request. Returns the record: COMPLETED (replay its response),
    IN_PROGRESS with an order (its request died after placing it: replay the order), or
    IN_PROGRESS and now ours (go ahead). Raises IdempotencyKeyReused for another request
    body, IdempotencyKeyInFlight while the first request is still running."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=cutoff).delete()
    for _attempt in range(3):
        record, created = IdempotencyKey.objects.get_or_create(
            user=user, key=key, defaults={"request_hash": request_hash, "created_at": now, "locked_at": now}
        )
        if created:
            return record
        locked = IdempotencyKey.objects.select_for_update().filter(pk=record.pk).first()
        if locked is not None:
            record = locked
            break
        # The request that held the key failed and gave it up (idempotency_release) between
        # our read and our lock: the key is free again, so claim it afresh.
    else:
        raise IdempotencyKeyInFlight()
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused()
    if record.state == IdempotencyKey.State.COMPLETED:
        return record
    if record.locked_at > now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS):
        raise IdempotencyKeyInFlight()
    if record.order_id is None:
        record.locked_at = now  # the first request died before placing an order: take over
        record.save(update_fields=["locked_at"])
    return record


def check_key_still_ours(record: IdempotencyKey) -> None:
    """Lock the claimed key row; IdempotencyKeyInFlight if another request has taken it over."""
    current = IdempotencyKey.objects.select_for_update().filter(pk=record.pk).first()
    if current is None or current.order_id is not None or current.locked_at != record.locked_at:
        raise IdempotencyKeyInFlight()


def idempotency_complete(*, record: IdempotencyKey, status: int, body: object) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(
        state=IdempotencyKey.State.COMPLETED, response_status=status, response_body=body
    )


def idempotency_release(*, record: IdempotencyKey) -> None:
    """Forget a claim whose request failed before placing an order, so a retry with the
    same key can succeed (nothing was changed by the failed attempt)."""
    IdempotencyKey.objects.filter(pk=record.pk, order__isnull=True, locked_at=record.locked_at).delete()


@dataclass(frozen=True)
class Answered:
    status: int
    body: object
    replayed: bool = False


def idempotent_call(*, user: User, key: str, request_hash: str, call: Callable[[], Answered]) -> Answered:
    """Run `call` once for (`user`, `key`, this request body): a repeat replays its answer,
    another body raises IdempotencyKeyReused, a repeat while it runs IdempotencyKeyInFlight.
    When `call` raises, the key is released so a retry runs it again: `call` must change
    nothing when it raises."""
    record = idempotency_claim(user=user, key=key, request_hash=request_hash)
    if record.state == IdempotencyKey.State.COMPLETED:
        return Answered(status=record.response_status, body=record.response_body, replayed=True)
    try:
        answered = call()
    except Exception:
        idempotency_release(record=record)
        raise
    idempotency_complete(record=record, status=answered.status, body=answered.body)
    return answered


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
