import pytest

from pipeline.errors import ConfigError
from pipeline.settings import load_settings

GOOD = """
log: sqlite:///data/x.db
feeds:
  - {id: dawn, url: "https://www.dawn.com/feeds/home", source: Dawn, interval: 10m, country: pk}
rules:
  - name: ct
    query: 'topics:counterterrorism AND Balochistan'
    actions: [{type: webhook, url_env: HOOK_URL, secret_env: HOOK_SECRET}]
topics:
  cpec_security:
    description: security of CPEC projects
    threshold: 0.5
    phrases: [cpec, {text: chinese engineers, weight: 2}]
producer: {timeout: 5s}
"""


def write(tmp_path, text):
    path = tmp_path / "newsmon.yaml"
    path.write_text(text)
    return path


def test_loads_file_and_environment(tmp_path):
    env = {"HOOK_URL": "https://hooks.test/ct", "HOOK_SECRET": "s3cret", "NEWSMON_INDEX": "sqlite:///other.db",
           "NEWSMON_PRODUCER_CONCURRENCY": "2"}
    settings = load_settings(write(tmp_path, GOOD), env)
    assert settings.log == "sqlite:///data/x.db"
    assert settings.index == "sqlite:///other.db"
    assert settings.feeds[0].interval == 600
    assert settings.feeds[0].country == "PK"
    assert settings.producer.timeout == 5 and settings.producer.concurrency == 2
    assert settings.rules[0].actions[0].url == "https://hooks.test/ct"
    assert settings.rules[0].actions[0].secret == "s3cret"
    assert set(settings.topics) == {"counterterrorism", "minerals_cooperation", "cpec_security"}
    assert settings.state_url == "sqlite:///data/x.db"


def test_settings_are_frozen(tmp_path):
    settings = load_settings(write(tmp_path, GOOD), {"HOOK_URL": "https://h.test", "HOOK_SECRET": "x"})
    with pytest.raises(AttributeError):
        settings.log = "sqlite:///elsewhere.db"


@pytest.mark.parametrize("text, message", [
    ("feeds: [{id: a, url: 'ftp://x', source: S}]", r"feeds\[0\].url: expected an http"),
    ("feeds: [{id: a, source: S}]", r"feeds\[0\].url: required"),
    ("feeds: [{id: a, url: 'https://a.test', source: S, country: Pakistan}]",
     r"feeds\[0\].country: expected ISO 3166 alpha-2 codes"),
    ("feeds:\n  - {id: a, url: 'https://a.test', source: S}\n  - {id: a, url: 'https://b.test', source: S}",
     "duplicate feed id 'a'"),
    ("producer: {timeout: soon}", "producer.timeout: not a duration"),
    ("producer: {colour: red}", "producer.colour: unknown key"),
    ("colour: red", "colour: unknown key"),
    ("rules: [{name: r, query: 'title:(a OR'}]", r"rules\[0\] \(r\).query"),
    ("rules: [{name: r, query: 'a', topics: [sports]}]", "unknown topic 'sports'"),
    ("rules: [{name: r, actions: [{type: webhook, url: 'https://h.test', secret: abc}]}]",
     "secrets are read only from the environment"),
    ("topics: {x: {phrases: []}}", "topics.x.phrases: expected a non-empty list"),
    ("topics: {x: {phrases: [a], threshold: 2}}", "topics.x.threshold"),
    ("topics: {x: {phrases: [{text: a, not_near: [1]}]}}", r"topics\.x\.phrases\[0\]\.not_near: expected a list"),
    ("topics: {x: {phrases: [{text: a, near: b, window: -1}]}}", r"topics\.x\.phrases\[0\]\.window: expected a whole number"),
    ("topics: {CPEC_Security: {phrases: [a]}}", "topic name 'CPEC_Security' must be lower-case"),
    ("topics: {2nd_topic: {phrases: [a]}}", "topic name '2nd_topic' must be lower-case"),
    ("log: [1, 2]", "log: expected a string"),
])
def test_errors_name_the_file_and_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(path, {})
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_malformed_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "log: sqlite:///x.db\nfeeds: [\n  {id: a\n")
    with pytest.raises(ConfigError, match=r"newsmon.yaml: line \d+: invalid YAML"):
        load_settings(path, {})


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "absent.yaml", {})


def test_repository_default_configuration_is_valid():
    settings = load_settings("newsmon.yaml", {})
    assert len(settings.feeds) >= 10
    assert {tuple(r.topics) for r in settings.rules} >= {("counterterrorism",), ("minerals_cooperation",)}


def test_classifier_kind_defaults_to_hybrid_and_takes_a_registered_name(tmp_path):
    from pipeline.settings import ClassifierSettings, settings_from_mapping

    assert ClassifierSettings().kind == "hybrid"
    assert settings_from_mapping({"classifier": {"kind": "keyword_only"}}, "x.yaml", {}).classifier.kind == "keyword_only"
    assert settings_from_mapping({}, "x.yaml", {"NEWSMON_CLASSIFIER_KIND": "other"}).classifier.kind == "other"
    for bad in ("Hybrid", "", "2nd", "my-kind", 3):
        with pytest.raises(ConfigError, match=r"x\.yaml: classifier\.kind: expected a lower-case name"):
            settings_from_mapping({"classifier": {"kind": bad}}, "x.yaml", {})


def test_unknown_keys_list_the_known_ones_in_declaration_order():
    from pipeline.settings import settings_from_mapping

    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"producer": {"intervall": "1m"}}, "newsmon.yaml", {})
    assert str(info.value).startswith("newsmon.yaml: producer.intervall: unknown key (known: interval, min_interval,")
    with pytest.raises(ConfigError, match=r"classifier\.colour: unknown key \(known: kind, spacy_model, topic_model,"):
        settings_from_mapping({"classifier": {"colour": "red"}}, "newsmon.yaml", {})
    with pytest.raises(ConfigError, match=r"^x: colour: unknown key \(known: classifier, consumer, elasticsearch, feeds,"
                                          r" index, kafka, log, metrics_host, metrics_port, producer, rules, rules_dir,"
                                          r" state, topics, web\)$"):
        settings_from_mapping({"colour": 1}, "x", {})


def test_every_section_takes_its_environment_variables():
    from pipeline.settings import settings_from_mapping

    env = {"NEWSMON_KAFKA_PARTITIONS": "3", "NEWSMON_ELASTICSEARCH_ALIAS": "news", "NEWSMON_CONSUMER_BATCH_SIZE": "7",
           "NEWSMON_METRICS_PORT": "9108", "NEWSMON_METRICS_HOST": "0.0.0.0", "NEWSMON_STATE": "sqlite:///s.db",
           "NEWSMON_PRODUCER_USER_AGENT": ""}  # an empty variable overrides nothing
    settings = settings_from_mapping({"kafka": {"partitions": 12}}, "x.yaml", env)
    assert (settings.kafka.partitions, settings.elasticsearch.alias, settings.consumer.batch_size) == (3, "news", 7)
    assert (settings.metrics_port, settings.metrics_host, settings.state) == (9108, "0.0.0.0", "sqlite:///s.db")
    assert settings.producer.user_agent.startswith("newsmon/")
    with pytest.raises(ConfigError, match=r"NEWSMON_METRICS_PORT \(environment, metrics_port\): expected a TCP port"):
        settings_from_mapping({}, "x.yaml", {"NEWSMON_METRICS_PORT": "70000"})


def test_credentials_come_only_from_the_environment():
    from pipeline.settings import settings_from_mapping

    env = {"NEWSMON_KAFKA_USERNAME": "ku", "NEWSMON_KAFKA_PASSWORD": "kafka-pw-1", "NEWSMON_ES_API_KEY": "es-key-1"}
    settings = settings_from_mapping({"kafka": {"security_protocol": "sasl_ssl", "sasl_mechanism": "plain"}}, "x", env)
    assert (settings.kafka.username, settings.kafka.password, settings.elasticsearch.api_key) == ("ku", "kafka-pw-1", "es-key-1")
    assert "kafka-pw-1" not in repr(settings) and "es-key-1" not in repr(settings)
    for raw, message in [({"kafka": {"username": "u"}}, r"kafka\.username: unknown key"),
                         ({"elasticsearch": {"password": "p"}}, "secrets are read only from the environment"),
                         ({"kafka": {"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN"}},
                          "needs NEWSMON_KAFKA_USERNAME and NEWSMON_KAFKA_PASSWORD in the environment")]:
        with pytest.raises(ConfigError, match=message):
            settings_from_mapping(raw, "x", {})
    with pytest.raises(ConfigError, match="NEWSMON_ES_USERNAME and NEWSMON_ES_PASSWORD must be set together"):
        settings_from_mapping({}, "x", {"NEWSMON_ES_USERNAME": "u"})
    with pytest.raises(ConfigError, match="set NEWSMON_ES_API_KEY or NEWSMON_ES_USERNAME/PASSWORD, not both"):
        settings_from_mapping({}, "x", {"NEWSMON_ES_API_KEY": "k", "NEWSMON_ES_USERNAME": "u", "NEWSMON_ES_PASSWORD": "p"})
