"""spaCy-based judgement of news items: lemma rules, a linear text model, entities, places and stories.

The parts, cheapest first: :mod:`~pipeline.nlp.lemmas` (tokenizer plus a tagger-free lemmatizer),
:mod:`~pipeline.nlp.lemma_rules` (weighted, negative and proximity phrases on lemmas),
:mod:`~pipeline.nlp.textcat` (a bag-of-words ``textcat_multilabel``), :mod:`~pipeline.nlp.entities`
(entity ruler from the gazetteer plus spaCy NER where it adds value), :mod:`~pipeline.nlp.stories`
(MinHash/LSH near-duplicate clusters), and :mod:`~pipeline.nlp.hybrid`, which puts them together.
"""
