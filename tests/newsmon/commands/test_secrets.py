"""Alert secrets are needed only by the commands that send: search and feeds work without them,
`consume alerter` and `alerts retry` refuse with one line naming the variable, `rules list` names it."""

import pytest

from newsmon import cli


def config(tmp_path) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(f"index: sqlite:///{tmp_path}/index.db\nlog: sqlite:///{tmp_path}/log.db\n"
                    f"state: sqlite:///{tmp_path}/state.db\nfeeds: [{{id: local, source: Local, url: 'http://127.0.0.1:9/feed.xml'}}]\n"
                    "rules:\n  - name: ct\n    actions: [{type: webhook, url_env: CT_HOOK_URL, secret_env: CT_SECRET}]\n")
    return str(path)


@pytest.fixture(autouse=True)
def no_secrets(monkeypatch):
    monkeypatch.delenv("CT_HOOK_URL", raising=False)
    monkeypatch.delenv("CT_SECRET", raising=False)


@pytest.mark.parametrize("argv", [["search", "Taliban"], ["feeds", "list"], ["status"], ["alerts", "list"]])
def test_commands_that_do_not_send_need_no_secret(tmp_path, capsys, argv):
    assert cli.main([*argv, "-c", config(tmp_path)]) == 0
    assert "CT_HOOK_URL" not in capsys.readouterr().err


def test_rules_list_names_the_missing_variables(tmp_path, capsys):
    assert cli.main(["rules", "list", "-c", config(tmp_path)]) == 0
    assert "missing: CT_HOOK_URL, CT_SECRET not set (needed by run, consume alerter and alerts retry)" \
        in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["consume", "alerter", "--until-idle"], ["alerts", "retry", "--failed"]])
def test_commands_that_send_exit_2_naming_the_variable(tmp_path, capsys, argv):
    assert cli.main([*argv, "-c", config(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "rules[0] (ct).actions[0].url_env: environment variable CT_HOOK_URL is not set (and 1 more)" in err


def test_with_the_secrets_set_the_alerter_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("CT_HOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("CT_SECRET", "s3cret")
    assert cli.main(["consume", "alerter", "--until-idle", "-c", config(tmp_path)]) == 0
