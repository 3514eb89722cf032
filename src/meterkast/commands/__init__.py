"""Subcommands of the ``meterkast`` console script; each module exposes ``register(subparsers)``.

Handlers are thin: they parse, build the core objects, and print. Errors derived from
``MeterkastError`` become exit status 2 with the message on stderr (see ``meterkast.cli``).
"""
