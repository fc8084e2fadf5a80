"""Cheap reachability probes: does a server accept a TCP connection right now?

The consume loop and the alert deliverer back off after a failure; while they wait, a probe tells
them the other end is back so work resumes within about a second rather than at the end of a
backoff that may have grown to minutes. A probe opens a connection and closes it at once: it sends
nothing, so it is safe against any server (a broker, a webhook receiver, an SMTP relay).
"""

from __future__ import annotations

import socket

__all__ = ["PROBE_TIMEOUT", "accepts_connections"]

PROBE_TIMEOUT = 0.5  # seconds a probe waits for the connection


def accepts_connections(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when ``host:port`` accepts a TCP connection within ``timeout`` seconds."""
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=timeout):
            return True
    except (OSError, ValueError):  # refused, unreachable, unknown host, timed out; a port out of range
        return False
