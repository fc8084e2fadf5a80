"""``newsmon serve``: the search page and its JSON API on their own, against the configured index."""

from __future__ import annotations

import argparse
import sys

from newsmon.commands.service import install_stop_handlers
from newsmon.console import ProgressLine
from pipeline.loop import StopSignal
from pipeline.settings import Settings

__all__ = ["cmd_serve"]


def cmd_serve(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """Serve until SIGINT or SIGTERM; a taken port or an exposed host without a token is a ConfigError."""
    host: str | None = args.host
    port: int | None = args.port
    from newsmon.app import start_web

    stop = StopSignal()
    install_stop_handlers(stop)
    server = start_web(settings, host=host, port=port)
    print(f"newsmon: search page at {server.url} (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.close()
    return 0
