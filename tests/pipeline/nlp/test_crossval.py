"""Cross-validation of the whole classifier: every item judged once, by a model trained without it."""

import json
from pathlib import Path

import pytest

from pipeline.classify import Enrichment, Judgement
from pipeline.nlp.crossval import cross_validate
from pipeline.nlp.lemmas import LemmaTables, load_spacy
from pipeline.nlp.train import TrainingItem, TrainingOptions
from pipeline.settings import ClassifierSettings
from pipeline.topics import builtin_topics

CT = ["Militants attacked a police post", "Suicide bomber strikes convoy", "Terrorists killed in operation",
      "TTP claims attack on checkpoint", "Bomb blast kills soldiers", "Gunmen ambush security forces"]
NONE = ["Cricket team wins series", "Rain expected in Lahore", "Film festival opens", "Bank profits rise",
        "School exams postponed", "Wheat prices fall again"]
ITEMS = ([TrainingItem(f"c{i}", t, frozenset({"counterterrorism"}), t) for i, t in enumerate(CT)]
         + [TrainingItem(f"n{i}", t, frozenset(), t) for i, t in enumerate(NONE)])


@pytest.fixture(scope="module")
def tables():
    return LemmaTables.from_nlp(load_spacy("", exclude=["parser", "tagger", "ner", "tok2vec"]))


class _RecordingClassifier:
    """Says counterterrorism for every title in ``CT``; records how many items its fold's model was
    trained on (read while the model still exists) and which titles it judged."""

    version = "recording"

    def __init__(self, settings: ClassifierSettings, seen: list) -> None:
        meta = json.loads((Path(settings.topic_model) / "meta.json").read_text())
        self.trained_on, self.seen = meta["training"]["items"], seen

    def classify(self, title, text):
        return self.classify_many([(title, text)])[0]

    def classify_many(self, items):
        self.seen.append((self.trained_on, [title for title, _ in items]))
        found = Enrichment(entities={}, countries=(), locations=())
        return [Judgement(("counterterrorism",) if title in CT else (), {}, {}, found) for title, _ in items]


def test_each_item_is_judged_once_by_a_model_that_did_not_train_on_it(tables):
    seen: list = []
    result = cross_validate(ITEMS, builtin_topics(), tables, ClassifierSettings(ner="off"), TrainingOptions(epochs=2),
                            3, lambda topics, settings: _RecordingClassifier(settings, seen))
    assert len(seen) == 3
    assert sorted(t for _, titles in seen for t in titles) == sorted(item.title for item in ITEMS)  # each once
    assert all(trained_on + len(titles) == len(ITEMS) for trained_on, titles in seen)  # the rest trained it
    assert result.items == len(ITEMS)
    assert result.topics["counterterrorism"].f1 == 1.0  # the double's answers, pooled


@pytest.mark.parametrize("folds", [1, len(ITEMS) + 1])
def test_fold_counts_outside_two_to_the_number_of_items_are_refused(tables, folds):
    with pytest.raises(ValueError, match="folds: expected 2 to"):
        cross_validate(ITEMS, builtin_topics(), tables, ClassifierSettings(), TrainingOptions(), folds,
                       lambda topics, settings: None)
