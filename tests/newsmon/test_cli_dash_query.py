"""`newsmon search -Taliban`: a query may begin with '-' (everything without Taliban)."""

from newsmon import cli
from newsmon.cli import build_parser, query_may_start_with_dash


def search_options() -> set[str]:
    search = build_parser()._subparsers._group_actions[0].choices["search"]
    return {option for action in search._actions for option in action.option_strings}


def test_the_option_list_is_the_search_parsers_own():
    assert search_options() == cli._SEARCH_OPTIONS


def test_a_query_beginning_with_a_dash_is_the_query():
    parser = build_parser()
    for argv, query in [(["search", "-Taliban"], "-Taliban"),
                        (["search", "--limit", "5", "-topics:minerals_cooperation", "--json"], "-topics:minerals_cooperation"),
                        (["--log-level", "debug", "search", "-c", "x.yaml", "-Taliban"], "-Taliban"),
                        (["search", "--since=7d", "-a -b"], "-a -b"),
                        (["search", "Taliban"], "Taliban")]:
        assert parser.parse_args(query_may_start_with_dash(argv)).query.strip() == query


def test_other_commands_are_left_alone():
    for argv in (["rules", "test", "search", "-x"], ["feeds", "list"], ["search"]):
        assert query_may_start_with_dash(argv) == argv


def test_search_minus_taliban_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(f"index: sqlite:///{tmp_path}/index.db\nlog: sqlite:///{tmp_path}/log.db\n"
                                     f"state: sqlite:///{tmp_path}/state.db\n")
    assert cli.main(["search", "-Taliban", "-c", str(tmp_path / "c.yaml")]) == 0
    assert "required: query" not in capsys.readouterr().err
