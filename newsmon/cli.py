"""The ``newsmon`` command line: argument parsing, configuration loading, and exit codes.

Every leaf subcommand registers its handler with ``set_defaults(handler=Handler(...))``: a module
and function name that is imported only after the arguments parsed, so ``--help`` and argument
errors never load the command modules. Every handler has one signature,
``cmd_x(settings, args, progress) -> int``, and unpacks its own arguments.

Exit codes: 0 success, 1 runtime failure, 2 bad input or configuration. A user's mistake is
reported in one line on stderr naming the file, line or field, never with a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeAlias, cast

from newsmon.console import ProgressLine, configure_logging
from pipeline.errors import NewsmonError, UserInputError
from pipeline.settings import Settings, load_settings

__all__ = ["main", "build_parser", "Handler", "CommandFunction"]

DEFAULT_CONFIG = "newsmon.yaml"
COMMANDS_PACKAGE = "newsmon.commands"
logger = logging.getLogger("newsmon")

CommandFunction: TypeAlias = Callable[[Settings, argparse.Namespace, ProgressLine | None], int]
_Commands: TypeAlias = "argparse._SubParsersAction[_Parser]"


@dataclass(frozen=True)
class Handler:
    """A command's entry point by name: ``module.function``, imported when the command runs."""

    module: str
    function: str

    def resolve(self) -> CommandFunction:
        """Import the module and return the function (ImportError or AttributeError when it is not there)."""
        return cast(CommandFunction, getattr(importlib.import_module(self.module), self.function))

    def __call__(self, settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
        return self.resolve()(settings, args, progress)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", help=f"YAML configuration (default: ./{DEFAULT_CONFIG} if present)")


def _command(sub: _Commands, name: str, text: str, target: str) -> _Parser:
    """A leaf command with ``-c/--config`` that runs ``target``, ``"module:function"`` in newsmon.commands."""
    module, function = target.split(":")
    parser = sub.add_parser(name, help=text)
    _config_arg(parser)
    parser.set_defaults(handler=Handler(f"{COMMANDS_PACKAGE}.{module}", function))
    return parser


def _group(sub: _Commands, name: str, text: str) -> _Commands:
    """A command made of subcommands (``newsmon NAME SUBCOMMAND``); its parser has no handler of its own."""
    return sub.add_parser(name, help=text).add_subparsers(dest=f"{name}_command", required=True)


def _add_service_commands(sub: _Commands) -> None:
    run = _command(sub, "run", "embedded all-in-one: poll feeds, classify, index, alert", "service:cmd_run")
    run.add_argument("--once", action="store_true", help="poll every feed once, drain every stage, exit")
    produce = _command(sub, "produce", "poll feeds into newsmon.raw", "service:cmd_produce")
    produce.add_argument("--once", action="store_true", help="poll every feed once and exit")
    consume = _command(sub, "consume", "run one consumer stage", "service:cmd_consume")
    consume.add_argument("stage", choices=["classifier", "indexer", "alerter"])
    consume.add_argument("--until-idle", action="store_true", help="exit when nothing is left to consume")
    setup = _command(sub, "setup", "create topics and index (idempotent)", "service:cmd_setup")
    setup.add_argument("--kibana", metavar="URL", help="also import the Kibana saved objects into this Kibana")
    status = _command(sub, "status", "consumer lag per stage and partition, dead letters", "logtools:cmd_status")
    status.add_argument("--json", action="store_true")
    serve = _command(sub, "serve", "the search page and its JSON API (http://127.0.0.1:8470/)", "web:cmd_serve")
    serve.add_argument("--host", help="address to listen on (default: web.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: web.port, 8470; 0 = any free port)")
    dlq = _group(sub, "dlq", "dead letters")
    dlq_list = _command(dlq, "list", "show dead letters with their errors", "logtools:cmd_dlq_list")
    dlq_list.add_argument("--limit", type=int, default=100)
    dlq_list.add_argument("--json", action="store_true")
    dlq_replay = _command(dlq, "replay", "send dead letters not replayed before back to their topic",
                          "logtools:cmd_dlq_replay")
    dlq_replay.add_argument("--stage", help="only letters of this stage")


def _add_text_commands(sub: _Commands) -> None:
    classify = _command(sub, "classify", "classify JSON lines (or plain text with --text)", "text:cmd_classify")
    classify.add_argument("file", nargs="?", default="-", help="input file, or - for stdin (default)")
    classify.add_argument("--text", action="store_true", help="the input is one plain-text article")
    evaluate = _command(sub, "eval", "precision, recall and F1 against labelled JSON lines", "text:cmd_eval")
    evaluate.add_argument("file")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--errors", action="store_true", help="also print each misclassified item with its evidence")
    train = _command(sub, "train", "train the topic text model from labelled JSON lines (the eval format)",
                     "train:cmd_train")
    train.add_argument("file")
    train.add_argument("--out", default="models/topics", help="output folder (default: models/topics);"
                       " point classifier.topic_model at it")
    train.add_argument("--epochs", type=int, help="passes over the data (default 60)")
    train.add_argument("--seed", type=int, help="random seed (default 1)")
    train.add_argument("--combiner-folds", type=int, metavar="N",
                       help="also fit a learned rule/model combiner per topic by N-fold cross-validation"
                            " (default: none, the topic's hand blend decides)")
    train.add_argument("--no-short-copies", action="store_true",
                       help="do not also train on each full-text item's title and summary alone")
    train.add_argument("--cross-validate", type=int, metavar="K",
                       help="save nothing: judge each of K folds with a model trained on the others and print"
                            " the pooled precision, recall and F1 (how a model trained on these labels generalises)")
    train.add_argument("--json", action="store_true", help="with --cross-validate: print the figures as JSON")
    train.add_argument("--feedback", metavar="EXPORT",
                       help="also learn from analysts' verdicts (a `newsmon labels export` file): a verdict decides"
                            " its topic's label over FILE's for the same item")


def _add_search_command(sub: _Commands) -> None:
    search = _command(sub, "search", "Lucene-syntax search over the configured index", "inspect:cmd_search")
    search.add_argument("query", help='e.g. \'"Reko Diq" AND topics:minerals_cooperation\'')
    search.add_argument("--topic", action="append", help="only items with this topic (repeatable)")
    search.add_argument("--country", action="append", help="only items about this ISO country code (repeatable)")
    search.add_argument("--source", action="append", help="only items from this outlet (repeatable)")
    search.add_argument("--entity", action="append",
                        help="only items naming this person, organisation, place or group (repeatable)")
    search.add_argument("--since", help="published since: 24h, 7d, or an ISO date")
    search.add_argument("--indexed-since", help="indexed since: 24h, 7d, or an ISO date")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--sort", choices=["relevance", "newest"], default="relevance")
    search.add_argument("--json", action="store_true")


def _add_label_commands(sub: _Commands) -> None:
    label = _command(sub, "label", "an analyst's verdict on an item's (or a story's) topics", "labels:cmd_label")
    label.add_argument("item", nargs="?", help="the item id (or give --story)")
    label.add_argument("--story", help="every item of this story")
    label.add_argument("--topic", action="append", default=[], metavar="TOPIC=yes|no",
                       help="on topic (yes) or not (no); repeatable")
    label.add_argument("--withdraw", action="append", default=[], metavar="TOPIC", help="take a verdict back")
    label.add_argument("--by", help="who says so (default: the login name)")
    labels = _group(sub, "labels", "analysts' verdicts")
    labels_list = _command(labels, "list", "standing verdicts: who said what, when", "labels:cmd_labels_list")
    labels_list.add_argument("--since", help="given since: 24h, 30d, or an ISO date")
    labels_list.add_argument("--history", action="store_true", help="every verdict and withdrawal, newest first")
    labels_list.add_argument("--json", action="store_true")
    labels_export = _command(labels, "export", "the verdicts as eval/train JSON lines, texts from the index",
                             "labels:cmd_labels_export")
    labels_export.add_argument("--since", help="given since: 24h, 30d, or an ISO date")


def _add_alert_commands(sub: _Commands) -> None:
    rules = _group(sub, "rules", "alert rules")
    _command(rules, "list", "configured rules", "alerts:cmd_rules_list")
    rules_test = _command(rules, "test", "backtest a rule against the index, grouped by story", "alerts:cmd_rules_test")
    rules_test.add_argument("rule")
    rules_test.add_argument("--since", help="items published since: 24h, 7d, or an ISO date")
    rules_test.add_argument("--indexed-since",
                            help="items indexed since (default 7d when --since is not given either)")
    rules_test.add_argument("--limit", type=int, default=50, help="stories to print")
    rules_test.add_argument("--json", action="store_true")
    alerts = _group(sub, "alerts", "alert outbox")
    alerts_list = _command(alerts, "list", "recent alerts: to whom, when, status, attempts, error",
                           "alerts:cmd_alerts_list")
    alerts_list.add_argument("--status", help="pending, sent, failed or silenced")
    alerts_list.add_argument("--rule")
    alerts_list.add_argument("--limit", type=int, default=50)
    alerts_list.add_argument("--json", action="store_true")
    retry = _command(alerts, "retry", "re-queue parked (failed) alerts with a fresh retry budget",
                     "alerts:cmd_alerts_retry")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    retry.add_argument("--failed", action="store_true", help="every failed alert (of --rule)")
    retry.add_argument("--rule")
    for name, text in (("silence", "stop a rule (or one story of it) from alerting for a while"),
                       ("unsilence", "lift a silence")):
        command = _command(alerts, name, text, f"alerts:cmd_alerts_{name}")
        command.add_argument("rule")
        command.add_argument("--story", help="only this story id")
        if name == "silence":
            command.add_argument("--for", dest="duration", required=True, help="e.g. 30m, 24h, 7d")
            command.add_argument("--reason", default="")


def _add_feed_commands(sub: _Commands) -> None:
    feeds = _group(sub, "feeds", "feed management")
    feeds_list = _command(feeds, "list", "configured feeds, their last poll and items published",
                          "feeds:cmd_feeds_list")
    feeds_list.add_argument("--json", action="store_true")
    check = _command(feeds, "check", "feed health: status, last success, error streak, items/day",
                     "feeds:cmd_feeds_check")
    check.add_argument("--json", action="store_true")
    check.add_argument("--strict", action="store_true", help="exit 1 when a feed is broken or stale")
    import_opml = _command(feeds, "import-opml", "feeds: entries for an OPML file's feeds", "feeds:cmd_import_opml")
    import_opml.add_argument("file", help="OPML file (from a feed reader's export)")
    import_opml.add_argument("--write", metavar="CONFIG", help="add the entries to this configuration file")
    _command(feeds, "export-opml", "the configured feeds as OPML 2.0 on stdout", "feeds:cmd_export_opml")
    discover = _command(feeds, "discover", "the feeds a web page advertises", "feeds:cmd_discover")
    discover.add_argument("url", help="a site's home page (or any page)")
    parse = _command(feeds, "parse", "parse local feed files into items (JSON lines), offline", "feeds:cmd_parse")
    parse.add_argument("paths", nargs="+", metavar="PATH", help="feed files or directories (searched recursively)")
    parse.add_argument("--source", help="outlet name for the items (default: each feed's title)")
    parse.add_argument("-v", "--verbose", action="store_true", help="name each malformed file on stderr")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; each leaf parser's ``handler`` default names the function that runs it."""
    parser = _Parser(prog="newsmon", description="Pakistan/US security and energy news monitor")
    parser.add_argument("--log-level", default=os.environ.get("NEWSMON_LOG_LEVEL", "info").lower(),
                        choices=LOG_LEVELS)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add_commands in (_add_service_commands, _add_text_commands, _add_search_command, _add_feed_commands,
                         _add_alert_commands, _add_label_commands):
        add_commands(sub)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    if args.config:
        return load_settings(args.config)
    return load_settings(DEFAULT_CONFIG if Path(DEFAULT_CONFIG).is_file() else None)


def _run(args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """Import the command's module (after argument errors, so --help stays fast), load the settings, run it."""
    handler: Handler = args.handler
    command = handler.resolve()
    return command(_settings(args), args, progress)


def query_may_start_with_dash(argv: Sequence[str]) -> list[str]:
    """``newsmon search -Taliban`` searches for items without Taliban: the first argument after
    ``search`` that starts with ``-`` but is no option (``-Taliban``, ``-topics:x``) is the query.
    argparse reads a dash word as an option unless it holds a space, so the query gets a trailing
    space, which the query parser ignores."""
    args = list(argv)
    command = next((i for i, word in enumerate(args) if not word.startswith("-")
                    and (i == 0 or args[i - 1] != "--log-level")), None)
    if command is None or args[command] != "search":
        return args
    start = command + 1
    taking_value = False
    for index in range(start, len(args)):
        word = args[index]
        if taking_value:
            taking_value = False
        elif word.split("=", 1)[0] in _SEARCH_OPTIONS:
            taking_value = "=" not in word and word not in _SEARCH_FLAGS
        elif word.startswith("-") and word not in ("-", "--"):
            args[index] = word + " "
            break
        else:
            break  # the query, as argparse reads it
    return args


_SEARCH_FLAGS = {"--json", "-h", "--help"}
_SEARCH_OPTIONS = {"-c", "--config", "--topic", "--country", "--source", "--entity", "--since", "--indexed-since",
                   "--limit", "--sort", *_SEARCH_FLAGS}


LOG_LEVELS = ("debug", "info", "warning", "error")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(query_may_start_with_dash(sys.argv[1:] if argv is None else argv))
    if args.log_level not in LOG_LEVELS:  # argparse checks --log-level, not its default from the environment
        print(f"newsmon: NEWSMON_LOG_LEVEL (environment): expected one of {', '.join(LOG_LEVELS)},"
              f" got {args.log_level!r}", file=sys.stderr)
        return 2
    progress = configure_logging(args.log_level)
    try:
        return _run(args, progress)
    except UserInputError as exc:
        print(f"newsmon: {exc}", file=sys.stderr)
        return 2
    except NewsmonError as exc:
        print(f"newsmon: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("newsmon: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
