"""`python -m irc.cli` runs the `irc` command."""

from irc.cli.main import entry

entry()
