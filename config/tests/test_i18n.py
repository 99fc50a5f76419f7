"""Two languages: an API answer follows Accept-Language (Indonesian by default in the
product; the suite runs with LANGUAGE_CODE=en, pytest.ini), `code`s stay English."""

import pytest

from catalog.tests.factories import ProductFactory

PRODUCT = "/api/v1/products/{}/"
ORDERS = "/api/v1/orders/"
REGISTER = "/api/v1/auth/register/"


@pytest.mark.django_db
def test_an_unknown_product_is_an_indonesian_404_with_the_same_code(api_client):
    response = api_client.get(PRODUCT.format("tidak-ada"), HTTP_ACCEPT_LANGUAGE="id")

    assert response.status_code == 404
    assert response.json() == {"detail": "Tidak ditemukan.", "code": "not_found"}
    assert response["Content-Language"] == "id"
    assert "Accept-Language" in response["Vary"]

    english = api_client.get(PRODUCT.format("tidak-ada"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert english.json() == {"detail": "Not found.", "code": "not_found"}
    assert english["Content-Language"] == "en"


@pytest.mark.django_db
def test_the_shop_language_answers_a_request_without_accept_language(api_client, settings):
    settings.LANGUAGE_CODE = "id"
    response = api_client.get(PRODUCT.format("tidak-ada"))
    assert response.json()["detail"] == "Tidak ditemukan."
    assert response["Content-Language"] == "id"

    # A language the shop does not speak falls back to the shop's.
    assert (
        api_client.get(PRODUCT.format("x"), HTTP_ACCEPT_LANGUAGE="fr").json()["detail"] == "Tidak ditemukan."
    )


def test_a_domain_error_is_translated_and_keeps_its_code(auth_client):
    response = auth_client.post(ORDERS, {}, HTTP_ACCEPT_LANGUAGE="id")

    assert response.status_code == 400
    assert response.json() == {"detail": "Tidak ada yang bisa di-checkout.", "code": "cart_empty"}


def test_a_detail_with_values_is_translated_with_them(auth_client, settings):
    settings.CART_MAX_QUANTITY = 5
    ProductFactory(slug="nasi-goreng", name="Nasi Goreng", stock=10)

    response = auth_client.post(
        "/api/v1/cart/items/", {"product": "nasi-goreng", "quantity": 6}, HTTP_ACCEPT_LANGUAGE="id"
    )

    assert response.status_code == 400
    assert response.json() == {"quantity": ["Pilih jumlah dari 1 sampai 5."]}


@pytest.mark.django_db
def test_django_and_drf_validation_messages_are_indonesian(api_client):
    """Django ships Indonesian for its password validators, DRF for its field errors."""
    response = api_client.post(
        REGISTER, {"email": "budi@example.com", "password": "abc"}, HTTP_ACCEPT_LANGUAGE="id"
    )

    assert response.status_code == 400
    body = response.json()
    assert any("terlalu pendek" in message for message in body["password"]), body
    response = api_client.post(REGISTER, {"password": "another-Passphrase-7"}, HTTP_ACCEPT_LANGUAGE="id")
    assert response.json()["email"] == ["Bidang ini harus diisi."]
