"""Analysts' verdicts on a real Elasticsearch node: `newsmon label` puts feedback.<topic> on the
document, searchable as on SQLite; an index made by the previous template (no feedback field) learns it
when `newsmon setup` installs the new one."""

from __future__ import annotations

import json
import time

import pytest

from pipeline.document import index_document
from pipeline.item import utc_now
from pipeline.transport.elasticsearch_mapping import TEMPLATE_FILE
from tests.factories import make_classified
from tests.integration.es_fixtures import es, es_url

pytestmark = pytest.mark.integration


def config(es, tmp_path) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(es.yaml() + f"log: sqlite:///{tmp_path}/log.db\n")
    return str(path)


def seed(es, ids: list[str], **env: str) -> None:
    index = es.index(**env)
    index.index([index_document(make_classified(id=i, url=f"https://x.test/{i}", story_id="s1",
                                                topics=("minerals_cooperation",)), utc_now()) for i in ids])
    assert index.flush() == []
    index.close()
    es.refresh()


def search_ids(es, path: str, query: str) -> list[str]:
    done = es.newsmon("search", query, "--json", "-c", path)
    assert done.returncode == 0, done.stderr
    return sorted(hit["id"] for hit in json.loads(done.stdout)["hits"])


def test_a_verdict_is_searchable_within_a_second(es, tmp_path):
    path = config(es, tmp_path)
    seed(es, ["a1", "a2"])
    done = es.newsmon("label", "--story", "s1", "--topic", "minerals_cooperation=no", "--by", "ana", "-c", path)
    assert done.returncode == 0, done.stderr
    marked = time.monotonic()
    while search_ids(es, path, "feedback.minerals_cooperation:no") != ["a1", "a2"]:
        assert time.monotonic() - marked < 5, "the verdict did not reach the index"
        time.sleep(0.1)
    print(f"feedback searchable {time.monotonic() - marked:.2f}s after `newsmon label` returned")
    assert search_ids(es, path, "feedback.minerals_cooperation:NO") == ["a1", "a2"]  # keyword: case-insensitive


def test_an_index_of_the_previous_template_learns_the_feedback_field(es, tmp_path):
    template = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    mappings = template["template"]["mappings"]
    mappings["dynamic_templates"] = [t for t in mappings["dynamic_templates"] if "feedback" not in t]
    del mappings["properties"]["feedback"]
    template["version"] = 1
    old = tmp_path / "v1.template.json"
    old.write_text(json.dumps(template))
    seed(es, ["b1"], NEWSMON_ELASTICSEARCH_TEMPLATE_FILE=str(old))  # written under the previous template
    with es.client() as client:
        before = client.indices.get_mapping(index=f"{es.alias}-*").body
    assert all("feedback" not in m["mappings"]["properties"] for m in before.values())
    path = config(es, tmp_path)
    assert es.newsmon("setup", "-c", path).returncode == 0
    done = es.newsmon("label", "b1", "--topic", "counterterrorism=yes", "-c", path)
    assert done.returncode == 0, done.stderr
    es.refresh()
    assert search_ids(es, path, "feedback.counterterrorism:yes") == ["b1"]
