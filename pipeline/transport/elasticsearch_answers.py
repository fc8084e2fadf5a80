"""What Elasticsearch's refusals mean, read from its answers alone (no client import here).

Two kinds of answer reach the index adapter: a bulk response item per document (``{"index":
{"_id", "status", "error"}}``) and an error for a whole request (the client's ``ApiError``, read
here through its ``status_code``, ``error``, ``body``, ``message`` and ``meta.headers``). A document
refused with 400 is refused for good (the mapping does not take a value); so is a request refused
with 400 or 413 for what it carries. Two 400s are about the index, not the document (a closed index,
a cluster block) and are retried like an outage.
"""

from __future__ import annotations

from typing import Any

__all__ = ["bulk_item", "item_reason", "refused_document", "refused_for_content", "request_reason",
           "retry_after"]

Json = dict[str, Any]
_NOT_THE_DOCUMENT = {"index_closed_exception", "cluster_block_exception"}  # 400s that are not about the document
_CONTENT_REFUSED = {400, 413}  # a whole bulk request refused for what it carries (with _NOT_THE_DOCUMENT excepted)
_REASON_CHARS = 400  # a refusal quoting a long id is clipped in the middle to about this length


def bulk_item(info: Json) -> Json:
    """The item of one bulk response entry (``{"index": item}``)."""
    return next(iter(info.values()))


def item_reason(item: Json) -> str:
    """``<type>: <reason> (<cause>)`` of a bulk item's error."""
    error = item.get("error") or {}
    if not isinstance(error, dict):
        return str(error)
    reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
    cause = error.get("caused_by")
    if isinstance(cause, dict) and cause.get("reason"):
        reason += f" ({cause['reason']})"
    return reason


def refused_for_content(exc: Any) -> bool:
    """True when Elasticsearch refused a whole bulk request for its content (400 validation, 413 too
    large), not because the cluster cannot take writes now."""
    return exc.status_code in _CONTENT_REFUSED and exc.error not in _NOT_THE_DOCUMENT


def request_reason(exc: Any) -> str:
    """``<status> <type>: <reason>`` of a refused request, clipped in the middle (it may quote the id)."""
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    reason = item_reason({"error": error}) if isinstance(error, dict) else str(exc.message)
    text = f"{exc.status_code} {reason}"
    half = _REASON_CHARS // 2
    return text if len(text) <= _REASON_CHARS else f"{text[:half]}…{text[-half:]}"


def refused_document(item: Json) -> bool:
    """True when a bulk item was refused for good for what the document holds."""
    error = item.get("error")
    kind = error.get("type") if isinstance(error, dict) else None
    return item.get("status") == 400 and kind not in _NOT_THE_DOCUMENT


def retry_after(exc: Exception) -> float | None:
    """The Retry-After header of a refused request, in seconds, when it has a number."""
    meta = getattr(exc, "meta", None)
    value = meta.headers.get("retry-after") if meta is not None and getattr(meta, "headers", None) else None
    try:
        return float(value) if value else None
    except ValueError:
        return None
