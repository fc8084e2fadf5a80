"""Reading Elasticsearch's refusals: which are about the document, which about the cluster."""

from types import SimpleNamespace

from pipeline.transport.elasticsearch_answers import (
    bulk_item,
    item_reason,
    refused_document,
    refused_for_content,
    request_reason,
    retry_after,
)


def api_error(status, error, body=None, message="", headers=None):
    """The attributes of the client's ApiError that the module reads."""
    return SimpleNamespace(status_code=status, error=error, body=body, message=message,
                           meta=SimpleNamespace(headers=headers or {}))


def test_a_mapping_refusal_is_the_documents_own_and_names_type_reason_and_cause():
    item = bulk_item({"index": {"_id": "a", "status": 400, "error": {
        "type": "document_parsing_exception", "reason": "failed to parse field [scores.x]",
        "caused_by": {"type": "number_format_exception", "reason": 'For input string: "high"'}}}})
    assert refused_document(item)
    assert item_reason(item) == ('document_parsing_exception: failed to parse field [scores.x]'
                                 ' (For input string: "high")')


def test_a_closed_index_or_a_cluster_block_is_not_the_documents_fault():
    for kind in ("index_closed_exception", "cluster_block_exception"):
        assert not refused_document({"status": 400, "error": {"type": kind, "reason": "r"}})
        assert not refused_for_content(api_error(400, kind))
    assert not refused_document({"status": 429, "error": {"type": "es_rejected_execution_exception"}})
    assert not refused_document({"status": 503, "error": "unavailable"})


def test_a_whole_request_refused_for_its_content_is_400_or_413_only():
    assert refused_for_content(api_error(400, "action_request_validation_exception"))
    assert refused_for_content(api_error(413, "request_entity_too_large"))
    assert not refused_for_content(api_error(500, "internal_server_error"))
    assert not refused_for_content(api_error(429, "es_rejected_execution_exception"))


def test_a_long_refusal_is_clipped_in_the_middle_keeping_both_ends():
    reason = "id is too long, must be no longer than 512 bytes but was: " + "x" * 2_000
    body = {"error": {"type": "action_request_validation_exception", "reason": reason}}
    text = request_reason(api_error(400, "action_request_validation_exception", body))
    assert text.startswith("400 action_request_validation_exception: id is too long") and text.endswith("xxx")
    assert "…" in text and len(text) <= 401
    assert request_reason(api_error(413, "too_large", body=None, message="Request Entity Too Large")) == (
        "413 Request Entity Too Large")


def test_retry_after_reads_a_number_and_ignores_anything_else():
    assert retry_after(api_error(429, "x", headers={"retry-after": "7"})) == 7.0
    assert retry_after(api_error(429, "x", headers={"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"})) is None
    assert retry_after(api_error(429, "x")) is None
    assert retry_after(ValueError("no meta")) is None
