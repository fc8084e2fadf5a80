"""The CLI's commands, one module per family; :mod:`newsmon.cli` parses arguments and dispatches."""
