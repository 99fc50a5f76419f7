from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView


class OutcomeRateThrottle(SimpleRateThrottle):
    """A rate limit on outcomes rather than attempts.

    DRF's throttles count a request when they let it through, before the view has run.
    This one only checks, before the view, whether the budget is spent (429 if so); a
    request costs budget only when the code that knows its outcome calls `record()`. So a
    retry that changed nothing, or a request refused as invalid, is free. The check and the
    record are not one atomic step: concurrent requests may overshoot the rate by the
    number in flight, as with DRF's own throttles (which read, then write, the cache)."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.history = self._current_history()
        return len(self.history) < self.num_requests

    def record(self, request, view=None) -> None:
        """Count one request against the rate (call it once the outcome is known)."""
        if self.rate is None:
            return
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return
        self.history = self._current_history()
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)

    def _current_history(self) -> list[float]:
        self.now = self.timer()
        history = self.cache.get(self.key, [])
        while history and history[-1] <= self.now - self.duration:
            history.pop()
        return history


class OutcomeThrottledView(APIView):
    """A view whose `OutcomeRateThrottle`s count the answers with status `counted_status`
    only (an accepted reset, a created account): refused input costs the client nothing."""

    counted_status: int

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == self.counted_status:
            for throttle in self.get_throttles():
                throttle.record(request, self)
        return response
