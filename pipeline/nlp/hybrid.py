"""The hybrid classifier: lemma rules plus a linear text model for topics, then entities where worth it.

Per batch of items (one ``nlp.pipe`` per stage, cheapest first):

1. topic stage: tokenizer, tagger-free lemmatizer and the BOW ``textcat_multilabel`` over the title,
   summary and start of the body (``max_chars``); the lemma rules score the same docs;
2. per topic, when the model folder carries a fitted combiner for it (``combiner.json``, see
   :mod:`pipeline.nlp.combiner`), the score is the combiner's probability from the model's
   probability and the rules' positive and negative weights, assigned at or above the combiner's
   threshold; otherwise ``score = model_weight * model * exp(-negative / 3) + (1 - model_weight) * rules``
   (the negative phrases' weight damps the model's share; a topic the model does not know uses its
   rules alone), assigned at or above the topic's threshold, or when the rule score alone reaches
   ``rules_alone`` (then the score is raised to the threshold). A rule
   veto zeroes the score either way. The evidence is the rule phrases, strongest first, then
   ``model:0.93``;
3. the gazetteer entity ruler on every item (cheap);
4. spaCy NER only where it adds value (``ner: relevant``: items with a topic, or that the gazetteer
   already finds to be about Pakistan, the United States or Afghanistan; ``all``; ``off``), on the
   first ``ner_max_chars`` characters.

Pure: texts in, :class:`~pipeline.classify.Judgement` out; the models are loaded once at build time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from spacy.tokens import Doc

from pipeline.classify import Judgement
from pipeline.nlp.combiner import Combiner, load_combiners
from pipeline.nlp.entities import EntityExtractor, load_gazetteer_data
from pipeline.nlp.geo import geography
from pipeline.nlp.lemma_rules import SCALE, LemmaRules, RuleScore
from pipeline.nlp.lemmas import LemmaTables, clip_text, load_spacy, topic_pipeline
from pipeline.nlp.textcat import TopicModelMeta, load_topic_model, shipped_model_path
from pipeline.settings import ClassifierSettings
from pipeline.topics import TopicDefinition

__all__ = ["TopicResult", "HybridClassifier", "NER_MODES"]

logger = logging.getLogger(__name__)

NER_MODES = ("relevant", "all", "off")
_RELEVANT_COUNTRIES = {"PK", "US", "AF"}
_NER_EXCLUDE = ["parser", "tagger", "attribute_ruler", "senter", "morphologizer", "textcat", "textcat_multilabel"]


@dataclass(frozen=True)
class TopicResult:
    """The topic stage's answer for one item: judgement fields plus the doc for the later stages."""

    topics: tuple[str, ...]
    scores: dict[str, float]
    evidence: dict[str, list[str]]
    doc: Doc
    title_chars: int


class HybridClassifier:
    """Build once (loads spaCy and the topic model, about a second), then classify many."""

    def __init__(self, topics: Mapping[str, TopicDefinition], options: ClassifierSettings) -> None:
        self.options = options
        self._topics = dict(topics)
        self._ner_nlp = load_spacy(options.spacy_model, exclude=_NER_EXCLUDE)
        tables = LemmaTables.from_nlp(self._ner_nlp)
        if "lemmatizer" in self._ner_nlp.pipe_names:
            self._ner_nlp.remove_pipe("lemmatizer")
        self._nlp = topic_pipeline(tables, base=self._ner_nlp)
        self._meta: TopicModelMeta | None = None
        self._combiners: dict[str, Combiner] = {}
        if options.topic_model.lower() != "none":
            folder = Path(options.topic_model) if options.topic_model else shipped_model_path()
            self._meta = load_topic_model(self._nlp, folder)
            self._combiners = load_combiners(folder, self._meta.labels)
        self._rules = LemmaRules(self._nlp, self._topics)
        self._entities = EntityExtractor(self._ner_nlp, load_gazetteer_data(), geography(), tables.all_lemmas())
        self.version = self._version()

    def _version(self) -> str:
        rules = json.dumps({name: asdict(t) for name, t in sorted(self._topics.items())}, sort_keys=True, default=list)
        digest = hashlib.sha256(rules.encode("utf-8")).hexdigest()[:8]
        model = self._meta.model_version if self._meta else "rules-only"
        return f"{model}+rules-{digest}"

    def topic_stage(self, items: Sequence[tuple[str, str]]) -> list[TopicResult]:
        """Topics, scores and evidence for (title, text) pairs; ``text`` starts with the title."""
        texts = [clip_text(text if text.startswith(title) else f"{title}\n{text}", self.options.max_chars)
                 for title, text in items]
        results = []
        for (title, _), doc in zip(items, self._nlp.pipe(texts, batch_size=self.options.batch_size)):
            title_tokens = next((t.i for t in doc if t.idx >= len(title)), len(doc))
            results.append(self._judge(doc, self._rules.score(doc, title_tokens), len(title)))
        return results

    def _judge(self, doc: Doc, rules: dict[str, RuleScore], title_chars: int) -> TopicResult:
        topics, scores, evidence = [], {}, {}
        for name, definition in self._topics.items():
            rule = rules[name]
            model = doc.cats.get(name)
            combiner = self._combiners.get(name)
            if combiner is not None and model is not None:
                score = 0.0 if rule.veto else combiner.score(model, rule.positive, rule.negative)
                if not rule.veto and score >= combiner.threshold:
                    topics.append(name)
            else:
                score = self._hand_score(definition, rule, model)
                if score >= definition.threshold:
                    topics.append(name)
            scores[name] = round(score, 4)
            evidence[name] = list(rule.evidence[:10]) + ([f"model:{model:.2f}"] if model is not None else [])
        return TopicResult(tuple(topics), scores, evidence, doc, title_chars)

    @staticmethod
    def _hand_score(definition: TopicDefinition, rule: RuleScore, model: float | None) -> float:
        """The configured blend of model and rules; negative phrases damp the model's share too (a cricket
        "attack" the text model likes still drops), and a sure rule score lifts it to the threshold."""
        if rule.veto:
            return 0.0
        weight = definition.model_weight if model is not None else 0.0
        damped = (model or 0.0) * math.exp(-rule.negative / SCALE)
        score = weight * damped + (1.0 - weight) * rule.score
        return max(score, definition.threshold) if rule.score >= definition.rules_alone else score

    def classify_many(self, items: Sequence[tuple[str, str]]) -> list[Judgement]:
        """Full judgement (topics, entities, countries, locations) for (title, text) pairs."""
        results = self.topic_stage(items)
        for result in results:
            self._entities.apply_ruler(result.doc)
        wanted = [i for i, r in enumerate(results) if self._wants_ner(r)]
        ner_docs: dict[int, Doc] = {}
        if wanted:
            texts = (clip_text(items[i][1], self.options.ner_max_chars) for i in wanted)
            ner_docs = dict(zip(wanted, self._ner_nlp.pipe(texts, batch_size=self.options.batch_size)))
        judgements = []
        for i, result in enumerate(results):
            docs = [result.doc] + ([ner_docs[i]] if i in ner_docs else [])
            enrichment = self._entities.enrich(result.title_chars, docs)
            judgements.append(Judgement(result.topics, result.scores, result.evidence, enrichment))
        return judgements

    def classify(self, title: str, text: str) -> Judgement:
        return self.classify_many([(title, text)])[0]

    def _wants_ner(self, result: TopicResult) -> bool:
        mode = self.options.ner
        if mode == "all":
            return True
        if mode == "off":
            return False
        if result.topics:
            return True
        about = self._entities.enrich(result.title_chars, [result.doc]).countries  # gazetteer only: cheap
        return not _RELEVANT_COUNTRIES.isdisjoint(about)
