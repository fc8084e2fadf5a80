"""A typo never passes silently, at any depth: every mapping of a configuration that uses every
kind of entry (feeds, topics with phrase mappings, rules with each action type, every section)
refuses an unknown key, naming its path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import section_keys, settings_from_mapping

FULL: dict[str, Any] = {
    "log": "sqlite:///log.db", "index": "sqlite:///index.db", "state": "sqlite:///state.db",
    "feeds": [{"id": "dawn", "url": "https://dawn.test/rss", "source": "Dawn", "interval": "5m", "full_text": True}],
    "topics": {"cpec_security": {"description": "CPEC security", "threshold": 0.6,
                                 "phrases": ["CPEC", {"text": "Chinese nationals", "weight": 2, "near": ["attack"]}],
                                 "negative": [{"text": "cricket", "weight": 1}]}},
    "rules": [{"name": "ct", "query": "Quetta", "topics": ["counterterrorism"],
               "actions": [{"type": "log"}, {"type": "webhook", "url": "https://hooks.test/x", "timeout": "5s"},
                           {"type": "slack", "url": "https://hooks.slack.test/T/B/X"},
                           {"type": "teams", "url": "https://teams.test/hook"},
                           {"type": "email", "host": "smtp.test", "port": 587, "from": "a@b.test",
                            "to": ["c@d.test"]}]}],
    **{name: {} for name in section_keys() if not name.endswith("[]")},  # feeds[] is the entries above
}


def mapping_paths(value: Any, path: tuple = ()) -> list[tuple]:
    """The path of every mapping inside ``value`` (dict keys and list indices), the top level first."""
    found = [path] if isinstance(value, dict) else []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found += mapping_paths(child, (*path, key))
    return found


def with_typo(path: tuple) -> dict[str, Any]:
    raw = copy.deepcopy(FULL)
    target = raw
    for key in path:
        target = target[key]
    target["zz_typo"] = 1
    return raw


def test_the_full_configuration_loads():
    settings = settings_from_mapping(FULL, "full.yaml", {})
    assert settings.feeds[0].full_text and "cpec_security" in settings.topics
    assert [a.type for a in settings.rules[0].actions] == ["log", "webhook", "slack", "teams", "email"]


PATHS = mapping_paths(FULL)


def test_every_kind_of_mapping_is_covered():
    kinds = {tuple(k if isinstance(k, str) else "#" for k in path[:1]) for path in PATHS}
    assert {("feeds",), ("topics",), ("rules",)} <= kinds and len(PATHS) >= 18


@pytest.mark.parametrize("path", PATHS, ids=lambda p: ".".join(map(str, p)) or "top")
def test_an_unknown_key_in_any_mapping_is_refused_with_its_path(path):
    with pytest.raises(ConfigError, match="zz_typo") as refused:
        settings_from_mapping(with_typo(path), "c.yaml", {})
    message = str(refused.value)
    assert message.startswith("c.yaml: ") and "\n" not in message
    for key in path:
        assert (f"[{key}]" if isinstance(key, int) else str(key)) in message, (path, message)
