"""The topic text model: train from labelled items, save weights without text, load, predict; the shipped model."""

import json

import pytest

from pipeline.nlp.corpus import split_rows
from pipeline.nlp.lemmas import LemmaTables, load_spacy, topic_pipeline
from pipeline.nlp.textcat import load_topic_model, shipped_model_path
from pipeline.nlp.train import TrainingItem, TrainingOptions, train_topic_model, training_items, with_short_copies
from pipeline.topics import builtin_topics

LABELS = ["counterterrorism", "minerals_cooperation"]
CT = ["Militants attacked a police post", "Suicide bomber strikes convoy", "Terrorists killed in operation",
      "TTP claims attack on checkpoint", "Bomb blast kills soldiers"]
MIN = ["Copper mine investment agreed", "Lithium exploration licence awarded", "Gas pipeline deal signed",
       "Critical minerals partnership announced", "Oil and gas blocks auctioned"]
NONE = ["Cricket team wins series", "Rain expected in Lahore", "Film festival opens", "Bank profits rise",
        "School exams postponed"]


@pytest.fixture(scope="module")
def tables():
    return LemmaTables.from_nlp(load_spacy("", exclude=["parser", "tagger", "ner", "tok2vec"]))


def test_train_save_load_predict(tables, tmp_path):
    items = [TrainingItem(f"c{i}", t, frozenset({"counterterrorism"})) for i, t in enumerate(CT)]
    items += [TrainingItem(f"m{i}", t, frozenset({"minerals_cooperation"})) for i, t in enumerate(MIN)]
    items += [TrainingItem(f"n{i}", t, frozenset()) for i, t in enumerate(NONE)]
    meta = train_topic_model(items, LABELS, tables, tmp_path / "model", TrainingOptions(epochs=10))
    assert meta.labels == tuple(LABELS) and meta.training["items"] == 15
    saved = json.loads((tmp_path / "model" / "meta.json").read_text())
    assert saved["model_version"] == meta.model_version
    assert b"Cricket" not in (tmp_path / "model" / "textcat.bin").read_bytes()  # weights only, no text
    nlp = topic_pipeline(tables)
    load_topic_model(nlp, tmp_path / "model")
    cats = nlp("Militants attack a convoy").cats
    assert cats["counterterrorism"] > 0.5 > cats["minerals_cooperation"]


def test_full_text_items_also_teach_their_title_and_summary_alone():
    rows = [("l1", {"id": "a", "title": "Copper deal", "summary": "Signed today.", "body": "Long text about the mine.",
                    "labels": ["minerals_cooperation"]}),
            ("l2", {"id": "b", "title": "Rain in Lahore", "summary": "Showers expected.", "labels": []})]
    items = training_items(rows, LABELS)
    assert items[0].text == "Copper deal\nSigned today.\nLong text about the mine."
    assert items[0].short == "Copper deal\nSigned today." and items[1].short == ""  # no body: nothing to add
    copies = with_short_copies(items)
    assert [(i.id, i.text, i.labels) for i in copies[2:]] == [
        ("a", "Copper deal\nSigned today.", frozenset({"minerals_cooperation"}))]
    assert with_short_copies(copies[2:]) == copies[2:]  # a copy is not copied again


def test_the_shipped_model_is_small_and_versioned(tables):
    folder = shipped_model_path()
    assert sum(p.stat().st_size for p in folder.iterdir()) < 5 * 1024 * 1024
    nlp = topic_pipeline(tables)
    meta = load_topic_model(nlp)
    assert meta.model_version and set(meta.labels) == set(LABELS)


def test_split_is_stratified_and_depends_on_ids_only():
    rows = [{"id": f"i{n}", "labels": ["counterterrorism"] if n % 4 == 0 else []} for n in range(200)]
    train, held = split_rows(rows, 0.3)
    again, _ = split_rows(list(reversed(rows)), 0.3)
    assert {r["id"] for r in train} == {r["id"] for r in again}
    assert len(held) == 60 and sum(bool(r["labels"]) for r in held) == 15


def test_training_with_topic_rules_fits_combiners_that_the_classifier_uses(tables, tmp_path):
    from pipeline.nlp.combiner import load_combiners
    from pipeline.nlp.hybrid import HybridClassifier
    from pipeline.settings import ClassifierSettings
    from pipeline.topics import builtin_topics

    items = [TrainingItem(f"c{i}", t, frozenset({"counterterrorism"}), t) for i, t in enumerate(CT)]
    items += [TrainingItem(f"m{i}", t, frozenset({"minerals_cooperation"}), t) for i, t in enumerate(MIN)]
    items += [TrainingItem(f"n{i}", t, frozenset(), t) for i, t in enumerate(NONE)]
    topics = builtin_topics()
    meta = train_topic_model(items, LABELS, tables, tmp_path / "m", TrainingOptions(epochs=5, folds=3), topics=topics)
    combiners = load_combiners(tmp_path / "m", LABELS)
    assert set(combiners) == set(LABELS) and meta.training["folds"] == 3
    summary = json.loads((tmp_path / "m" / "combiner.json").read_text())["cross_validation"]
    assert summary["topics"]["counterterrorism"]["support"] == len(CT)
    classifier = HybridClassifier(topics, ClassifierSettings(topic_model=str(tmp_path / "m"), ner="off"))
    (result,) = classifier.topic_stage([("Suicide bomber kills militants", "Suicide bomber kills militants")])
    ct = combiners["counterterrorism"]
    assert result.scores["counterterrorism"] == pytest.approx(ct.score(float(result.evidence["counterterrorism"][-1][6:]),
                                                                    *_rule_weights(classifier, result)), abs=0.02)
    assert ("counterterrorism" in result.topics) == (result.scores["counterterrorism"] >= ct.threshold)


def _rule_weights(classifier, result):
    rule = classifier._rules.score(result.doc, 4)["counterterrorism"]
    return rule.positive, rule.negative


def test_the_shipped_model_decides_by_the_hand_blend_and_training_fits_no_combiner_unless_asked(tables, tmp_path):
    from pipeline.nlp.combiner import load_combiners

    assert load_combiners(shipped_model_path(), LABELS) == {}
    items = [TrainingItem(f"c{i}", t, frozenset({"counterterrorism"})) for i, t in enumerate(CT)]
    items += [TrainingItem(f"n{i}", t, frozenset()) for i, t in enumerate(NONE)]
    train_topic_model(items, LABELS, tables, tmp_path / "m", TrainingOptions(epochs=1), topics=builtin_topics())
    assert not (tmp_path / "m" / "combiner.json").exists()
