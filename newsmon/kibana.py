"""Kibana saved objects: ``newsmon setup --kibana URL`` imports deploy/kibana/saved-objects.ndjson.

The file holds the data view on the read alias, the saved searches, the Lens charts, the map and the
dashboard (see docs/deploy.md). It is sent to Kibana's import API (with the data view pointed at
``elasticsearch.alias`` when that is not ``newsmon-items``),
``POST /api/saved_objects/_import?overwrite=true`` (multipart, field ``file``, header
``kbn-xsrf: true``), so importing again replaces the objects instead of duplicating them. Kibana
uses the Elasticsearch credentials from the environment (``NEWSMON_ES_API_KEY``, or
``NEWSMON_ES_USERNAME``/``NEWSMON_ES_PASSWORD``) and ``elasticsearch.ca_file`` for https.
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, NewsmonError
from pipeline.settings import ElasticsearchSettings

__all__ = ["SAVED_OBJECTS", "DEFAULT_ALIAS", "saved_objects", "import_saved_objects"]

logger = logging.getLogger(__name__)

SAVED_OBJECTS = Path(__file__).resolve().parents[1] / "deploy" / "kibana" / "saved-objects.ndjson"
_TIMEOUT = 60.0
DEFAULT_ALIAS = "newsmon-items"  # the data view title in the file


def saved_objects(path: Path, alias: str) -> bytes:
    """The NDJSON file, with the data view pointed at ``alias`` when it is not the default."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        if line.strip():
            entry = json.loads(line)
            if entry.get("type") == "index-pattern" and alias != DEFAULT_ALIAS:
                entry["attributes"]["title"] = alias
                line = json.dumps(entry, separators=(",", ":"))
            out.append(line)
    return ("\n".join(out) + "\n").encode("utf-8")


def _multipart(content: bytes, filename: str) -> tuple[bytes, str]:
    boundary = f"newsmon-{uuid.uuid4().hex}"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/ndjson\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _headers(es: ElasticsearchSettings, content_type: str) -> dict[str, str]:
    headers = {"kbn-xsrf": "true", "Content-Type": content_type}
    if es.api_key:
        headers["Authorization"] = f"ApiKey {es.api_key}"
    elif es.username:
        token = base64.b64encode(f"{es.username}:{es.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return headers


def _summary(response: dict[str, Any]) -> str:
    errors = response.get("errors") or []
    first = errors[0] if errors else {}
    detail = f"{first.get('type')} {first.get('id')}: {json.dumps(first.get('error'))}" if first else ""
    return f"{response.get('successCount', 0)} imported, {len(errors)} failed{'; first: ' + detail if detail else ''}"


def import_saved_objects(kibana_url: str, es: ElasticsearchSettings, path: Path = SAVED_OBJECTS) -> str:
    """Import the saved objects; returns a one-line summary. ConfigError when Kibana cannot be
    reached or refuses the credentials, NewsmonError when it reports objects it could not import."""
    if not kibana_url.startswith(("http://", "https://")):
        raise ConfigError(f"--kibana: expected an http(s) URL, got {kibana_url!r}")
    endpoint = kibana_url.rstrip("/") + "/api/saved_objects/_import?overwrite=true"
    body, content_type = _multipart(saved_objects(path, es.alias), path.name)
    request = urllib.request.Request(endpoint, data=body, method="POST", headers=_headers(es, content_type))
    context = ssl.create_default_context(cafile=es.ca_file) if es.ca_file and kibana_url.startswith("https") else None
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT, context=context) as reply:
            response = json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as exc:
        text = exc.read(500).decode("utf-8", "replace").strip()
        raise ConfigError(f"--kibana: {endpoint} answered {exc.code}: {text or exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigError(f"--kibana: cannot reach Kibana at {kibana_url}: {reason}") from None
    except json.JSONDecodeError:
        raise ConfigError(f"--kibana: {endpoint} did not answer with JSON: is this Kibana?") from None
    if not response.get("success"):
        raise NewsmonError(f"Kibana import from {path.name}: {_summary(response)}")
    logger.info("event=kibana_import url=%s imported=%s", kibana_url, response.get("successCount"))
    return f"kibana ready: {kibana_url} ({_summary(response)})"
