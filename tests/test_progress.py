from __future__ import annotations

import io

import pytest

from irc.progress import Progress


def test_quiet_when_not_a_terminal_but_still_timed() -> None:
    stream = io.StringIO()
    progress = Progress(stream=stream)
    with progress.stage("trace"):
        pass
    assert stream.getvalue() == ""
    assert "trace" in progress.timings


def test_terminal_shows_each_stage_and_failures() -> None:
    stream = io.StringIO()
    progress = Progress(enabled=True, stream=stream)
    with progress.stage("load", "bert"):
        pass
    with pytest.raises(ValueError), progress.stage("lower"):
        raise ValueError("boom")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[irc] load bert ... done in ") and lines[0].endswith(" s")
    assert lines[1] == "[irc] lower ... failed"


def test_a_call_times_its_own_stages_and_reports_to_the_caller() -> None:
    stream = io.StringIO()
    caller = Progress(enabled=True, stream=stream)
    first, second = Progress.for_call(caller), Progress.for_call(caller)
    with first.stage("load"):
        pass
    with second.stage("load"):
        pass
    with second.stage("trace"):
        pass
    assert set(first.timings) == {"load"} and set(second.timings) == {"load", "trace"}
    assert caller.timings["load"] == first.timings["load"] + second.timings["load"]
    assert stream.getvalue().count("[irc] load ... done in") == 2  # printed where the caller prints
    quiet = Progress.for_call(None)
    assert not quiet.enabled and quiet.parent is None
