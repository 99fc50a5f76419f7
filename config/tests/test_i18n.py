"""Two languages: an API answer follows Accept-Language (Indonesian by default in the
product; the suite runs with LANGUAGE_CODE=en, pytest.ini), `code`s stay English."""

import pytest

from accounts.models import User
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


def test_the_admin_speaks_the_staff_members_language(client, staff_user):
    """Django ships Indonesian for the admin's own words; the staff member's `language`
    wins over what the browser asks for."""
    staff_user.language = "id"
    staff_user.save(update_fields=["language"])
    client.force_login(staff_user)

    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Language"] == "id"
    page = response.content.decode()
    assert '<html lang="id"' in page
    assert "Selamat datang," in page
    assert "Welcome," not in page
    assert "Pesanan hari ini" in page  # the shop's dashboard

    staff_user.language = "en"
    staff_user.save(update_fields=["language"])
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert "Welcome," in page


@pytest.mark.django_db
def test_a_new_account_is_mailed_in_the_language_it_registered_in(
    api_client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            REGISTER,
            {"email": "siti@example.com", "password": "another-Passphrase-7"},
            HTTP_ACCEPT_LANGUAGE="id",
        )

    assert response.status_code == 201
    assert User.objects.get(email="siti@example.com").language == "id"
    [message] = mailoutbox
    assert message.subject == "Foodies: konfirmasi alamat e-mail Anda"
    assert "selamat datang di Foodies!" in message.body


def test_the_kitchen_board_speaks_indonesian_to_a_cook_who_chose_it(client, staff_user):
    staff_user.language = "id"
    staff_user.save(update_fields=["language"])
    client.force_login(staff_user)

    page = client.get("/admin/orders/order/kitchen/").content.decode()

    assert "Papan dapur" in page
    assert "Menerima pesanan." in page
    assert "Belum ada yang perlu dimasak." in page
    assert "Jeda pesanan baru 15 menit" in page
    assert "Kitchen board" not in page


def test_the_payment_finish_page_follows_the_browser(client):
    page = client.get(
        "/payments/finish/?order_id=FD-1-1", HTTP_ACCEPT_LANGUAGE="id-ID,id;q=0.9"
    ).content.decode()

    assert '<html lang="id">' in page
    assert "Pembayaran Anda untuk <code>FD-1-1</code> sedang dikonfirmasi." in page
