"""System checks of accounts (registered by AccountsConfig.ready)."""

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import Tags, Warning, register


@register(Tags.security, Tags.caches)
def check_throttles_are_shared(app_configs, **kwargs) -> list[Warning]:
    """With DEBUG off, a per-process cache makes every throttle and the login limiter
    (accounts.login_limits) count per process: N app processes let N times the attempts
    through (issue 24: 18 login tries got past a limit of 10 with 2 workers)."""
    if settings.DEBUG or not isinstance(caches["default"], LocMemCache | DummyCache):
        return []
    return [
        Warning(
            "The default cache is per process (CACHE_URL unset or locmem), so the throttles and "
            "the login limiter count per process: each app process allows the full number of "
            "attempts.",
            hint="Set CACHE_URL to a cache every process shares, e.g. "
            "CACHE_URL=redis://127.0.0.1:6379/1 (with exactly one app process this is harmless).",
            id="accounts.W001",
        )
    ]
