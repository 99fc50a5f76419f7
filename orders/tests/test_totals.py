"""The totals function (orders/totals.py): exact values of the issue's receipts, and the
invariants under Hypothesis."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.totals import (
    TAX_BASE_SUBTOTAL,
    TAX_BASE_SUBTOTAL_AND_SERVICE,
    ChargeSettings,
    Discount,
    Line,
    refund_split,
    round_half_up,
    tax_extract,
    totals_compute,
)

PB1_ON_SERVICE = ChargeSettings(service_charge_bp=500, tax_name="PB1", tax_rate_bp=1_000)


def test_two_dishes_with_service_and_pb1_on_subtotal_and_service():
    totals = totals_compute(lines=[Line(50_000)], settings=PB1_ON_SERVICE)

    assert totals.as_dict() == {
        "subtotal": 50_000,
        "discount": 0,
        "charges": [
            {"code": "service", "name": "Service charge", "rate_bp": 500, "base": 50_000, "amount": 2_500},
            {"code": "tax", "name": "PB1", "rate_bp": 1_000, "base": 52_500, "amount": 5_250},
        ],
        "tax": 5_250,
        "total": 57_750,
    }


def test_ppn_included_in_the_price_is_extracted():
    ppn = ChargeSettings(tax_name="PPN", tax_rate_bp=1_100, prices_include_tax=True)

    totals = totals_compute(lines=[Line(111_000)], settings=ppn)

    assert totals.as_dict() == {
        "subtotal": 111_000,
        "discount": 0,
        "charges": [
            {"code": "tax", "name": "PPN", "rate_bp": 1_100, "base": 100_000, "amount": 0, "included": 11_000}
        ],
        "tax": 11_000,
        "total": 111_000,
    }


def test_no_charges_configured_means_total_is_subtotal():
    totals = totals_compute(lines=[Line(25_000), Line(8_000)], settings=ChargeSettings())
    assert totals.as_dict() == {"subtotal": 33_000, "discount": 0, "charges": [], "tax": 0, "total": 33_000}


def test_pb1_on_subtotal_only_ignores_the_service():
    settings_ = ChargeSettings(service_charge_bp=500, tax_rate_bp=1_000, tax_base=TAX_BASE_SUBTOTAL)
    totals = totals_compute(lines=[Line(50_000)], settings=settings_)
    assert (totals.charge("service"), totals.tax, totals.total) == (2_500, 5_000, 57_500)


def test_rounding_to_100_is_half_up_and_a_line_of_its_own():
    settings_ = ChargeSettings(service_charge_bp=500, tax_rate_bp=1_000, rounding_unit=100)

    up = totals_compute(lines=[Line(33_000)], settings=settings_)  # 33000 + 1650 + 3465 = 38115
    down = totals_compute(lines=[Line(31_000)], settings=settings_)  # 31000 + 1550 + 3255 = 35805

    assert (up.total, up.charge("rounding")) == (38_100, -15)
    assert (down.total, down.charge("rounding")) == (35_800, -5)
    half = totals_compute(lines=[Line(1_050)], settings=ChargeSettings(rounding_unit=100))
    assert (half.total, half.charge("rounding")) == (1_100, 50)


def test_packaging_fee_is_per_order_and_not_taxed():
    settings_ = ChargeSettings(tax_rate_bp=1_000, packaging_fee=2_000)
    totals = totals_compute(lines=[Line(10_000), Line(5_000)], settings=settings_)
    assert (totals.charge("packaging"), totals.tax, totals.total) == (2_000, 1_500, 18_500)
    assert totals_compute(lines=[], settings=settings_).total == 0


def test_inclusive_prices_with_service_add_the_service_and_its_tax():
    """Menu Rp 110.000 with PB1 10% included: DPP 100.000; service 5% on the DPP 5.000 and
    its PB1 500 are added; the receipt's PB1 is 10.500."""
    settings_ = ChargeSettings(service_charge_bp=500, tax_rate_bp=1_000, prices_include_tax=True)

    totals = totals_compute(lines=[Line(110_000)], settings=settings_)

    assert totals.charges == [
        {"code": "service", "name": "Service charge", "rate_bp": 500, "base": 100_000, "amount": 5_000},
        {"code": "tax", "name": "PB1", "rate_bp": 1_000, "base": 105_000, "amount": 500, "included": 10_000},
    ]
    assert (totals.tax, totals.total) == (10_500, 115_500)


def test_vouchers_percent_capped_fixed_and_limited_to_categories():
    lines = [Line(40_000, "rice"), Line(10_000, "drinks")]
    none = ChargeSettings()

    assert totals_compute(lines=lines, settings=none, discount=Discount("percent", 10)).discount == 5_000
    capped = Discount("percent", 50, max_discount=15_000)
    assert totals_compute(lines=lines, settings=none, discount=capped).discount == 15_000
    drinks_only = Discount("fixed", 25_000, categories=frozenset({"drinks"}))
    assert totals_compute(lines=lines, settings=none, discount=drinks_only).discount == 10_000
    # The discount comes off before the charges: service and tax are on what is paid for.
    totals = totals_compute(lines=lines, settings=PB1_ON_SERVICE, discount=Discount("fixed", 10_000))
    assert (totals.discount, totals.charge("service"), totals.tax, totals.total) == (
        10_000,
        2_000,
        4_200,
        46_200,
    )


def test_round_half_up_on_both_sides_of_zero():
    assert [round_half_up(n, 2) for n in (-3, -1, 1, 3, 4)] == [-2, -1, 1, 2, 2]
    with pytest.raises(ValueError, match="denominator"):
        round_half_up(1, 0)


def test_refund_split_of_the_issue_receipt():
    totals = totals_compute(lines=[Line(50_000)], settings=PB1_ON_SERVICE).as_dict()

    half = refund_split(amount=28_875, totals=totals)
    full = refund_split(amount=57_750, totals=totals)

    assert half == {
        "amount": 28_875,
        "goods": 25_000,
        "charges": [
            {"code": "service", "name": "Service charge", "amount": 1_250},
            {"code": "tax", "name": "PB1", "amount": 2_625},
        ],
        "tax": 2_625,
    }
    assert (full["goods"], [c["amount"] for c in full["charges"]], full["tax"]) == (
        50_000,
        [2_500, 5_250],
        5_250,
    )
    with pytest.raises(ValueError, match="between 0 and the order's total"):
        refund_split(amount=57_751, totals=totals)


# --- properties -------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=50_000_000)
charge_settings = st.builds(
    ChargeSettings,
    service_charge_bp=st.integers(0, 2_000),
    tax_name=st.sampled_from(["PB1", "PBJT", "PPN"]),
    tax_rate_bp=st.integers(0, 2_000),
    tax_base=st.sampled_from([TAX_BASE_SUBTOTAL, TAX_BASE_SUBTOTAL_AND_SERVICE]),
    prices_include_tax=st.booleans(),
    packaging_fee=st.integers(0, 10_000),
    rounding_unit=st.sampled_from([1, 100, 500]),
)
line_lists = st.lists(
    st.builds(Line, total=amounts, category=st.sampled_from(["rice", "drinks"])), min_size=0, max_size=8
)
discounts = st.none() | st.builds(
    Discount,
    kind=st.sampled_from(["percent", "fixed"]),
    value=st.integers(1, 100),
    max_discount=st.none() | st.integers(0, 100_000),
    categories=st.sampled_from([frozenset(), frozenset({"rice"})]),
)


@settings(max_examples=400, deadline=None)
@given(lines=line_lists, settings_=charge_settings, discount=discounts)
def test_total_is_subtotal_minus_discount_plus_charges(lines, settings_, discount):
    totals = totals_compute(lines=lines, settings=settings_, discount=discount)

    assert totals.total == totals.subtotal - totals.discount + sum(c["amount"] for c in totals.charges)
    assert totals.total % settings_.rounding_unit == 0
    assert 0 <= totals.discount <= totals.subtotal
    assert all(isinstance(c["amount"], int) for c in totals.charges)
    assert abs(totals.charge("rounding")) <= settings_.rounding_unit // 2
    # Computed again from its snapshot, an order comes to the same figures.
    again = totals_compute(
        lines=lines, settings=ChargeSettings.from_dict(settings_.as_dict()), discount=discount
    )
    assert again == totals


@settings(max_examples=400, deadline=None)
@given(net=amounts, rate=st.integers(1, 2_000))
def test_inclusive_extraction_gives_back_the_exclusive_tax(net, rate):
    """A net amount taxed on top, and the same price with the tax inside: the extracted DPP
    is the net amount and the tax the same rupiah."""
    exclusive = totals_compute(lines=[Line(net)], settings=ChargeSettings(tax_rate_bp=rate))
    inclusive = totals_compute(
        lines=[Line(exclusive.total)], settings=ChargeSettings(tax_rate_bp=rate, prices_include_tax=True)
    )

    assert tax_extract(exclusive.total, rate) == (net, exclusive.tax)
    assert inclusive.tax == exclusive.tax


@settings(max_examples=300, deadline=None)
@given(
    net=amounts,
    rate=st.integers(1, 2_000),
    service=st.integers(0, 2_000),
    unit=st.sampled_from([1, 100, 500]),
)
def test_inclusive_and_exclusive_agree_within_the_rounding_unit(net, rate, service, unit):
    common = {"tax_rate_bp": rate, "service_charge_bp": service, "rounding_unit": unit}
    exclusive = totals_compute(lines=[Line(net)], settings=ChargeSettings(**common))
    gross = net + round_half_up(net * rate, 10_000)
    inclusive = totals_compute(
        lines=[Line(gross)], settings=ChargeSettings(prices_include_tax=True, **common)
    )

    assert abs(inclusive.total - exclusive.total) <= unit
    assert abs(inclusive.tax - exclusive.tax) <= 1


@settings(max_examples=300, deadline=None)
@given(lines=line_lists, settings_=charge_settings, data=st.data())
def test_refund_split_sums_to_the_refund(lines, settings_, data):
    totals = totals_compute(lines=lines, settings=settings_).as_dict()
    amount = data.draw(st.integers(0, totals["total"]))

    split = refund_split(amount=amount, totals=totals)

    assert split["goods"] + sum(c["amount"] for c in split["charges"]) == amount
    assert 0 <= split["tax"] <= totals["tax"]
    if amount == totals["total"]:
        assert [c["amount"] for c in split["charges"]] == [c["amount"] for c in totals["charges"]]
