"""Payment gateway latency and errors for /metrics, measured at the HTTP session every
Midtrans call goes through."""

import pytest
from prometheus_client import REGISTRY

from payments.gateways import GatewayError, get_gateway
from payments.gateways.midtrans import gateway_operation


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_operations_are_named_from_the_url():
    assert gateway_operation("https://app.sandbox.midtrans.com/snap/v1/transactions") == "snap"
    assert gateway_operation("https://api.sandbox.midtrans.com/v2/FD-1-1/status") == "status"
    assert gateway_operation("https://api.sandbox.midtrans.com/v2/FD-1-1/refund/online/direct") == "direct"
    assert gateway_operation("https://api.sandbox.midtrans.com/v2/FD-1-1") == "other"


def test_a_status_call_is_timed_and_a_timeout_counted_as_an_error(midtrans):
    labels = {"gateway": "midtrans", "operation": "status"}
    calls = value("foodies_gateway_request_duration_seconds_count", **labels)
    errors = value("foodies_gateway_errors_total", **labels)
    midtrans.failures["status"] = "timeout"
    with pytest.raises(GatewayError):
        get_gateway().get_status(gateway_order_id="FD-1-1")
    assert value("foodies_gateway_request_duration_seconds_count", **labels) == calls + 1
    assert value("foodies_gateway_errors_total", **labels) == errors + 1
