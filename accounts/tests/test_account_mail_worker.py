"""The account e-mails on a real broker and a real `celery worker` (the fixtures of
orders/tests/test_worker.py: a private redis-server, workers on the test database), sending
through a real SMTP server (accounts/tests/smtp.py). The request only publishes the task:
it reads no account, so it does the same work for any address; the worker looks the
account up and mails the link. Skipped without redis-server or on SQLite."""

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_password_reset import ACCEPTED, CONFIRM, RESET, TOKEN, link_of
from orders.tests.test_worker import (  # noqa: F401  (fixtures)
    TASK_TIMEOUT,
    mail_dir,
    redis_url,
    start_worker,
    succeeded,
    wait_for,
)

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_a_reset_on_a_worker_mails_the_account_and_nobody_else(
    start_worker,  # noqa: F811
    smtp_inbox,
    settings,
    django_assert_num_queries,
):
    worker = start_worker("accounts", concurrency=1, EMAIL_URL=f"smtp://127.0.0.1:{settings.EMAIL_PORT}")
    UserFactory(email="siti@example.com")
    client = APIClient()

    answers = []
    for email in ("siti@example.com", "nobody@example.com"):
        with django_assert_num_queries(0):  # no lookup in the request, for either address
            response = client.post(RESET, {"email": email})
        answers.append((response.status_code, response.json()))
    assert answers == [(202, ACCEPTED), (202, ACCEPTED)]

    results = wait_for(
        lambda: (
            len(succeeded(worker, "accounts.tasks.send_password_reset")) == 2
            and succeeded(worker, "accounts.tasks.send_password_reset")
        ),
        timeout=TASK_TIMEOUT,
        what="both reset tasks",
        log=worker.log,
    )
    assert sorted(results) == ["False", "True"]
    assert [rcpt for rcpt, _ in smtp_inbox.messages] == [["siti@example.com"]]
    link = link_of(smtp_inbox.messages[0][1])
    assert client.post(CONFIRM, {**link, "new_password": "a-new-Passphrase-42"}).status_code == 204
    assert client.post(TOKEN, {"email": "siti@example.com", "password": PASSWORD}).status_code == 401
