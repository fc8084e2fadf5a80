"""The analysts' loop as the end-to-end tests drive it, on either backend: the items of one story from
two outlets, two rules on counterterrorism (one skipping stories marked ``no``, one keeping them), and
the search page's JSON API called with its token."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from pipeline.item import format_time, utc_now
from pipeline.transport.base import TOPIC_RAW
from tests.factories import make_raw

CT = "counterterrorism"
TOKEN = "desk-token-7"
SUMMARY = ("A suicide bomber of the banned Tehreek-i-Taliban Pakistan blew himself up at a police station in"
           " Peshawar, killing 12 policemen; counterterrorism officials said the attacker came from Afghanistan.")
FIRST = ("dawn-1", "Dawn", "Suicide bomber kills 12 at police station in Peshawar")
COPY = ("geo-1", "Geo News", "TTP suicide bomber kills 12 at police station in Peshawar")
VERDICT = {"story_id": "dawn-1", "topic": CT, "verdict": "no", "who": "ana"}


def raw(item_id: str, source: str, title: str) -> tuple[str, str, bytes]:
    """A ``newsmon.raw`` record of the story (fetched now)."""
    now = format_time(utc_now())
    item = make_raw(id=item_id, fetched_at=now, published=now, guid=item_id, source=source, title=title,
                    summary=SUMMARY, url=f"https://{source.lower().replace(' ', '')}.test/{item_id}")
    return TOPIC_RAW, item.id, item.to_json()


def rules(hooks_base: str) -> str:
    """``ct`` (skips stories marked not on topic, the default) to /ct, ``ct-keep`` to /keep."""
    return f"""rules:
  - {{name: ct, topics: [{CT}], realert: 1s, actions: [{{type: webhook, url: '{hooks_base}/ct'}}]}}
  - {{name: ct-keep, topics: [{CT}], realert: 1s, skip_marked_no: false,
      actions: [{{type: webhook, url: '{hooks_base}/keep'}}]}}
"""


def call(port: int, method: str, path: str, body: dict | None = None, token: str | None = TOKEN) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def stories(port: int, query: str) -> list[str]:
    status, found = call(port, "GET", f"/api/search?q={urllib.request.quote(query)}")
    assert status == 200, found
    return [story["story_id"] for story in found["stories"]]


def story_of(port: int, item_id: str) -> list[str]:
    return stories(port, f'id:"{item_id}"')
