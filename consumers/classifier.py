"""The classifier stage: ``newsmon.raw`` → topics, evidence, entities, countries, story → ``newsmon.classified``."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from pipeline.classify import RuleClassifier, story_key
from pipeline.item import ClassifiedItem, RawItem, decode_json, format_time, utc_now
from pipeline.transport.base import TOPIC_CLASSIFIED, LogProducer, Record

__all__ = ["classify_item", "ClassifierStage"]


def classify_item(classifier: RuleClassifier, raw: RawItem, now: datetime) -> ClassifiedItem:
    judgement = classifier.classify(raw.title, raw.text)
    found = judgement.enrichment
    return ClassifiedItem.from_raw(
        raw,
        topics=judgement.topics, scores=judgement.scores, evidence=judgement.evidence,
        entities=found.entities, countries=found.countries, locations=found.locations,
        story_id=story_key(raw.title) if raw.title else raw.id,
        model_version=classifier.version, classified_at=format_time(now),
    )


class ClassifierStage:
    name = "classifier"

    def __init__(self, classifier: RuleClassifier, producer: LogProducer,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.classifier, self.producer, self.clock = classifier, producer, clock

    def handle(self, record: Record) -> None:
        raw = RawItem.from_dict(decode_json(record.value, f"{record.topic} offset {record.offset}"))
        item = classify_item(self.classifier, raw, self.clock())
        self.producer.publish(TOPIC_CLASSIFIED, item.id, item.to_json())

    def flush(self) -> None:
        """Nothing of its own: the loop flushes the producer that carries the output."""
