"""The commands say how a query with a trap was read: `search` on stderr, `rules list` per rule."""

from newsmon import cli


def config(tmp_path, query: str):
    path = tmp_path / "c.yaml"
    path.write_text(f"index: sqlite:///{tmp_path}/index.db\nlog: sqlite:///{tmp_path}/log.db\n"
                    f"state: sqlite:///{tmp_path}/state.db\n"
                    f"rules:\n  - name: trap\n    query: '{query}'\n    actions: [{{type: log}}]\n")
    return str(path)


def test_search_notes_the_reading_of_mixed_operators_on_stderr(tmp_path, capsys):
    assert cli.main(["search", "Taliban ISIS AND Pakistan", "--json", "-c", config(tmp_path, "x")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith('{"total": 0') and "newsmon: note: AND mixed with OR" in err
    assert "+isis +pakistan taliban" in err
    assert cli.main(["search", "(Taliban ISIS) AND Pakistan", "-c", config(tmp_path, "x")]) == 0
    assert "note:" not in capsys.readouterr().err


def test_rules_list_warns_of_a_rule_whose_query_has_the_trap(tmp_path, capsys):
    assert cli.main(["rules", "list", "-c", config(tmp_path, "drone OR missile AND strike")]) == 0
    out = capsys.readouterr().out
    assert "warning: AND mixed with OR or juxtaposition" in out and "+missile +strike drone" in out
    assert cli.main(["rules", "list", "-c", config(tmp_path, "drone OR (missile AND strike)")]) == 0
    assert "warning: " not in capsys.readouterr().out
