"""The lazy registry behind `get_backend` and `get_pass_class` (`irc.registry`): unknown names get
the closest known one, and a module that cannot be imported is an IrcError naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from irc.backends import backend_names, backend_origin, get_backend, register_backend, unregister_backend
from irc.errors import IrcError, PassError
from irc.passes import get_pass_class, register_pass, unregister_pass
from irc.passes.dce import DeadCodeElimination


@pytest.fixture
def broken_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module on sys.path whose import raises, as a plugin's would when its driver is missing."""
    (tmp_path / "irc_test_broken.py").write_text('raise RuntimeError("the device driver is not installed")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "irc_test_broken"


def test_unknown_backend_suggests_the_closest_name() -> None:
    with pytest.raises(
        IrcError, match=r"unknown backend 'onx'; choose one of: .*onnx.*\. Did you mean 'onnx'\?"
    ):
        get_backend("onx")
    with pytest.raises(IrcError) as info:
        get_backend("tflite")
    assert "Did you mean" not in str(info.value)


def test_a_backend_whose_module_raises_on_import_is_an_irc_error(broken_module: str) -> None:
    register_backend("broken", f"{broken_module}:BrokenBackend")
    try:
        assert "broken" in backend_names()
        with pytest.raises(IrcError) as info:
            get_backend("broken")
    finally:
        unregister_backend("broken")
    message = str(info.value)
    assert f"backend 'broken' is registered as {broken_module}:BrokenBackend" in message
    assert "cannot be imported (RuntimeError: the device driver is not installed)" in message
    assert f"Fix or reinstall the package that provides {broken_module}" in message


def test_a_backend_registered_as_something_else_is_refused() -> None:
    register_backend("not-a-backend", "irc.passes.dce:DeadCodeElimination")
    register_backend("no-class", "irc.backends.onnx:NoSuchBackend")
    try:
        with pytest.raises(IrcError, match="which is not a Backend subclass"):
            get_backend("not-a-backend")
        with pytest.raises(IrcError, match="irc.backends.onnx has no NoSuchBackend"):
            get_backend("no-class")
        with pytest.raises(IrcError, match="already registered"):
            register_backend("onnx", "irc.backends.onnx:OnnxBackend")
    finally:
        unregister_backend("not-a-backend")
        unregister_backend("no-class")


def test_a_registered_class_is_used_as_it_is() -> None:
    from irc.backends.onnx import OnnxBackend

    class Renamed(OnnxBackend):
        """ONNX under another name."""

    register_backend("onnx-again", Renamed)
    try:
        assert isinstance(get_backend("onnx-again"), Renamed)
        assert backend_origin("onnx-again") == f"{__name__}:{Renamed.__qualname__}"
        assert backend_origin("onnx") == "irc"
    finally:
        unregister_backend("onnx-again")


def test_a_pass_whose_module_raises_on_import_is_a_pass_error(broken_module: str) -> None:
    register_pass("broken-pass", f"{broken_module}:BrokenPass")
    try:
        with pytest.raises(
            PassError, match=r"pass 'broken-pass' is registered as .* cannot be imported \(Runtime"
        ):
            get_pass_class("broken-pass")
    finally:
        unregister_pass("broken-pass")
    assert get_pass_class("dce") is DeadCodeElimination
