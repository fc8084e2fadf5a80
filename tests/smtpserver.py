"""A tiny local SMTP server for e-mail action tests (socketserver, no TLS): speaks enough of RFC 5321
(EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to receive messages from smtplib, and can answer
RCPT from a script (e.g. 451 then 250) to exercise retries."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

__all__ = ["Received", "SmtpServer"]


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class SmtpServer:
    rcpt_replies: list[str] = field(default_factory=list)  # replies to RCPT in order, then "250 OK"
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self) -> SmtpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _rcpt_reply(self) -> str:
        with self.lock:
            return self.rcpt_replies.pop(0) if self.rcpt_replies else "250 OK"

    def _handler(self) -> type[socketserver.StreamRequestHandler]:
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode("ascii") + b"\r\n")

            def handle(self) -> None:
                self.reply("220 localhost test SMTP")
                sender, recipients = "", []
                for raw in self.rfile:
                    command = raw.decode("utf-8", "replace").strip()
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250-localhost" if verb == "EHLO" else "250 localhost")
                        if verb == "EHLO":
                            self.reply("250 8BITMIME")
                    elif verb == "MAIL":
                        sender, recipients = command.split(":", 1)[1].strip().strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        answer = server._rcpt_reply()
                        if answer.startswith("250"):
                            recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                        self.reply(answer)
                    elif verb == "DATA":
                        self.reply("354 end with .")
                        self._data(sender, tuple(recipients))
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # RSET, NOOP
                        self.reply("250 OK")

            def _data(self, sender: str, recipients: tuple[str, ...]) -> None:
                lines = []
                for raw in self.rfile:
                    if raw in (b".\r\n", b".\n"):
                        break
                    lines.append(raw[1:] if raw.startswith(b"..") else raw)
                with server.lock:
                    server.messages.append(Received(sender, recipients, b"".join(lines)))
                self.reply("250 queued")

        return Handler
