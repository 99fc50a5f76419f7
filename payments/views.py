"""HTML pages: the mock gateway's payment page, and where Snap sends the shopper back."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from payments.exceptions import MockTransactionClosed, MockTransactionNotFound
from payments.gateways.mock import ACTIONS, OPEN_STATUSES, PAYMENT_TYPES, mock_transaction_get
from payments.services.webhook import payment_mock_complete

ACTION_LABELS = {
    "settlement": _("Pay"),
    "deny": _("Deny"),
    "cancel": _("Cancel"),
    "expire": _("Let it expire"),
    "challenge": _("Pay by card, held for fraud review"),
}


@never_cache  # Cache-Control: no-store: the page holds a payment capability and an order
@require_http_methods(["GET", "POST"])
def mock_checkout(request: HttpRequest, token: str) -> HttpResponse:
    """The mock gateway's payment page: the order's summary and one button per outcome.
    A button posts here (CSRF-protected), the mock records it and notifies the shop through
    the real webhook handler, and the page shows the result."""
    try:
        tx = mock_transaction_get(token=token)
    except MockTransactionNotFound:
        raise Http404 from None
    if request.method == "POST":
        action = request.POST.get("transaction_status")
        payment_type = request.POST.get("payment_type") or None
        if action not in ACTIONS or (payment_type is not None and payment_type not in PAYMENT_TYPES):
            messages.error(request, _("Choose one of the buttons."))
        else:
            try:
                status_code, answer = payment_mock_complete(
                    token=token, transaction_status=action, payment_type=payment_type
                )
            except MockTransactionClosed:
                messages.error(request, _("This payment is no longer open."))
            else:
                level = messages.SUCCESS if status_code == 200 else messages.ERROR
                messages.add_message(
                    request,
                    level,
                    f"The shop answered {status_code} ({answer.get('outcome') or answer.get('detail')}).",
                )
        return HttpResponseRedirect(request.path)
    order = tx.order
    return render(
        request,
        "payments/mock_checkout.html",
        {
            "tx": tx,
            "order": order,
            "lines": order.lines.all(),
            "is_open": tx.transaction_status in OPEN_STATUSES,
            "actions": [(action, ACTION_LABELS[action]) for action in ACTIONS],
            "payment_types": PAYMENT_TYPES,
        },
    )


@require_GET
def payment_finish(request: HttpRequest) -> HttpResponse:
    """Snap's `finish` redirect: Midtrans appends order_id, status_code and
    transaction_status. Nothing is trusted or changed here; the webhook decides."""
    return render(request, "payments/finish.html", {"gateway_order_id": request.GET.get("order_id", "")[:50]})
