"""Pipeline strings: parsing, option conversion, errors, and the format/parse round trip."""

from __future__ import annotations

import string
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irc.errors import PassError
from irc.ir.core import Graph
from irc.passes import (
    Pass,
    format_pipeline,
    get_pass_class,
    parse_pipeline,
    pass_names,
    register_pass,
    unregister_pass,
)
from irc.passes.cse import CommonSubexpressionElimination
from irc.passes.dce import DeadCodeElimination
from irc.passes.fold_constants import FoldConstants


@dataclass(frozen=True)
class AllOptions(Pass):
    """A pass with one option of every supported type."""

    name = "all-options"

    count: int = 1
    """How many."""
    scale: float = 0.5
    """How much."""
    flag: bool = False
    """Whether."""
    label: str = "x"
    """What."""
    sizes: tuple[int, ...] = (32, 128)
    """Which sizes."""

    def run(self, graph: Graph) -> bool:
        return False


@dataclass(frozen=True)
class Required(Pass):
    """A pass with an option that has no default."""

    name = "required"

    size: int
    """Must be given."""

    def run(self, graph: Graph) -> bool:
        return False


@pytest.fixture(scope="module")
def options() -> Iterator[None]:
    """AllOptions and Required registered for this module (hypothesis tests share it)."""
    register_pass(AllOptions.name, AllOptions)
    register_pass(Required.name, Required)
    yield
    unregister_pass(AllOptions.name)
    unregister_pass(Required.name)


def test_builtin_passes_are_registered() -> None:
    assert {"dce", "cse", "fold-constants"} <= set(pass_names())
    assert get_pass_class("dce") is DeadCodeElimination


def test_parse_names_and_options() -> None:
    passes = parse_pipeline("dce,cse,fold-constants{max_elements=128}")
    assert passes == [
        DeadCodeElimination(),
        CommonSubexpressionElimination(),
        FoldConstants(max_elements=128),
    ]


def test_whitespace_and_empty_braces_are_ignored() -> None:
    assert parse_pipeline("  dce ,\tcse{ } ,fold-constants{ max_elements = 7 }\n") == parse_pipeline(
        "dce,cse,fold-constants{max_elements=7}"
    )


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_pipeline(text: str) -> None:
    assert parse_pipeline(text) == []
    assert format_pipeline([]) == ""


def test_option_types_are_converted(options: None) -> None:
    [p] = parse_pipeline("all-options{count=-3,scale=1e-5,flag=TRUE,label=causal-lm,sizes=32|64|128}")
    assert p == AllOptions(count=-3, scale=1e-5, flag=True, label="causal-lm", sizes=(32, 64, 128))
    [p] = parse_pipeline("all-options{sizes=}")
    assert p.sizes == ()
    [p] = parse_pipeline("all-options{sizes=7,label=}")
    assert (p.sizes, p.label) == ((7,), "")


def test_format_writes_every_option(options: None) -> None:
    assert format_pipeline([AllOptions(), DeadCodeElimination()]) == (
        "all-options{count=1,scale=0.5,flag=false,label=x,sizes=32|128},dce"
    )
    assert str(FoldConstants()) == "fold-constants{max_elements=65536}"


def test_option_docs_come_from_field_docstrings(options: None) -> None:
    docs = {o.name: o.doc for o in AllOptions.options()}
    assert docs == {
        "count": "How many.",
        "scale": "How much.",
        "flag": "Whether.",
        "label": "What.",
        "sizes": "Which sizes.",
    }
    assert AllOptions.summary() == "A pass with one option of every supported type."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dce,,cse", "expected a pass name at column 5"),
        ("dce cse", "expected ',' between passes at column 5"),
        (",dce", "expected a pass name at column 1"),
        ("dce,", "expected a pass name at column 5"),
        ("dce}", "expected ',' between passes at column 4"),
        (
            "fold-constants{max_elements=1",
            "expected ',' or '}' in the options of fold-constants at column 30",
        ),
        ("fold-constants{=1}", "expected 'option=value' in the options of fold-constants"),
        ("fold-constants{max_elements}", "expected 'option=value'"),
        ("fold-constants{max_elements=1=2}", "expected ',' or '}'"),
        ("dse", "unknown pass 'dse'. Did you mean 'dce'? Known passes: "),
        ("cse,frobnicate", "at column 5: unknown pass 'frobnicate'. Known passes: "),
        (
            "fold-constants{max_elements=1.5}",
            "option max_elements of pass fold-constants takes an int, not '1.5'",
        ),
        ("fold-constants{max-elements=1}", "has no option 'max-elements'. Did you mean max_elements?"),
        ("dce{x=1}", "pass dce has no option 'x'. dce takes no options."),
        (
            "fold-constants{max_elements=1,max_elements=2}",
            "option max_elements of fold-constants is given twice",
        ),
    ],
)
def test_malformed_pipelines(text: str, message: str) -> None:
    with pytest.raises(PassError, match=None) as info:
        parse_pipeline(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("flag=yes", "option flag of pass all-options takes a bool, not 'yes'"),
        ("scale=big", "option scale of pass all-options takes a float, not 'big'"),
        ("sizes=1|x", "option sizes of pass all-options takes a '|'-separated list (int|...), not '1|x'"),
        ("count=", "takes an int, not ''"),
    ],
)
def test_bad_option_values_list_the_options(options: None, option: str, message: str) -> None:
    with pytest.raises(PassError) as info:
        parse_pipeline(f"all-options{{{option}}}")
    assert message in str(info.value)
    assert "Options of all-options: count: int = 1 (How many); scale: float = 0.5 (How much)" in str(
        info.value
    )


def test_required_option(options: None) -> None:
    with pytest.raises(PassError, match="pass required needs option"):
        parse_pipeline("required")
    assert parse_pipeline("required{size=3}") == [Required(size=3)]


def test_registry_errors() -> None:
    with pytest.raises(PassError, match="already registered"):
        register_pass("dce", "irc.passes.dce:DeadCodeElimination")
    with pytest.raises(PassError, match="must read 'package.module:Class'"):
        register_pass("nowhere", "irc.passes.dce")


def test_lazy_registration_reports_bad_targets() -> None:
    register_pass("missing-module", "irc.passes.no_such_module:X")
    register_pass("missing-class", "irc.passes.dce:NoSuchPass")
    register_pass("wrong-name", "irc.passes.dce:DeadCodeElimination")
    try:
        with pytest.raises(PassError, match="cannot be imported"):
            get_pass_class("missing-module")
        with pytest.raises(PassError, match="irc.passes.dce has no NoSuchPass"):
            get_pass_class("missing-class")
        with pytest.raises(PassError, match="whose name is 'dce'"):
            get_pass_class("wrong-name")
    finally:
        for name in ("missing-module", "missing-class", "wrong-name"):
            unregister_pass(name)


def test_unformattable_string_option(options: None) -> None:
    with pytest.raises(PassError, match="cannot be written in a pipeline"):
        format_pipeline([AllOptions(label="a,b")])


# -- the grammar, by hypothesis ----------------------------------------------------------------

_SAFE_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "_-./|:", max_size=12)

_ALL_OPTIONS = st.builds(
    AllOptions,
    count=st.integers(-(2**40), 2**40),
    scale=st.floats(allow_nan=False),
    flag=st.booleans(),
    label=_SAFE_TEXT.filter(lambda s: "|" not in s),
    sizes=st.lists(st.integers(-1000, 10**6), max_size=4).map(tuple),
)
_PASSES = st.one_of(
    st.just(DeadCodeElimination()),
    st.just(CommonSubexpressionElimination()),
    st.builds(FoldConstants, max_elements=st.integers(0, 2**31)),
    _ALL_OPTIONS,
)
_SPACE = st.sampled_from(["", " ", "  ", "\t", "\n"])


@settings(max_examples=200, deadline=None)
@given(passes=st.lists(_PASSES, max_size=5))
def test_format_then_parse_is_the_identity(options: None, passes: list[Pass]) -> None:
    text = format_pipeline(passes)
    assert parse_pipeline(text) == passes
    assert format_pipeline(parse_pipeline(text)) == text


@settings(max_examples=100, deadline=None)
@given(passes=st.lists(_PASSES, min_size=1, max_size=4), data=st.data())
def test_whitespace_between_tokens_does_not_matter(
    options: None, passes: list[Pass], data: st.DataObject
) -> None:
    text = format_pipeline(passes)
    spaced = ""
    for char in text:
        if char in ",{}=":
            spaced += data.draw(_SPACE) + char + data.draw(_SPACE)
        else:
            spaced += char
    assert parse_pipeline(spaced) == parse_pipeline(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="dcesfold-ntax{}=,|1. _", max_size=30))
def test_any_text_parses_or_raises_pass_error(text: str) -> None:
    try:
        passes = parse_pipeline(text)
    except PassError:
        return
    assert parse_pipeline(format_pipeline(passes)) == passes


def test_parsing_a_pipeline_does_not_import_torch() -> None:
    code = (
        "import sys; from irc.passes import parse_pipeline, format_pipeline; "
        "format_pipeline(parse_pipeline('dce,cse,fold-constants{max_elements=8}')); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
