"""The ``newsmon`` command line: argument parsing, configuration loading, and exit codes.

Exit codes: 0 success, 1 runtime failure, 2 bad input or configuration. A user's mistake is
reported in one line on stderr naming the file, line or field, never with a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from newsmon.console import ProgressLine, configure_logging
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
    setup.add_argument("--kibana", metavar="URL", help="also import the Kibana saved objects into this Kibana")
    status = sub.add_parser("status", help="consumer lag per stage and partition, dead letters")
    _config_arg(status)
    status.add_argument("--json", action="store_true")
    serve = sub.add_parser("serve", help="the search page and its JSON API (http://127.0.0.1:8470/)")
    _config_arg(serve)
    serve.add_argument("--host", help="address to listen on (default: web.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: web.port, 8470; 0 = any free port)")
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
    evaluate.add_argument("--errors", action="store_true", help="also print each misclassified item with its evidence")
    train = sub.add_parser("train", help="train the topic text model from labelled JSON lines (the eval format)")
    _config_arg(train)
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


def _add_inspect_commands(sub) -> None:
    search = sub.add_parser("search", help="Lucene-syntax search over the configured index")
    _config_arg(search)
    search.add_argument("query", help='e.g. \'"Reko Diq" AND topics:minerals_cooperation\'')
    search.add_argument("--topic", action="append", help="only items with this topic (repeatable)")
    search.add_argument("--country", action="append", help="only items about this ISO country code (repeatable)")
    search.add_argument("--source", action="append", help="only items from this outlet (repeatable)")
    search.add_argument("--entity", action="append",
                        help="only items naming this person, organisation, place or group (repeatable)")
    search.add_argument("--since", help="e.g. 24h, 7d, or an ISO date")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--sort", choices=["relevance", "newest"], default="relevance")
    search.add_argument("--json", action="store_true")
    _add_feed_commands(sub)
    _add_alert_commands(sub)


def _add_alert_commands(sub) -> None:
    rules = sub.add_parser("rules", help="alert rules").add_subparsers(dest="rules_command", required=True)
    _config_arg(rules.add_parser("list", help="configured rules"))
    rules_test = rules.add_parser("test", help="backtest a rule against the index, grouped by story")
    _config_arg(rules_test)
    rules_test.add_argument("rule")
    rules_test.add_argument("--since", default="7d", help="items indexed since: 24h, 7d, or an ISO date")
    rules_test.add_argument("--limit", type=int, default=50, help="stories to print")
    rules_test.add_argument("--json", action="store_true")
    alerts = sub.add_parser("alerts", help="alert outbox").add_subparsers(dest="alerts_command", required=True)
    alerts_list = alerts.add_parser("list", help="recent alerts: to whom, when, status, attempts, error")
    _config_arg(alerts_list)
    alerts_list.add_argument("--status", help="pending, sent, failed or silenced")
    alerts_list.add_argument("--rule")
    alerts_list.add_argument("--limit", type=int, default=50)
    alerts_list.add_argument("--json", action="store_true")
    retry = alerts.add_parser("retry", help="re-queue parked (failed) alerts with a fresh retry budget")
    _config_arg(retry)
    retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    retry.add_argument("--failed", action="store_true", help="every failed alert (of --rule)")
    retry.add_argument("--rule")
    for name, text in (("silence", "stop a rule (or one story of it) from alerting for a while"),
                       ("unsilence", "lift a silence")):
        command = alerts.add_parser(name, help=text)
        _config_arg(command)
        command.add_argument("rule")
        command.add_argument("--story", help="only this story id")
        if name == "silence":
            command.add_argument("--for", dest="duration", required=True, help="e.g. 30m, 24h, 7d")
            command.add_argument("--reason", default="")


def _add_feed_commands(sub) -> None:
    feeds = sub.add_parser("feeds", help="feed management").add_subparsers(dest="feeds_command", required=True)
    feeds_list = feeds.add_parser("list", help="configured feeds, their last poll and items published")
    _config_arg(feeds_list)
    feeds_list.add_argument("--json", action="store_true")
    check = feeds.add_parser("check", help="feed health: status, last success, error streak, items/day")
    _config_arg(check)
    check.add_argument("--json", action="store_true")
    check.add_argument("--strict", action="store_true", help="exit 1 when a feed is broken or stale")
    import_opml = feeds.add_parser("import-opml", help="feeds: entries for an OPML file's feeds")
    _config_arg(import_opml)
    import_opml.add_argument("file", help="OPML file (from a feed reader's export)")
    import_opml.add_argument("--write", metavar="CONFIG", help="add the entries to this configuration file")
    _config_arg(feeds.add_parser("export-opml", help="the configured feeds as OPML 2.0 on stdout"))
    discover = feeds.add_parser("discover", help="the feeds a web page advertises")
    _config_arg(discover)
    discover.add_argument("url", help="a site's home page (or any page)")
    parse = feeds.add_parser("parse", help="parse local feed files into items (JSON lines), offline")
    _config_arg(parse)
    parse.add_argument("paths", nargs="+", metavar="PATH", help="feed files or directories (searched recursively)")
    parse.add_argument("--source", help="outlet name for the items (default: each feed's title)")
    parse.add_argument("-v", "--verbose", action="store_true", help="name each malformed file on stderr")


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


def _dispatch(args: argparse.Namespace, progress: ProgressLine | None) -> int:
    if args.command == "feeds":  # needs neither the classifier nor the transports: keep it quick
        from newsmon.commands.feeds import cmd_feeds

        return cmd_feeds(_settings(args), args)
    from newsmon.commands import inspect, logtools, service, text  # after argument errors, so --help stays fast

    settings = _settings(args)
    command = args.command
    if command == "run":
        return service.cmd_run(settings, args.once, progress)
    if command == "produce":
        return service.cmd_produce(settings, args.once)
    if command == "consume":
        return service.cmd_consume(settings, args.stage, args.until_idle)
    if command == "setup":
        return service.cmd_setup(settings, args.kibana)
    if command == "serve":
        from newsmon.commands.web import cmd_serve

        return cmd_serve(settings, args.host, args.port)
    if command == "status":
        return logtools.cmd_status(settings, args.json)
    if command == "dlq" and args.dlq_command == "list":
        return logtools.cmd_dlq_list(settings, args.limit, args.json)
    if command == "dlq":
        return logtools.cmd_dlq_replay(settings, args.stage)
    if command == "classify":
        return text.cmd_classify(settings, args.file, args.text)
    if command == "eval":
        return text.cmd_eval(settings, args.file, args.json, args.errors)
    if command == "train":
        from newsmon.commands.train import cmd_cross_validate, cmd_train

        if args.cross_validate is not None:
            if args.combiner_folds is not None:
                raise UserInputError("--combiner-folds: not with --cross-validate (it measures the hand blend)")
            return cmd_cross_validate(settings, args.file, args.cross_validate, args.epochs, args.seed,
                                      short_copies=not args.no_short_copies, as_json=args.json)
        if args.json:
            raise UserInputError("--json: only with --cross-validate (training prints what it saved)")
        return cmd_train(settings, args.file, args.out, args.epochs, args.seed, args.combiner_folds,
                         short_copies=not args.no_short_copies)
    if command == "search":
        return inspect.cmd_search(settings, args)
    return _dispatch_alerts(settings, args)


def _dispatch_alerts(settings: Settings, args: argparse.Namespace) -> int:
    from newsmon.commands import alerts

    if args.command == "rules" and args.rules_command == "list":
        return alerts.cmd_rules_list(settings)
    if args.command == "rules":
        return alerts.cmd_rules_test(settings, args.rule, args.since, args.limit, args.json)
    if args.alerts_command == "list":
        return alerts.cmd_alerts_list(settings, args.status, args.rule, args.limit, args.json)
    if args.alerts_command == "retry":
        return alerts.cmd_alerts_retry(settings, args.ids, args.failed, args.rule)
    if args.alerts_command == "silence":
        return alerts.cmd_alerts_silence(settings, args.rule, args.story, args.duration, args.reason)
    return alerts.cmd_alerts_unsilence(settings, args.rule, args.story)


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
