"""The CLI's commands, one module per family; :mod:`pipeline.cli` parses arguments and dispatches."""
