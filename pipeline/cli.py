"""The ``newsmon`` command line: argument parsing, configuration loading, and exit codes.

Exit codes: 0 success, 1 runtime failure, 2 bad input or configuration. A user's mistake is
reported in one line on stderr naming the file, line or field, never with a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from pipeline.console import ProgressLine, configure_logging
from pipeline.errors import NewsmonError, UserInputError
from pipeline.settings import Settings, load_settings

__all__ = ["main", "build_parser"]

DEFAULT_CONFIG = "newsmon.yaml"
logger = logging.getLogger("newsmon")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", help=f"YAML configuration (default: ./{DEFAULT_CONFIG} if present)")


def _add_service_commands(sub) -> None:
    run = sub.add_parser("run", help="embedded all-in-one: poll feeds, classify, index, alert")
    _config_arg(run)
    run.add_argument("--once", action="store_true", help="poll every feed once, drain every stage, exit")
    produce = sub.add_parser("produce", help="poll feeds into newsmon.raw")
    _config_arg(produce)
    produce.add_argument("--once", action="store_true", help="poll every feed once and exit")
    consume = sub.add_parser("consume", help="run one consumer stage")
    _config_arg(consume)
    consume.add_argument("stage", choices=["classifier", "indexer", "alerter"])
    consume.add_argument("--until-idle", action="store_true", help="exit when nothing is left to consume")
    setup = sub.add_parser("setup", help="create topics and index (idempotent)")
    _config_arg(setup)
    status = sub.add_parser("status", help="consumer lag per stage and partition, dead letters")
    _config_arg(status)
    status.add_argument("--json", action="store_true")
    dlq = sub.add_parser("dlq", help="dead letters").add_subparsers(dest="dlq_command", required=True)
    dlq_list = dlq.add_parser("list", help="show dead letters with their errors")
    _config_arg(dlq_list)
    dlq_list.add_argument("--limit", type=int, default=100)
    dlq_list.add_argument("--json", action="store_true")
    dlq_replay = dlq.add_parser("replay", help="send dead letters not replayed before back to their topic")
    _config_arg(dlq_replay)
    dlq_replay.add_argument("--stage", help="only letters of this stage")


def _add_text_commands(sub) -> None:
    classify = sub.add_parser("classify", help="classify JSON lines (or plain text with --text)")
    _config_arg(classify)
    classify.add_argument("file", nargs="?", default="-", help="input file, or - for stdin (default)")
    classify.add_argument("--text", action="store_true", help="the input is one plain-text article")
    evaluate = sub.add_parser("eval", help="precision, recall and F1 against labelled JSON lines")
    _config_arg(evaluate)
    evaluate.add_argument("file")
    evaluate.add_argument("--json", action="store_true")


def _add_inspect_commands(sub) -> None:
    search = sub.add_parser("search", help="Lucene-syntax search over the configured index")
    _config_arg(search)
    search.add_argument("query", help='e.g. \'"Reko Diq" AND topics:minerals_cooperation\'')
    search.add_argument("--topic", action="append", help="only items with this topic (repeatable)")
    search.add_argument("--country", action="append", help="only items about this ISO country code (repeatable)")
    search.add_argument("--source", action="append", help="only items from this outlet (repeatable)")
    search.add_argument("--since", help="e.g. 24h, 7d, or an ISO date")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--sort", choices=["relevance", "newest"], default="relevance")
    search.add_argument("--json", action="store_true")
    feeds = sub.add_parser("feeds", help="feed management").add_subparsers(dest="feeds_command", required=True)
    feeds_list = feeds.add_parser("list", help="configured feeds and their health")
    _config_arg(feeds_list)
    feeds_list.add_argument("--json", action="store_true")
    rules = sub.add_parser("rules", help="alert rules").add_subparsers(dest="rules_command", required=True)
    _config_arg(rules.add_parser("list", help="configured rules"))
    rules_test = rules.add_parser("test", help="backtest a rule against the index")
    _config_arg(rules_test)
    rules_test.add_argument("rule")
    rules_test.add_argument("--since", default="7d")
    rules_test.add_argument("--limit", type=int, default=50)
    alerts = sub.add_parser("alerts", help="alert log").add_subparsers(dest="alerts_command", required=True)
    alerts_list = alerts.add_parser("list", help="recent alerts: sent, pending, failed")
    _config_arg(alerts_list)
    alerts_list.add_argument("--limit", type=int, default=50)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="newsmon", description="Pakistan/US security and energy news monitor")
    parser.add_argument("--log-level", default=os.environ.get("NEWSMON_LOG_LEVEL", "info"),
                        choices=["debug", "info", "warning", "error"])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_service_commands(sub)
    _add_text_commands(sub)
    _add_inspect_commands(sub)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    if args.config:
        return load_settings(args.config)
    return load_settings(DEFAULT_CONFIG if Path(DEFAULT_CONFIG).is_file() else None)


def _dispatch(args: argparse.Namespace, progress: "ProgressLine | None") -> int:
    from pipeline.commands import inspect, logtools, service, text  # after argument errors, so --help stays fast

    settings = _settings(args)
    command = args.command
    if command == "run":
        return service.cmd_run(settings, args.once, progress)
    if command == "produce":
        return service.cmd_produce(settings, args.once)
    if command == "consume":
        return service.cmd_consume(settings, args.stage, args.until_idle)
    if command == "setup":
        return service.cmd_setup(settings)
    if command == "status":
        return logtools.cmd_status(settings, args.json)
    if command == "dlq" and args.dlq_command == "list":
        return logtools.cmd_dlq_list(settings, args.limit, args.json)
    if command == "dlq":
        return logtools.cmd_dlq_replay(settings, args.stage)
    if command == "classify":
        return text.cmd_classify(settings, args.file, args.text)
    if command == "eval":
        return text.cmd_eval(settings, args.file, args.json)
    if command == "search":
        return inspect.cmd_search(settings, args)
    if command == "feeds":
        return inspect.cmd_feeds_list(settings, args.json)
    if command == "rules" and args.rules_command == "list":
        return inspect.cmd_rules_list(settings)
    if command == "rules":
        return inspect.cmd_rules_test(settings, args.rule, args.since, args.limit)
    return inspect.cmd_alerts_list(settings, args.limit)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    progress = configure_logging(args.log_level)
    try:
        return _dispatch(args, progress)
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
