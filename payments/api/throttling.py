from config.api.throttling import OutcomeRateThrottle


class WebhookRejectedThrottle(OutcomeRateThrottle):
    """Webhook calls refused as unsigned, malformed or too large, per client address (DRF's
    `get_ident`: REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES trusted proxies), at
    THROTTLE_WEBHOOK_REJECTED. Signed notifications cost nothing, so the gateway's own
    retries are never held back by a forger's traffic from another address."""

    scope = "webhook_rejected"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


# The statuses of refusals that count: malformed (400), bad signature (403), too large (413).
COUNTED_STATUSES = frozenset({400, 403, 413})
