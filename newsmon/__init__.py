"""newsmon, the application: wiring, the command line and its commands, the search page.

The layers, from the top: this package builds and runs the parts; ``producers`` (feeds into the
log) and ``consumers`` (the stages that read it) stand beside each other; ``pipeline`` is the core
they all stand on (the item, settings, the query language, the transports' Protocols and
adapters, the classifier). Imports only run downwards: ``newsmon`` → ``producers``, ``consumers``
→ ``pipeline``; ``producers`` and ``consumers`` never import each other, and ``pipeline`` imports
none of the three (``tests/test_layers.py`` keeps it so).
"""
