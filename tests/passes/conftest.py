"""Test passes registered for the duration of one test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from irc.passes import Pass, register_pass, unregister_pass


@pytest.fixture
def registered() -> Iterator[Callable[[type[Pass]], type[Pass]]]:
    """Register pass classes for one test: `registered(MyPass)`; they are removed afterwards."""
    names: list[str] = []

    def register(cls: type[Pass]) -> type[Pass]:
        register_pass(cls.name, cls)
        names.append(cls.name)
        return cls

    yield register
    for name in names:
        unregister_pass(name)
