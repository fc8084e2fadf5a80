"""Alert rules in the configuration and in rules_dir: every field, and errors naming file, rule and field."""

from hashlib import sha256

import pytest

from pipeline.alerting.rules import missing_secrets, require_secrets
from pipeline.errors import ConfigError
from pipeline.settings import load_settings

FULL = """
rules:
  - name: ct-kp
    query: 'Peshawar OR "Khyber Pakhtunkhwa"'
    topics: [counterterrorism]
    min_score: 0.6
    countries: [pk]
    sources: [Dawn, Geo]
    entities: {groups: [Tehreek-e-Taliban Pakistan]}
    severity: critical
    realert: 6h
    digest: 1h
    actions:
      - {type: slack, url_env: SLACK_URL, secret_env: HOOK_SECRET, timeout: 5s, max_attempts: 4}
      - {type: teams, url: 'https://example.test/workflows/x'}
      - {type: email, host: smtp.test, from: newsmon@desk.test, to: [duty@desk.test], username_env: SMTP_USER,
         password_env: SMTP_PASS}
      - {type: webhook, url: 'https://hooks.test/ct?token=abc'}
  - {name: quiet, enabled: false}
"""
ENV = {"SLACK_URL": "https://hooks.slack.test/services/T/B/secret", "HOOK_SECRET": "s", "SMTP_USER": "u",
       "SMTP_PASS": "p"}


def write(path, text):
    path.write_text(text)
    return path


def test_every_rule_field(tmp_path):
    settings = load_settings(write(tmp_path / "newsmon.yaml", FULL), ENV)
    rule, quiet = settings.rules
    assert (rule.countries, rule.sources, dict(rule.entities)) == (("PK",), ("Dawn", "Geo"),
                                                                   {"groups": ("Tehreek-e-Taliban Pakistan",)})
    assert (rule.severity, rule.realert, rule.digest, rule.min_score) == ("critical", 21600, 3600, 0.6)
    slack, teams, email, webhook = rule.actions
    assert (slack.url, slack.secret, slack.timeout, slack.max_attempts) == (ENV["SLACK_URL"], "s", 5, 4)
    assert slack.target == "slack:https://hooks.slack.test/~" + sha256(b"/services/T/B/secret").hexdigest()[:8]
    assert "secret" not in repr(slack) and "secret" not in slack.target
    assert teams.target == "teams:https://example.test/~" + sha256(b"/workflows/x").hexdigest()[:8]
    assert email.options.port == 587 and email.options.starttls and email.options.password == "p"
    assert email.target == "email:duty@desk.test" and "'p'" not in repr(email)
    assert webhook.target == "webhook:https://hooks.test/~" + sha256(b"/ct").hexdigest()[:8]
    assert not quiet.enabled and quiet.actions[0].type == "log" and quiet.realert is None


def test_rules_dir_files_hold_one_rule_or_a_list(tmp_path):
    (tmp_path / "rules.d").mkdir()
    write(tmp_path / "rules.d" / "a.yaml", "name: one\nquery: Quetta\n")
    write(tmp_path / "rules.d" / "b.yml", "- {name: two}\n- {name: three, severity: info}\n")
    write(tmp_path / "rules.d" / "c.yaml", "rules: [{name: four}]\n")
    write(tmp_path / "rules.d" / "notes.txt", "ignored")
    settings = load_settings(write(tmp_path / "newsmon.yaml", "rules_dir: rules.d\nrules: [{name: zero}]\n"), {})
    assert [r.name for r in settings.rules] == ["zero", "one", "two", "three", "four"]
    assert settings.rules[1].origin.endswith("rules.d/a.yaml")


def test_rules_dir_from_the_environment(tmp_path):
    (tmp_path / "more").mkdir()
    write(tmp_path / "more" / "x.yaml", "name: x\n")
    settings = load_settings(write(tmp_path / "newsmon.yaml", ""), {"NEWSMON_RULES_DIR": str(tmp_path / "more")})
    assert [r.name for r in settings.rules] == ["x"]


@pytest.mark.parametrize("text, message", [
    ("rules: [{name: r, severity: urgent}]", r"rules\[0\] \(r\).severity: expected one of info, warning, critical"),
    ("rules: [{name: r, realert: soon}]", r"rules\[0\] \(r\).realert: not a duration"),
    ("rules: [{name: r, digest: 10s}]", r"rules\[0\] \(r\).digest: must be at least 60s"),
    ("rules: [{name: r, countries: [Pakistan]}]", r"\(r\).countries: expected ISO 3166"),
    ("rules: [{name: r, entities: {militants: [x]}}]", r"\(r\).entities.militants: unknown entity kind"),
    ("rules: [{name: r, min_score: 2}]", r"\(r\).min_score: expected a value from 0 to 1"),
    ("rules: [{name: r, enabled: maybe}]", r"\(r\).enabled: expected true or false"),
    ("rules: [{name: r, colour: red}]", r"\(r\).colour: unknown key"),
    ("rules: [{name: 'bad name'}]", r"rules\[0\].name: use letters"),
    ("rules: [{name: r}, {name: r}]", "rule 'r': name already used in"),
    ("rules: [{name: r, actions: [{type: pager}]}]", r"\(r\).actions\[0\].type: expected one of"),
    ("rules: [{name: r, actions: [{type: slack}]}]", r"\(r\).actions\[0\].url: a slack action needs"),
    ("rules: [{name: r, actions: [{type: email, host: h, from: a@b.test}]}]", r"actions\[0\].to: expected"),
    ("rules: [{name: r, actions: [{type: email, host: h, from: a@b.test, to: c@d.test, username_env: U}]}]",
     "username_env and password_env go together"),
    ("rules: [{name: r, actions: [{type: email, host: h, from: a@b.test, to: c@d.test, password: x}]}]",
     "secrets are read only from the environment"),
    ("rules: [{name: r, actions: [{type: webhook, url: 'https://h.test', retries: 3}]}]",
     r"actions\[0\].retries: unknown key for a webhook action"),
    ("rules_dir: nowhere", "rules_dir is not a directory"),
])
def test_errors_name_the_file_rule_and_field(tmp_path, text, message):
    path = write(tmp_path / "newsmon.yaml", text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(path, {})
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("name: r\nrealert: 5 minutes\n", r"bad.yaml: rules\[0\] \(r\).realert: not a duration"),
    ("name: r\nactions: [{type: webhook, url: 'https://h.test', secret: abc}]\n",
     r"bad.yaml: actions\[0\].secret: secrets are read only"),
    ("name: [unclosed\n", r"bad.yaml: line \d+: invalid YAML"),
])
def test_rules_dir_errors_name_the_file(tmp_path, text, message):
    (tmp_path / "rules.d").mkdir()
    write(tmp_path / "rules.d" / "bad.yaml", text)
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path / "newsmon.yaml", "rules_dir: rules.d\n"), {})


def test_a_duplicate_across_files_names_both(tmp_path):
    (tmp_path / "rules.d").mkdir()
    write(tmp_path / "rules.d" / "x.yaml", "name: ct\n")
    with pytest.raises(ConfigError, match=r"rules.d/x.yaml: rule 'ct': name already used in .*newsmon.yaml"):
        load_settings(write(tmp_path / "newsmon.yaml", "rules_dir: rules.d\nrules: [{name: ct}]\n"), {})


def test_bad_rule_file_exits_2_with_one_line(tmp_path):
    import subprocess
    import sys

    (tmp_path / "rules.d").mkdir()
    write(tmp_path / "rules.d" / "ct.yaml", "- {name: ok}\n- {name: ct-kp, digest: often}\n")
    config = write(tmp_path / "newsmon.yaml", "rules_dir: rules.d\n")
    done = subprocess.run([sys.executable, "-m", "newsmon.cli", "rules", "list", "-c", str(config)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "rules.d/ct.yaml: rules[1] (ct-kp).digest: not a duration" in done.stderr


@pytest.mark.parametrize("text, message", [
    ("rules: [{name: r, actions: [{type: teams, url: 'https://t.test', secret_env: NOPE}]}]",
     r"rules\[0\] \(r\).actions\[0\].secret_env: environment variable NOPE is not set"),
    ("rules: [{name: r, actions: [{type: webhook, url_env: MISSING}]}]",
     r"\(r\).actions\[0\].url_env: environment variable MISSING is not set"),
    ("rules: [{name: r, actions: [{type: email, host: h, from: a@b.test, to: c@d.test, username_env: U,"
     " password_env: P}]}]", r"username_env: environment variable U is not set \(and 1 more\)"),
])
def test_unset_secrets_load_and_only_the_commands_that_send_refuse_them(tmp_path, text, message):
    settings = load_settings(write(tmp_path / "newsmon.yaml", text), {})  # searching needs no secret
    assert missing_secrets(settings.rules) and settings.rules[0].actions[0].unset
    with pytest.raises(ConfigError, match=message) as info:
        require_secrets(settings.rules)
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)


def test_set_secrets_and_disabled_rules_need_nothing(tmp_path):
    text = ("rules: [{name: r, actions: [{type: webhook, url_env: HOOK}]},"
            " {name: quiet, enabled: false, actions: [{type: webhook, url_env: OTHER}]}]")
    settings = load_settings(write(tmp_path / "newsmon.yaml", text), {"HOOK": "https://hooks.test/x"})
    assert missing_secrets(settings.rules) == []
    require_secrets(settings.rules)
    assert settings.rules[0].actions[0].url == "https://hooks.test/x"
