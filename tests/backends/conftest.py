"""Fixtures shared by the backend tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

NEURON_SDK_MODULES = ("torch_neuron", "torch_neuronx")


@pytest.fixture
def fresh_neuron_sdk() -> Iterator[None]:
    """Each test imports the Neuron SDK afresh, and whatever it imported (a stand-in, PyPI's
    placeholder) is forgotten afterwards, so no test sees another's SDK."""
    saved = {name: sys.modules.pop(name, None) for name in NEURON_SDK_MODULES}
    yield
    for name, module in saved.items():
        sys.modules.pop(name, None)
        if module is not None:
            sys.modules[name] = module
