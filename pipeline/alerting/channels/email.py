"""E-mail over SMTP (smtplib): one message with a plain-text part and an HTML part.

Every value shown in the HTML part is escaped (``html.escape``) and links are kept only for
http(s) URLs. With ``starttls`` (the default) the connection is upgraded before credentials are
sent; credentials come only from the environment variables the action names. ``Message-ID`` is
derived from the alert id, so a resent alert carries the same id. SMTP 4xx replies and network
errors raise RetryLater; 5xx replies, a refused login or a server without STARTTLS raise
PermanentError.
"""

from __future__ import annotations

import hashlib
import html
import logging
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from pipeline.alerting.actions import ActionSpec, Secrets
from pipeline.alerting.channels.base import Alert
from pipeline.alerting.render.view import StoryView, body, clip, headline, story_views
from pipeline.alerting.values import fail, flag, number, strings
from pipeline.errors import PermanentError, RetryLater, Unreachable

__all__ = ["KEYS", "EmailSpec", "configure", "target", "address", "text_body", "html_body", "build_message", "send"]

logger = logging.getLogger(__name__)

KEYS = frozenset({"host", "port", "from", "to", "starttls", "username_env", "password_env"})


@dataclass(frozen=True)
class EmailSpec:
    """SMTP delivery (an e-mail action's ``options``): ``starttls`` upgrades the connection before
    any credentials are sent."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = True
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)


def configure(raw: Mapping[str, Any], where: str, secrets: Secrets) -> dict[str, Any]:
    for key in ("host", "from"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise fail(f"{where}.{key}", "required string")
    recipients = strings(raw.get("to"), f"{where}.to")
    if not recipients or not all("@" in r for r in (*recipients, raw["from"])):
        raise fail(f"{where}.to", "expected one or more e-mail addresses (and an address in 'from')")
    starttls = flag(raw.get("starttls", True), where, "starttls")
    port = number(int, raw.get("port", 587 if starttls else 25), f"{where}.port", 1, 65535)
    username = secrets.get(raw["username_env"], f"{where}.username_env") if raw.get("username_env") else ""
    password = secrets.get(raw["password_env"], f"{where}.password_env") if raw.get("password_env") else ""
    if bool(raw.get("username_env")) != bool(raw.get("password_env")):
        raise fail(where, "username_env and password_env go together")
    spec = EmailSpec(raw["host"].strip(), port, raw["from"].strip(), recipients, starttls, username, password)
    return {"options": spec}


def _spec(action: ActionSpec) -> EmailSpec | None:
    return action.options if isinstance(action.options, EmailSpec) else None


def target(action: ActionSpec) -> str:
    spec = _spec(action)
    return "email:" + ",".join(spec.recipients) if spec is not None else "email"


def address(action: ActionSpec) -> tuple[str, int] | None:
    spec = _spec(action)
    return (spec.host, spec.port) if spec is not None else None


def _facts(story: StoryView, alert: Alert) -> list[tuple[str, str]]:
    facts = [("Source", story.source), ("Time", story.when), ("Severity", str(alert.get("severity", ""))),
             ("Rule", str(alert.get("rule", ""))), ("Topics", ", ".join(f"{t} {s:.2f}" for t, s in story.topics))]
    facts += [(f"Evidence ({t})", ", ".join(p)) for t, p in story.evidence]
    facts += [(kind.capitalize(), ", ".join(names)) for kind, names in story.entities]
    facts.append(("Countries", ", ".join(story.countries)))
    return [(k, v) for k, v in facts if v]


def text_body(alert: Alert) -> str:
    intro = body(alert)  # the rule's body_template, rendered
    lines = [headline(alert), ""] + ([intro, ""] if intro.strip() else [])
    for story in story_views(alert):
        lines += [story.title, story.url] if story.url else [story.title]
        lines += [f"  {k}: {v}" for k, v in _facts(story, alert)]
        lines += [f"  {clip(story.summary, 600)}"] if story.summary else []
        lines += [f"  Wrong topic? Mark it on the story page: {story.page}", ""] if story.page else [""]
    return "\n".join(lines)


def _html_story(story: StoryView, alert: Alert) -> str:
    title = html.escape(story.title)
    link = f'<a href="{html.escape(story.url, quote=True)}">{title}</a>' if story.url else title
    rows = "".join(f"<tr><th align=\"left\">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                   for k, v in _facts(story, alert))
    summary = f"<p>{html.escape(clip(story.summary, 600))}</p>" if story.summary else ""
    page = (f'<p>Wrong topic? <a href="{html.escape(story.page, quote=True)}">Mark it on the story page</a></p>'
            if story.page else "")
    return f"<h3>{link}</h3>{summary}<table>{rows}</table>{page}"


def html_body(alert: Alert) -> str:
    stories = "<hr>".join(_html_story(s, alert) for s in story_views(alert))
    text = body(alert)  # the rule's body_template, rendered; its line breaks kept
    intro = f'<p style="white-space: pre-line">{html.escape(text)}</p>' if text.strip() else ""
    return f"<!DOCTYPE html><html><body><h2>{html.escape(headline(alert))}</h2>{intro}{stories}</body></html>"


def build_message(spec: EmailSpec, alert: Alert) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = clip(headline(alert), 200)
    message["From"] = spec.sender
    message["To"] = ", ".join(spec.recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{hashlib.sha256(alert['id'].encode('utf-8')).hexdigest()[:32]}@newsmon>"
    message["X-Newsmon-Alert-Id"] = alert["id"]
    message.set_content(text_body(alert))
    message.add_alternative(html_body(alert), subtype="html")
    return message


def _deliver(spec: EmailSpec, message: EmailMessage, timeout: float) -> dict:
    with smtplib.SMTP(spec.host, spec.port, timeout=timeout) as smtp:
        smtp.ehlo()
        if spec.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if spec.username:
            smtp.login(spec.username, spec.password)
        return smtp.send_message(message)


def _reply(error: bytes | str) -> str:
    return error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)


def send(action: ActionSpec, alert: Alert) -> None:
    spec = _spec(action)
    if spec is None:
        raise PermanentError("email action without SMTP settings")
    try:
        refused = _deliver(spec, build_message(spec, alert), action.timeout)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = f"email: every recipient refused ({', '.join(map(str, codes))})"
        raise (PermanentError(error) if all(c >= 500 for c in codes) else RetryLater(error)) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise PermanentError(f"email: {exc}") from None
    except smtplib.SMTPResponseException as exc:
        error = f"email: SMTP {exc.smtp_code} {_reply(exc.smtp_error)}"
        raise (PermanentError(error) if exc.smtp_code >= 500 else RetryLater(error)) from None
    except (ConnectionRefusedError, socket.gaierror) as exc:  # no SMTP server answered at all
        raise Unreachable(f"email: {type(exc).__name__}: {exc}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise RetryLater(f"email: {type(exc).__name__}: {exc}") from None
    if refused:
        logger.warning("event=email_partly_refused alert=%s refused=%s", alert["id"], ",".join(refused))
