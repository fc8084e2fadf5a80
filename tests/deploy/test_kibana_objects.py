"""deploy/kibana/saved-objects.ndjson, checked offline (Kibana cannot run here): every line parses,
each type has its required attributes, every reference resolves inside the file, queries are valid
newsmon (Lucene) queries. tests/integration/test_elasticsearch_kibana.py checks the fields used
against the mapping of an index created on a real Elasticsearch node."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from newsmon.kibana import SAVED_OBJECTS, saved_objects
from pipeline.query import parse_query

REQUIRED = {
    "index-pattern": ("title", "timeFieldName"),
    "search": ("title", "columns", "sort", "kibanaSavedObjectMeta"),
    "lens": ("title", "visualizationType", "state"),
    "map": ("title", "layerListJSON", "mapStateJSON"),
    "dashboard": ("title", "panelsJSON", "optionsJSON", "kibanaSavedObjectMeta"),
}
SAVED_SEARCHES = {"newsmon: counterterrorism", "newsmon: minerals cooperation",
                  "newsmon: counterterrorism and minerals cooperation", "newsmon: Balochistan"}
COUNT_FIELD = "___records___"  # Lens' "count of records": not a document field


def load() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    lines = [json.loads(line) for line in SAVED_OBJECTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[:-1], lines[-1]


def refs(obj: dict) -> dict[str, dict]:
    return {ref["name"]: ref for ref in obj["references"]}


def searches_query(obj: dict) -> str:
    source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    return source.get("query", {}).get("query", "")


def query_fields(query: str) -> set[str]:
    """Field names written ``field:value`` in a Lucene query (quoted text left out)."""
    unquoted = re.sub(r'"[^"]*"', '""', query)
    return {m for m in re.findall(r"([A-Za-z_@][\w.@]*):", unquoted) if m != "_exists_"}


def lens_columns(obj: dict) -> list[dict]:
    layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    return [column for layer in layers.values() for column in layer["columns"].values()]


def fields_used(objects: list[dict]) -> dict[str, set[str]]:
    """Every document field the objects use, by the role that constrains its type."""
    used: dict[str, set[str]] = {"date": set(), "aggregatable": set(), "geo_point": set(), "any": set()}
    for obj in objects:
        attributes, kind = obj["attributes"], obj["type"]
        if kind == "index-pattern":
            used["date"].add(attributes["timeFieldName"])
        elif kind == "search":
            used["any"].update(attributes["columns"])
            used["date"].update(field for field, _ in attributes["sort"])
            used["any"].update(query_fields(searches_query(obj)))
        elif kind == "lens":
            for column in lens_columns(obj):
                if column["sourceField"] != COUNT_FIELD:
                    role = "date" if column["operationType"] == "date_histogram" else "aggregatable"
                    used[role].add(column["sourceField"])
        elif kind == "map":
            for layer in json.loads(attributes["layerListJSON"]):
                source = layer["sourceDescriptor"]
                if source.get("geoField"):
                    used["geo_point"].add(source["geoField"])
                    used["any"].update(source.get("tooltipProperties", []))
    return used


def test_every_line_parses_and_the_export_summary_counts_the_objects():
    objects, summary = load()
    assert summary["exportedCount"] == len(objects) and summary["missingRefCount"] == 0
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)
    for obj in objects:
        assert {"id", "type", "attributes", "references", "coreMigrationVersion", "typeMigrationVersion"} <= set(obj)


@pytest.mark.parametrize("kind", sorted(REQUIRED))
def test_required_attributes_per_type(kind):
    objects, _ = load()
    of_kind = [o for o in objects if o["type"] == kind]
    assert of_kind, f"no {kind} object"
    for obj in of_kind:
        missing = [a for a in REQUIRED[kind] if a not in obj["attributes"]]
        assert not missing, f"{kind} {obj['id']}: missing {missing}"


def test_every_reference_resolves_inside_the_file():
    objects, _ = load()
    present = {(o["type"], o["id"]) for o in objects}
    for obj in objects:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in present, f"{obj['id']}: dangling reference {ref}"


def test_reference_names_match_their_users():
    objects, _ = load()
    for obj in objects:
        names, attributes = refs(obj), obj["attributes"]
        if obj["type"] == "search":
            source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
            assert names[source["indexRefName"]]["type"] == "index-pattern"
        elif obj["type"] == "lens":
            for layer_id in attributes["state"]["datasourceStates"]["formBased"]["layers"]:
                assert names[f"indexpattern-datasource-layer-{layer_id}"]["type"] == "index-pattern"
        elif obj["type"] == "map":
            for layer in json.loads(attributes["layerListJSON"]):
                ref_name = layer["sourceDescriptor"].get("indexPatternRefName")
                assert ref_name is None or names[ref_name]["type"] == "index-pattern"
        elif obj["type"] == "dashboard":
            panels = json.loads(attributes["panelsJSON"])
            assert len({p["panelIndex"] for p in panels}) == len(panels)
            for panel in panels:
                ref = names[f"{panel['panelIndex']}:{panel['panelRefName']}"]
                assert ref["type"] == panel["type"]
                grid = panel["gridData"]
                assert grid["i"] == panel["panelIndex"] and grid["x"] >= 0 and grid["x"] + grid["w"] <= 48


def test_lens_layers_are_complete():
    objects, _ = load()
    for obj in (o for o in objects if o["type"] == "lens"):
        state = obj["attributes"]["state"]
        for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
            assert sorted(layer["columnOrder"]) == sorted(layer["columns"])
            for visual in state["visualization"]["layers"]:
                used = [visual["xAccessor"], *visual["accessors"], visual.get("splitAccessor")]
                assert visual["layerId"] == layer_id and set(filter(None, used)) <= set(layer["columns"])


def test_the_issue_s_objects_are_all_there():
    objects, _ = load()
    titles = {o["attributes"]["title"] for o in objects}
    assert titles >= SAVED_SEARCHES
    data_view = next(o for o in objects if o["type"] == "index-pattern")
    assert (data_view["attributes"]["title"], data_view["attributes"]["timeFieldName"]) == ("newsmon-items", "@timestamp")
    dashboard = next(o for o in objects if o["type"] == "dashboard")
    assert {r["type"] for r in dashboard["references"]} == {"lens", "map", "search"}
    lens_fields = {c["sourceField"] for o in objects if o["type"] == "lens" for c in lens_columns(o)}
    assert {"@timestamp", "topics", "story_id", "source.raw", "entities.persons.raw",
            "entities.organizations.raw"} <= lens_fields


def test_saved_search_queries_are_newsmon_queries():
    objects, _ = load()
    for obj in (o for o in objects if o["type"] == "search"):
        assert json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["language"] == "lucene"
        parse_query(searches_query(obj))  # the language `newsmon search` and alert rules take


def test_the_import_points_the_data_view_at_the_configured_alias():
    lines = [json.loads(line) for line in saved_objects(SAVED_OBJECTS, "team-items").decode().splitlines()]
    assert next(o for o in lines if o.get("type") == "index-pattern")["attributes"]["title"] == "team-items"
    assert saved_objects(SAVED_OBJECTS, "newsmon-items") == SAVED_OBJECTS.read_bytes()
