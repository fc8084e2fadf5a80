"""Every field the Kibana saved objects use exists, with a type that fits its use, in the mapping of an
index created by ``setup`` on a real Elasticsearch node."""

from __future__ import annotations

import pytest

from tests.deploy.test_kibana_objects import fields_used, load
from tests.integration.es_fixtures import es, es_url

pytestmark = pytest.mark.integration

AGGREGATABLE = {"keyword", "date", "float", "double", "long", "integer", "boolean", "geo_point"}


def flatten(properties: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            out.update(flatten(spec["properties"], f"{path}."))
        else:
            out[path] = spec["type"]
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = sub_spec["type"]
    return out


def test_every_field_the_saved_objects_use_is_in_the_mapping(es):
    index = es.index()
    index.setup()
    index.close()
    with es.client() as client:
        mappings = client.indices.get_mapping(index=es.alias).body
    (mapping,) = mappings.values()
    types = flatten(mapping["mappings"]["properties"])
    used = fields_used(load()[0])
    problems = [f"{f}: missing" for role in used for f in used[role] if f not in types]
    problems += [f"{f}: {types[f]} is not a date" for f in used["date"] if types.get(f, "date") != "date"]
    problems += [f"{f}: {types[f]} cannot be aggregated" for f in used["aggregatable"]
                 if types.get(f, "keyword") not in AGGREGATABLE]
    problems += [f"{f}: {types[f]} is not a geo_point" for f in used["geo_point"] if types.get(f, "geo_point") != "geo_point"]
    assert problems == []
    assert sum(len(fields) for fields in used.values()) >= 12  # the check is not vacuous
