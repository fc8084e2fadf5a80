"""deploy/compose.yaml, checked without Docker: every service can be built or pulled and is health
checked, dependencies name existing services with a condition, volumes are declared, and the newsmon
services' environment is valid newsmon settings pointing at the compose services."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from pipeline.settings import ConsumerSettings, ElasticsearchSettings, KafkaSettings, ProducerSettings, load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
NEWSMON_STAGES = {"setup", "produce", "classifier", "indexer", "alerter"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def known_variables() -> set[str]:
    """Every NEWSMON_* variable newsmon reads (docs/configuration.md)."""
    names = {f"NEWSMON_{k}" for k in ("LOG", "INDEX", "STATE", "RULES_DIR", "METRICS_PORT", "METRICS_HOST",
                                       "LOG_LEVEL", "ES_API_KEY", "ES_USERNAME", "ES_PASSWORD",
                                       "KAFKA_USERNAME", "KAFKA_PASSWORD")}
    for section, cls in (("PRODUCER", ProducerSettings), ("CONSUMER", ConsumerSettings), ("KAFKA", KafkaSettings),
                         ("ELASTICSEARCH", ElasticsearchSettings)):
        names |= {f"NEWSMON_{section}_{f.name.upper()}" for f in fields(cls)}
    return names


def test_every_service_is_built_or_pulled_and_health_checked():
    services = compose()["services"]
    assert {"kafka", "elasticsearch", "kibana"} | NEWSMON_STAGES <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if service.get("restart") == "no":  # a one-shot job: it exits, so "healthy" means nothing
            assert service["healthcheck"] == {"disable": True}, name
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name}: no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_dependencies_name_existing_services_with_a_condition():
    services = compose()["services"]
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services and dependency != name, f"{name} -> {dependency}"
            assert spec["condition"] in CONDITIONS, f"{name} -> {dependency}"
            if spec["condition"] == "service_healthy":
                assert not services[dependency].get("healthcheck", {}).get("disable"), dependency
    for stage in NEWSMON_STAGES - {"setup"}:
        assert services[stage]["depends_on"] == {"setup": {"condition": "service_completed_successfully"}}
    assert set(services["setup"]["depends_on"]) == {"kafka", "elasticsearch", "kibana"}


def test_named_volumes_are_declared():
    document = compose()
    declared = set(document.get("volumes") or {})
    for name, service in document["services"].items():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} not declared"
    assert {"kafka-data", "es-data"} <= declared


@pytest.mark.parametrize("stage", sorted(NEWSMON_STAGES))
def test_newsmon_services_run_newsmon_with_valid_settings(stage):
    service = compose()["services"][stage]
    env = {k: str(v) for k, v in service["environment"].items()}
    assert set(env) <= known_variables(), set(env) - known_variables()
    settings = load_settings(None, env)
    assert settings.log == "kafka://kafka:9092" and settings.index == "http://elasticsearch:9200"
    assert settings.state.startswith("sqlite:////data/")
    command = service["command"]
    assert command[0] in ("setup", "produce", "consume") and "/config/newsmon.yaml" in command
    if command[0] == "consume":
        assert command[1] == stage
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (COMPOSE.parent / service["build"]["context"] / service["build"]["dockerfile"]).is_file()


def test_the_setup_job_imports_kibana_from_the_kibana_service():
    setup = compose()["services"]["setup"]["command"]
    assert setup[setup.index("--kibana") + 1] == "http://kibana:5601"


def test_the_dockerfile_ships_what_setup_reads():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for path in ("deploy/elasticsearch", "deploy/kibana", "newsmon", "pipeline", "producers", "consumers",
                 "requirements"):
        assert f"COPY {path} " in dockerfile, path
    assert "pip install --require-hashes --no-deps -r requirements/lock-run.txt" in dockerfile
    assert "-r requirements/model.txt" in dockerfile  # the classifier stage loads the spaCy model
    assert "-e '.[kafka,elasticsearch]'" in dockerfile and "USER newsmon" in dockerfile
