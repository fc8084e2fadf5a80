"""The CLI's commands, one module per family. :mod:`newsmon.cli` parses the arguments, loads the settings and
calls the command's handler, ``cmd_x(settings, args, progress) -> int``, which unpacks its own arguments."""
