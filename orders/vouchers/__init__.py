"""Vouchers: the codes staff hand out (models.py), the rules that say whether one applies
and the taking and giving back of a use at checkout and cancel (services.py), the shopper's
and staff's API (api.py) and the admin (admin.py). Models of the `orders` app."""
