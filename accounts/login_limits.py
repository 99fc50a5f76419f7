"""The one limiter of password guesses: every check of a password against an account goes
through it (the API's and the admin's login, password change, account deletion).

Failures are counted in Django's cache under two keys, the account (its normalised e-mail,
hashed: the cache never holds the address itself) and the client's address. When either
reaches its limit (LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_ADDRESS) within
LOGIN_FAILURE_WINDOW_SECONDS, that key is locked for LOGIN_LOCKOUT_SECONDS: every password
check on it is refused without being made, a right password included, until the lock
expires by itself, or, for an account, until its owner resets the password from the
e-mail (`account_release`: they proved they hold the address). A right password clears the
account's count (not the address's: one good login of their own must not wipe an
address's guesses at other accounts).

An e-mail with no account is counted and locked exactly like one with an account, so the
answers say nothing about which addresses are registered.

With CACHE_URL=redis:// every process shares the counts and locks (counting is Redis
INCR, atomic); with the default per-process cache each process counts on its own, which
the system check `accounts.W001` warns about when DEBUG is off. An unreachable Redis
lets checks through (config/cache.py), like every other throttle.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from accounts.exceptions import LoginLocked
from accounts.models import User, normalize_email

PREFIX = "login-limit"


def client_address(request: HttpRequest) -> str:
    """The client's address as every throttle sees it: REMOTE_ADDR, or behind NUM_PROXIES
    trusted proxies the address they saw (DRF's rule; a client's own X-Forwarded-For is
    never trusted). Takes a Django or a DRF request."""
    return BaseThrottle().get_ident(request) or ""


def cache_digest(value: str) -> str:
    """What stands for an e-mail or address in a cache key: the cache never holds the
    value itself (also used by the password reset's per-address throttle)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _subjects(*, email: str, address: str) -> list[tuple[str, int]]:
    """(key stem, failure limit) of the account and, when known, the address."""

    def stem(kind: str, value: str) -> str:
        return f"{PREFIX}:{kind}:{cache_digest(value)}"

    subjects = [(stem("account", normalize_email(email)), settings.LOGIN_FAILURES_PER_ACCOUNT)]
    if address:
        subjects.append((stem("address", address), settings.LOGIN_FAILURES_PER_ADDRESS))
    return subjects


def login_check(*, email: str, address: str) -> None:
    """Raise LoginLocked (with the seconds left) when the account or the address is locked."""
    locks = cache.get_many([f"{stem}:locked" for stem, _ in _subjects(email=email, address=address)])
    if locks:
        left = max(locks.values()) - time.time()
        raise LoginLocked(retry_after=max(1, math.ceil(left)))


def login_failed(*, email: str, address: str) -> None:
    """Count a wrong password against the account and the address; lock whichever reached its limit."""
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for stem, limit in _subjects(email=email, address=address):
        failures = f"{stem}:failures"
        cache.add(failures, 0, timeout=window)
        try:
            count = cache.incr(failures)
        except ValueError:  # expired since the add (or the cache server is unreachable)
            cache.add(failures, 1, timeout=window)
            count = 1
        if count == 1:
            # The first failure of a window: (re)set its expiry, also when Redis's INCR made
            # the key afresh (one that expired between Django's existence check and INCR
            # would otherwise never expire).
            cache.touch(failures, window)
        if count >= limit:
            lockout = settings.LOGIN_LOCKOUT_SECONDS
            cache.set(f"{stem}:locked", time.time() + lockout, timeout=lockout)
            cache.delete(failures)  # after the lock, a fresh count


def login_succeeded(*, email: str) -> None:
    """A right password: the account's count of failures starts again."""
    stem, _ = _subjects(email=email, address="")[0]
    cache.delete(f"{stem}:failures")


def account_release(*, email: str) -> None:
    """End the account's count and lock at once (a password reset; the address's stay)."""
    stem, _ = _subjects(email=email, address="")[0]
    cache.delete_many([f"{stem}:failures", f"{stem}:locked"])


def password_verify(*, user: User, password: str, address: str) -> bool:
    """Check the password of a signed-in user (password change, account deletion) under the
    limiter: LoginLocked when the account or address is locked (the password is not
    checked), else whether it is right, a wrong one counted."""
    login_check(email=user.email, address=address)
    if user.check_password(password):
        login_succeeded(email=user.email)
        return True
    login_failed(email=user.email, address=address)
    return False
