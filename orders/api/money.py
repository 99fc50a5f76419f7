"""The shape of the totals (orders/totals.py) in the API, shared by the cart and the order."""

from rest_framework import serializers

from orders.charge_names import charge_name

CHARGE_FIELDS = ("code", "name", "rate_bp", "base", "amount", "included")


def charge_data(charge: dict) -> dict:
    """A frozen or computed charge as the API shows it: its fields, the name in the answer's
    language (Content-Language) from the charge's code, so an order placed in another
    language, or frozen with English names, reads the same."""
    data = {key: charge[key] for key in CHARGE_FIELDS if key in charge}
    data["name"] = charge_name(charge)
    return data


class ChargeSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=["service", "tax", "packaging", "rounding"],
        help_text="service, tax (its name is the tax's: PB1, PBJT, PPN), packaging, rounding.",
    )
    name = serializers.CharField(
        help_text="In the language of the answer (Content-Language); the tax's is its name (PB1, PBJT, PPN)."
    )
    rate_bp = serializers.IntegerField(
        required=False, help_text="Basis points (500 = 5%); service and tax only."
    )
    base = serializers.IntegerField(help_text="What the rate is applied to (for tax: the DPP).")
    amount = serializers.IntegerField(help_text="Added to the total; rounding may be negative.")
    included = serializers.IntegerField(
        required=False,
        help_text="Tax only, with prices that include tax: the tax already inside the prices (not added).",
    )

    # Present only on the charges they belong to (config/api/schema.py keeps them optional).
    response_optional = ("rate_bp", "included")

    def to_representation(self, instance: dict) -> dict:
        return charge_data(instance)


class TotalsSerializer(serializers.Serializer):
    subtotal = serializers.IntegerField(help_text="The lines' prices.")
    discount = serializers.IntegerField(help_text="The voucher's discount, taken off before the charges.")
    charges = ChargeSerializer(many=True)
    tax = serializers.IntegerField(help_text="All the tax the total holds, added or included.")
    total = serializers.IntegerField(help_text="subtotal - discount + the charges' amounts.")
