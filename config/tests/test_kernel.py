"""The kernel (config/errors.py, money.py, clock.py): exact values, no database."""

from datetime import UTC, datetime
from http import HTTPStatus

import pytest

from config.clock import local, local_today, shop_zone, start_of_local_day
from config.errors import Conflict, DomainError, Invalid, NotFound
from config.money import parse_rupiah, rupiah


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        ("25000.00", 25_000),  # Midtrans's notifications and status answers
        ("25000", 25_000),
        (25_000, 25_000),  # midtrans-php's samples send integers
        ("0.00", 0),
        ("25000.50", None),  # a fraction of a rupiah is not an amount we can book
        ("-1", None),
        ("1e5", None),
        (" 25000", None),
        ("", None),
        (None, None),
        (True, None),
        ("9" * 16, None),
    ],
)
def test_parse_rupiah(value, amount):
    assert parse_rupiah(value) == amount


def test_rupiah_prints_the_indonesian_way():
    assert (rupiah(25_000), rupiah(1_234_567), rupiah(0)) == ("Rp 25.000", "Rp 1.234.567", "Rp 0")


def test_the_shops_day_is_jakartas_not_the_servers():
    # 2026-12-06 18:30 UTC is already 7 December, 01:30, in Jakarta (UTC+7).
    late = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)
    assert str(shop_zone()) == "Asia/Jakarta"
    assert local(late).isoformat() == "2026-12-07T01:30:00+07:00"
    assert start_of_local_day(late).isoformat() == "2026-12-07T00:00:00+07:00"
    assert local_today() == local().date()


def test_domain_errors_carry_their_status_and_code():
    assert (DomainError.status, NotFound.status, Conflict.status) == (
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.NOT_FOUND,
        HTTPStatus.CONFLICT,
    )
    assert Conflict(stock=3).as_dict() == {
        "detail": "The request conflicts with the current state.",
        "code": "conflict",
        "stock": 3,
    }
    assert Invalid("Too long.", field="note").as_dict() == {"note": ["Too long."]}
    assert Invalid("Bad.").as_dict() == {"detail": "Bad.", "code": "invalid"}
