"""lit configuration for the pass tests: each `.irc` file holds IR cases and RUN lines that pipe
`irc-opt` into `filecheck`. Run with `lit -v tests/passes` (tests/passes/test_lit.py does)."""

# ruff: noqa: F821  (lit injects `config`)
from __future__ import annotations

import os
import shutil
import sys
import tempfile

import lit.formats

config.name = "irc-passes"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".irc"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(tempfile.gettempdir(), "irc-lit-passes")

root = os.path.dirname(os.path.dirname(config.test_source_root))
config.environment["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
config.environment["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])

# Without the console scripts on PATH (a checkout that was never pip-installed), run the modules.
for tool, module in (("irc-opt", "irc.cli.opt"), ("filecheck", "filecheck")):
    if shutil.which(tool, path=config.environment["PATH"]) is None:
        config.substitutions.append((tool, f'"{sys.executable}" -m {module}'))
