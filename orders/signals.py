"""What orders tell the layers above them (which orders may not import).

`order_closed` is sent inside the transaction that moved an order to cancelled or expired
(`orders.services.order_transition`), with `order` and `to_status`. A receiver that calls
the network must wait for the commit (`config.tasks.enqueue`): payments cancels the
order's open attempt at the gateway that way (issue 17, item 7)."""

from django.dispatch import Signal

order_closed = Signal()
