"""The ``web:`` settings section and its environment overrides."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import WebSettings, settings_from_mapping


def test_defaults_serve_on_loopback():
    web = settings_from_mapping({}, "x.yaml", {}).web
    assert web == WebSettings(enabled=True, host="127.0.0.1", port=8470, refresh_seconds=10.0, token="")


def test_file_values_and_environment_overrides():
    web = settings_from_mapping({"web": {"port": 9000, "refresh_seconds": "30s", "enabled": False}}, "x.yaml",
                                {"NEWSMON_WEB_HOST": "0.0.0.0", "NEWSMON_WEB_PORT": "9100",
                                 "NEWSMON_WEB_TOKEN": "abc"}).web
    assert (web.enabled, web.host, web.port, web.refresh_seconds, web.token) == (False, "0.0.0.0", 9100, 30.0, "abc")
    assert "abc" not in repr(web)


@pytest.mark.parametrize("raw, message", [
    ({"web": {"port": 70000}}, "web.port"), ({"web": {"refresh_seconds": 0}}, "web.refresh_seconds"),
    ({"web": {"colour": "red"}}, "web.colour"), ({"web": {"token": "x"}}, "environment"),
])
def test_bad_values_name_the_field(raw, message):
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping(raw, "x.yaml", {})
