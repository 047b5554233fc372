"""``python -m annalign``: the command line."""

from annalign.cli.commands import entry

entry()
