from config.api.throttling import OutcomeRateThrottle


class RegisterThrottle(OutcomeRateThrottle):
    """Registrations per client address, at THROTTLE_REGISTER (DRF scope `register`). An
    answer that created an account, or would have (the address was taken), costs budget;
    input refused with a 400 does not (RegisterView.finalize_response records)."""

    scope = "register"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
