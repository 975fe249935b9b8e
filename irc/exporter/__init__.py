"""The export layer (`irc.exporter`, not `irc.export`: a subpackage would replace the function `irc.export`)."""
