"""Every user-facing failure in irc is an `IrcError`.

The CLI prints the message of an `IrcError` without a traceback and exits with its `exit_code`;
anything else is a bug in irc and keeps its traceback.
"""

from __future__ import annotations


class IrcError(Exception):
    """Base of all errors a user can cause and fix; the message says what to do."""

    exit_code = 2


class ModelLoadError(IrcError):
    """The model path or module cannot be loaded."""


class TaskError(IrcError):
    """The task is unknown, or the model has no spec or head for it."""


class TraceError(IrcError):
    """torch.export could not capture the model, or captured something irc cannot take."""


class IRError(IrcError):
    """A graph is malformed: the verifier or the IR parser rejected it."""


class ParseError(IRError):
    """The IR text cannot be parsed; the message gives line and column."""


class PassError(IrcError):
    """A pipeline string is malformed, a pass is unknown, or a pass failed."""


class LoweringError(IrcError):
    """A backend cannot lower some ops of the graph."""


class BackendError(IrcError):
    """A backend failed to write or load its artifact."""


class ValidationError(IrcError):
    """The artifact disagrees with the reference model."""

    exit_code = 1
