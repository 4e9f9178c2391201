"""The ``tlcore`` subcommands, one module per kind of work.

Each command is a function ``(args) -> exit status`` that calls the same tlcore functions
the pages call. TensorFlow and Keras are imported inside the commands, never at import, so
building the parser (and ``--help``) stays instant.
"""
