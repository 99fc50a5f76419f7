"""A real SMTP server on 127.0.0.1 for the account e-mail tests: aiosmtpd (aio-libs), the
asyncio SMTP server the Python docs point to since smtpd left the standard library. It
speaks RFC 5321 to Django's own SMTP backend (EMAIL_BACKEND smtp, as production), and keeps
what it was given; nothing of our mail code is mocked.

Source: https://aiosmtpd.aio-libs.org/en/latest/controller.html (Controller, handle_DATA)."""

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """What the server accepted: (envelope recipients, parsed message), in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.messages if address in rcpt]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_inbox(settings):
    """An SMTP server on a free port of 127.0.0.1, and Django's SMTP backend pointed at it
    for this test; yields its Inbox."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield inbox
    finally:
        controller.stop()
