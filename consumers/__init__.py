"""Consumer stages (classifier, indexer, alerter): thin wiring of pipeline parts to the consume loop."""
