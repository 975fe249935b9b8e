"""A demo irc plugin: the `gelu-to-erf` pass and the `demo-interp` backend."""
