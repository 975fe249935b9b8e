"""Differential validation of artifacts against the reference model."""

from irc.validate.compare import OutputResult, compare_outputs
from irc.validate.report import CaseResult, ValidationReport
from irc.validate.runner import bucket_validation_sizes, validate, validation_sizes

__all__ = [
    "bucket_validation_sizes",
    "CaseResult",
    "OutputResult",
    "ValidationReport",
    "compare_outputs",
    "validate",
    "validation_sizes",
]
