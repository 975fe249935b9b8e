"""Passes over the IR, the pipelines that order them, and the manager that runs them.

Importing this package imports no torch: pass classes are looked up by name when a pipeline
names them (`irc.passes.registry`).
"""

from __future__ import annotations

from irc.passes.base import Option, Pass
from irc.passes.manager import PassManager, PassRecord, PipelineResult
from irc.passes.pipeline import format_pipeline, parse_pipeline
from irc.passes.registry import get_pass_class, pass_names, register_pass, unregister_pass
from irc.passes.rewriter import PatternRewriter, RewritePass, RewritePattern, apply_patterns

__all__ = [
    "Option",
    "Pass",
    "PassManager",
    "PassRecord",
    "PatternRewriter",
    "PipelineResult",
    "RewritePass",
    "RewritePattern",
    "apply_patterns",
    "format_pipeline",
    "get_pass_class",
    "parse_pipeline",
    "pass_names",
    "register_pass",
    "unregister_pass",
]
