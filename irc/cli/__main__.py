"""`python -m irc.cli` runs the `irc` command."""

import sys

from irc.cli.main import main

sys.exit(main())
