"""Every write to payments, one module per step (DESIGN.md §4, §7): `opening` (attempts at
the gateway), `webhook` (notifications), `apply` (the one code path that applies what the
gateway says: lock, `payments.decide.decide`, persist), `transition` (`payment_transition`,
the only writer of an attempt's status, with its event), `status` (asking the status API,
by transaction id when known: BI-SNAP), `reconcile` (lost notifications, post-settlement
re-checks, and the expiry of unpaid orders), `refunds`. What a payment does to its order
and documents is `payments.settlement`.

Two rules hold everywhere: the network is never called inside a transaction or while a
row is locked, and every gateway answer goes through `apply.payment_apply`.
"""
