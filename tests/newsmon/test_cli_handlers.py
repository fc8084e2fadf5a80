"""Every ``newsmon`` subcommand names its own handler, imported only after the arguments parsed."""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import newsmon.cli
from newsmon.cli import Handler, build_parser, main
from pipeline.errors import ConfigError, NewsmonError, UserInputError
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[2]

# each leaf command: the arguments it needs besides its name, and the handler it must run
COMMANDS: dict[tuple[str, ...], tuple[list[str], str, str]] = {
    ("run",): ([], "service", "cmd_run"),
    ("produce",): ([], "service", "cmd_produce"),
    ("consume",): (["indexer"], "service", "cmd_consume"),
    ("setup",): ([], "service", "cmd_setup"),
    ("status",): ([], "logtools", "cmd_status"),
    ("serve",): ([], "web", "cmd_serve"),
    ("dlq", "list"): ([], "logtools", "cmd_dlq_list"),
    ("dlq", "replay"): ([], "logtools", "cmd_dlq_replay"),
    ("classify",): ([], "text", "cmd_classify"),
    ("eval",): (["labels.jsonl"], "text", "cmd_eval"),
    ("train",): (["labels.jsonl"], "train", "cmd_train"),
    ("search",): (["x"], "inspect", "cmd_search"),
    ("feeds", "list"): ([], "feeds", "cmd_feeds_list"),
    ("feeds", "check"): ([], "feeds", "cmd_feeds_check"),
    ("feeds", "import-opml"): (["feeds.opml"], "feeds", "cmd_import_opml"),
    ("feeds", "export-opml"): ([], "feeds", "cmd_export_opml"),
    ("feeds", "discover"): (["https://example.test/"], "feeds", "cmd_discover"),
    ("feeds", "parse"): (["feed.xml"], "feeds", "cmd_parse"),
    ("rules", "list"): ([], "alerts", "cmd_rules_list"),
    ("rules", "test"): (["a-rule"], "alerts", "cmd_rules_test"),
    ("alerts", "list"): ([], "alerts", "cmd_alerts_list"),
    ("alerts", "retry"): (["1"], "alerts", "cmd_alerts_retry"),
    ("alerts", "silence"): (["a-rule", "--for", "1h"], "alerts", "cmd_alerts_silence"),
    ("alerts", "unsilence"): (["a-rule"], "alerts", "cmd_alerts_unsilence"),
    ("label",): (["item-1", "--topic", "counterterrorism=no"], "labels", "cmd_label"),
    ("labels", "list"): ([], "labels", "cmd_labels_list"),
    ("labels", "export"): ([], "labels", "cmd_labels_export"),
}


def _children(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser, is_leaf) for the parser and every parser under it."""
    children = _children(parser)
    yield path, parser, not children
    for name, child in children.items():
        yield from walk(child, (*path, name))


def leaves() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    return {path: parser for path, parser, leaf in walk(build_parser()) if leaf}


def test_the_table_lists_every_leaf_command():
    assert set(leaves()) == set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_leaf_has_a_handler_that_resolves_to_a_command_function(path):
    handler = leaves()[path].get_default("handler")
    assert isinstance(handler, Handler), path
    function = handler.resolve()
    assert callable(function)
    assert function.__name__ == handler.function
    assert handler.function in sys.modules[handler.module].__all__
    parameters = list(inspect.signature(function).parameters.values())
    assert [p.name for p in parameters[:2]] == ["settings", "args"] and len(parameters) == 3
    assert all(p.default is inspect.Parameter.empty for p in parameters)


def test_commands_with_subcommands_have_no_handler_of_their_own():
    groups = [(path, parser) for path, parser, leaf in walk(build_parser()) if not leaf]
    assert sorted(path for path, _ in groups) == [(), ("alerts",), ("dlq",), ("feeds",), ("labels",), ("rules",)]
    for path, parser in groups:
        assert parser.get_default("handler") is None, path


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_parsing_a_command_line_yields_its_handler(path):
    extra, module, function = COMMANDS[path]
    args = build_parser().parse_args([*path, *extra, "-c", "some.yaml"])
    assert args.handler == Handler(f"newsmon.commands.{module}", function)
    assert args.config == "some.yaml"


def test_a_handler_names_a_missing_function_only_when_it_is_resolved():
    handler = Handler("json", "no_such_function")
    with pytest.raises(AttributeError):
        handler.resolve()
    assert Handler("json", "dumps").resolve() is json.dumps


def _modules_after(statements: str) -> list[str]:
    """The newsmon.commands modules imported after running ``statements`` in a fresh interpreter."""
    code = (f"import sys\n{statements}\n"
            "print('MODULES:', *sorted(m for m in sys.modules if m.startswith('newsmon.commands')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("MODULES:")]
    return line.split()[1:]


def test_importing_the_cli_and_parsing_imports_no_command_module():
    argvs = [[*path, *extra] for path, (extra, _, _) in COMMANDS.items()]
    statements = f"import newsmon.cli\nparser = newsmon.cli.build_parser()\nfor argv in {argvs!r}: parser.parse_args(argv)"
    assert _modules_after(statements) == []


def test_help_and_argument_errors_import_no_command_module():
    statements = ("from newsmon.cli import main\n"
                  "for argv in (['--help'], ['train', '--help'], ['consume', 'bogus'], ['feeds']):\n"
                  "    try: main(argv)\n"
                  "    except SystemExit: pass")
    assert _modules_after(statements) == []


def test_resolving_a_handler_does_import_its_module():
    # the checks above can fail: resolving is what imports
    statements = "import newsmon.cli\nnewsmon.cli.build_parser().parse_args(['feeds', 'export-opml']).handler.resolve()"
    assert "newsmon.commands.feeds" in _modules_after(statements)


@pytest.fixture
def fake_status(monkeypatch, tmp_path):
    """``newsmon status`` with its command function replaced by a recorder, in a folder without a config."""
    import newsmon.commands.logtools

    calls = []
    outcome: dict[str, object] = {"result": 0}

    def cmd_status(settings, args, progress):
        calls.append((settings, args, progress))
        if isinstance(outcome["result"], BaseException):
            raise outcome["result"]
        return outcome["result"]

    monkeypatch.setattr(newsmon.commands.logtools, "cmd_status", cmd_status)
    monkeypatch.setattr(newsmon.cli, "configure_logging", lambda level: "progress-line")
    monkeypatch.chdir(tmp_path)
    return calls, outcome


def test_main_runs_the_handler_with_settings_arguments_and_progress(fake_status):
    calls, outcome = fake_status
    outcome["result"] = 7
    assert main(["status", "--json"]) == 7
    ((settings, args, progress),) = calls
    assert isinstance(settings, Settings) and settings.source == "<defaults>"
    assert args.json is True and args.command == "status"
    assert progress == "progress-line"


@pytest.mark.parametrize("error, code, stderr", [
    (UserInputError("--limit: bad"), 2, "newsmon: --limit: bad\n"),
    (ConfigError("c.yaml: bad"), 2, "newsmon: c.yaml: bad\n"),
    (NewsmonError("index down"), 1, "newsmon: error: index down\n"),
    (BrokenPipeError(), 0, ""),
    (KeyboardInterrupt(), 130, "newsmon: interrupted\n"),
])
def test_main_maps_errors_to_exit_codes(fake_status, capsys, error, code, stderr):
    _, outcome = fake_status
    outcome["result"] = error
    assert main(["status"]) == code
    assert capsys.readouterr().err == stderr


def test_a_bad_configuration_is_reported_before_the_handler_runs(fake_status, capsys):
    calls, _ = fake_status
    assert main(["status", "-c", "missing.yaml"]) == 2
    assert "missing.yaml: configuration file not found" in capsys.readouterr().err
    assert calls == []


@pytest.mark.parametrize("args, message", [
    (["train", "x.jsonl", "--json", "-c", "missing.yaml"], "missing.yaml: configuration file not found"),
    (["train", "x.jsonl", "--json"], "--json: only with --cross-validate"),
    (["train", "x.jsonl", "--cross-validate", "2", "--combiner-folds", "3"], "--combiner-folds: not with"),
    (["feeds", "parse", "missing.xml", "-c", "missing.yaml"], "missing.yaml: configuration file not found"),
    (["feeds", "parse", "missing.xml"], "missing.xml: no such file or directory"),
    (["feeds", "import-opml", "missing.opml", "--write", "missing.yaml"], "missing.opml: cannot read"),
])
def test_a_bad_configuration_comes_before_a_bad_argument(tmp_path, args, message):
    result = subprocess.run([sys.executable, "-m", "newsmon.cli", *args], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"newsmon: {message}"), result.stderr
