"""newsmon's shared core: item model, settings, topics, classifier, query language, transports, consume loop and CLI."""
