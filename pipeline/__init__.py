"""newsmon's core, which every other package stands on and which imports none of them: the item
model, settings, topics, the classifier contract and its spaCy implementation, the query language,
the transports' Protocols and adapters, and the consume loop."""
