"""A real SMTP server for the alert tests (aiosmtpd, in a thread on a free localhost port)."""

from __future__ import annotations

import re
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()

    def links(self, containing: str = "") -> list[str]:
        return [link.rstrip(".,;)") for link in LINK.findall(self.text) if containing in link]

    def link(self, containing: str) -> str:
        found = self.links(containing)
        assert found, f"No link containing {containing!r} in:\n{self.text}"
        return found[0]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts, and refuses the addresses in `refuse`."""

    def __init__(self):
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.port = 0
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if address.lower() in (a.lower() for a in r.recipients)]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self.received)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(settings):
    """Start the server and point Django's SMTP backend at it (through the pytest-django `settings`)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    inbox.port = port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield inbox
    finally:
        controller.stop()
