"""Reads the IR text form written by `irc.ir.printer.print_graph` back into a `Graph`.

`print_graph(parse_graph(text)) == text` for every text `print_graph` writes. The parser is a
hand-written recursive descent over the raw text: nothing is evaluated, and the only torch
attributes it resolves are the dtype, layout and memory-format names listed in the printer.
Whitespace and newlines are free between tokens, except that a type stays on one line; `#` and
`//` start a comment that runs to the end of the line (outside types, where `//` is floor
division), so test files can carry CHECK lines.

Every error is a `ParseError` whose message starts with `line:column` and says what was expected.
"""

from __future__ import annotations

import json
import re
from typing import Any

from irc.errors import IRError, ParseError
from irc.ir.core import PARAM_KINDS, Graph, Node, Param, Value
from irc.ir.dims import Dim, parse_dim
from irc.ir.dtypes import DType
from irc.ir.ops import get_op
from irc.ir.printer import TORCH_NAMES
from irc.ir.types import ScalarType, TensorType, Type


def parse_graph(text: str) -> Graph:
    """The graph written in `text` (exactly one `graph @name { ... }`)."""
    return _Parser(text).graph()


_SPACE = re.compile(r"(?:\s+|#[^\n]*|//[^\n]*)+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[A-Za-z0-9_.]+")
_KWARG = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)")
_NUMBER = re.compile(r"-?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+|inf|nan)(?![A-Za-z0-9_.])")
_JSON = json.JSONDecoder()
_TYPE_WORD = re.compile(r"[a-z0-9]+")
MAX_NESTING = 100
"""How deep lists and dicts may nest in a literal: far more than any op takes, and well inside
Python's recursion limit, so malformed input gets a ParseError rather than a RecursionError."""
MAX_DIGITS = 400
"""The longest number the parser reads (Python refuses to convert ints past 4300 digits)."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.values: dict[str, Value] = {}
        self.depth = 0

    # -- scanning -------------------------------------------------------------------------
    def skip(self) -> None:
        match = _SPACE.match(self.text, self.pos)
        if match:
            self.pos = match.end()

    def location(self, pos: int) -> str:
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return f"{line}:{column}"

    def found(self, pos: int) -> str:
        if pos >= len(self.text):
            return "end of input"
        word = _WORD.match(self.text, pos) or _NUMBER.match(self.text, pos)
        return repr(word.group() if word else self.text[pos])

    def error(self, expected: str, pos: int | None = None) -> ParseError:
        if pos is None:
            self.skip()
            pos = self.pos
        return ParseError(f"{self.location(pos)}: expected {expected}, found {self.found(pos)}")

    def fail(self, message: str, pos: int) -> ParseError:
        return ParseError(f"{self.location(pos)}: {message}")

    def peek(self, token: str) -> bool:
        self.skip()
        return self.text.startswith(token, self.pos)

    def accept(self, token: str) -> bool:
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str, what: str | None = None) -> None:
        if not self.accept(token):
            raise self.error(what or repr(token))

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        self.skip()
        found = pattern.match(self.text, self.pos)
        if found:
            self.pos = found.end()
        return found

    def accept_word(self, word: str) -> bool:
        self.skip()
        found = _WORD.match(self.text, self.pos)
        if found and found.group() == word:
            self.pos = found.end()
            return True
        return False

    def word(self, what: str) -> str:
        found = self.match(_WORD)
        if not found:
            raise self.error(what)
        return found.group()

    def string(self, what: str = "a string") -> str:
        self.skip()
        if not self.text.startswith('"', self.pos):
            raise self.error(what)
        try:
            value, end = _JSON.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as exc:
            raise self.fail(f"bad string: {exc.msg}", exc.pos) from exc
        self.pos = end
        return str(value)

    def name(self, what: str) -> str:
        """A name after `%` or `@`: bare, or a JSON string."""
        if self.text.startswith('"', self.pos):
            return self.string(what)
        found = _NAME.match(self.text, self.pos)
        if not found:
            raise self.error(what)
        self.pos = found.end()
        return found.group()

    # -- graph ----------------------------------------------------------------------------
    def graph(self) -> Graph:
        if not self.accept_word("graph"):
            raise self.error("'graph'")
        self.expect("@", "'@' and the graph's name")
        graph = Graph(self.name("the graph's name"))
        self.expect("{", "'{' opening the graph body")
        while not self.accept("}"):
            self.statement(graph)
        self.skip()
        if self.pos != len(self.text):
            raise self.error("end of input after the graph's '}'")
        return graph

    def statement(self, graph: Graph) -> None:
        self.skip()
        start = self.pos
        if self.peek("%"):
            self.node(graph)
            return
        word = self.word("a statement (metadata, input, param, output, %name = op(...), or op(...))")
        if word == "metadata":
            graph.metadata.update(self.dict_literal())
        elif word == "input":
            name, _ = self.new_name()
            self.expect(":", "':' and the input's type")
            value = graph.add_input(name, self.type())
            self.values[name] = value
        elif word == "param":
            self.param(graph)
        elif word == "output":
            self.output(graph)
        else:
            self.pos = start
            self.node(graph)

    def new_name(self) -> tuple[str, int]:
        """A value name being defined, and where it starts."""
        self.expect("%", "'%' and a value name")
        start = self.pos - 1
        name = self.name("a value name")
        if name in self.values:
            raise self.fail(f"the value name %{name} is defined twice", start)
        return name, start

    def use(self) -> Value:
        start = self.pos
        self.expect("%", "'%' and a value name")
        name = self.name("a value name")
        value = self.values.get(name)
        if value is None:
            raise self.fail(f"%{name} is used but not defined before this line", start)
        return value

    def param(self, graph: Graph) -> None:
        name, _ = self.new_name()
        self.expect(":", "':' and the param's type")
        self.skip()
        type_pos = self.pos
        ptype = self.type()
        if not isinstance(ptype, TensorType):
            raise self.fail(f"param %{name} must have a tensor type, not {ptype}", type_pos)
        self.skip()
        kind_pos = self.pos
        kind = self.word(f"the param's kind ({', '.join(PARAM_KINDS)})")
        if kind not in PARAM_KINDS:
            raise self.error(f"the param's kind ({', '.join(PARAM_KINDS)})", kind_pos)
        tie = None
        if self.accept_word("tie"):
            tie = self.string("the tie group's label (a string)")
        data = None
        if self.accept("="):
            data = self.dense(ptype)
        meta = self.loc()
        self.values[name] = graph.add_param(Param(name, ptype, kind, data, tie, meta=meta))

    def dense(self, ptype: TensorType) -> Any:
        """`dense<[...]>`: the param's data, as a tensor of its declared type and shape."""
        if not self.accept_word("dense"):
            raise self.error("'dense<' and the param's data")
        self.expect("<", "'<' after dense")
        start = self.pos
        values = self.literal(allow_values=False)
        self.expect(">", "'>' closing dense<...>")
        if not _is_numeric(values):
            raise self.fail("dense data must be numbers, true/false, or lists of them", start)
        if not ptype.is_static:
            raise self.fail(f"dense data needs a static shape, not {ptype}", start)
        import torch

        try:
            tensor = torch.tensor(values, dtype=ptype.dtype.to_torch())
        except (TypeError, ValueError, RuntimeError) as exc:
            raise self.fail(f"dense data is not a {ptype.dtype} tensor: {exc}", start) from exc
        shape = tuple(d for d in ptype.shape if isinstance(d, int))
        if tensor.numel() != _numel(shape):
            raise self.fail(f"dense data has {tensor.numel()} elements, {ptype} needs {_numel(shape)}", start)
        return tensor.reshape(shape)

    def output(self, graph: Graph) -> None:
        if not self.peek("}"):
            graph.add_output(self.use())
            while self.accept(","):
                graph.add_output(self.use())
        if not self.peek("}"):
            raise self.error("',' or the '}' closing the graph (output is the last statement)")

    # -- nodes ----------------------------------------------------------------------------
    def node(self, graph: Graph) -> None:
        names: list[tuple[str, int]] = []
        if self.peek("%"):
            names.append(self.new_name())
            while self.accept(","):
                names.append(self.new_name())
            self.expect("=", "'=' after the node's output names")
        self.skip()
        op_pos = self.pos
        op = self.word("an op name (aten.linear, sym.add, ...)")
        try:
            get_op(op)
        except IRError as exc:
            raise self.fail(str(exc), op_pos) from exc
        args, kwargs = self.call_args()
        self.expect(":", "':' and the node's result types")
        self.skip()
        types_pos = self.pos
        types = self.result_types()
        if len(types) != len(names):
            raise self.fail(f"{op} has {len(names)} output names but {len(types)} result types", types_pos)
        seen: set[str] = set()
        for name, pos in names:
            if name in seen:
                raise self.fail(f"the value name %{name} is defined twice", pos)
            seen.add(name)
        outputs = [Value(name, t) for (name, _), t in zip(names, types, strict=True)]
        meta = self.loc()
        graph.append(Node(op, tuple(args), kwargs, outputs, meta))
        self.values.update((v.name, v) for v in outputs)

    def call_args(self) -> tuple[list[Any], dict[str, Any]]:
        self.expect("(", "'(' and the op's arguments")
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        if self.accept(")"):
            return args, kwargs
        while True:
            self.skip()
            pos = self.pos
            keyword = self.match(_KWARG)
            if keyword:
                if keyword.group(1) in kwargs:
                    raise self.fail(f"keyword argument {keyword.group(1)} is given twice", pos)
                kwargs[keyword.group(1)] = self.literal(allow_values=True)
            elif kwargs:
                raise self.fail("a positional argument follows a keyword argument", pos)
            else:
                args.append(self.literal(allow_values=True))
            if self.accept(")"):
                return args, kwargs
            self.expect(",", "',' or ')' in the argument list")

    def result_types(self) -> list[Type]:
        if self.accept("("):
            self.expect(")", "')': a node without outputs has result types '()'")
            return []
        types = [self.type()]
        while self.accept(","):
            types.append(self.type())
        return types

    def loc(self) -> dict[str, Any]:
        self.skip()
        if not self.text.startswith("loc(", self.pos):
            return {}
        self.pos += len("loc(")
        meta: dict[str, Any] = {"module": self.string("the module path (a string)")}
        if self.accept(","):
            meta["source"] = self.string("the source location (a string)")
        self.expect(")", "')' closing loc(...)")
        return meta

    # -- types ----------------------------------------------------------------------------
    def type(self) -> Type:
        self.skip()
        start = self.pos
        found = _TYPE_WORD.match(self.text, self.pos)
        word = found.group() if found else ""
        self.pos = found.end() if found else self.pos
        if word == "sym":
            return self.scalar_type()
        dtype = self.dtype(word, start)
        if not self.text.startswith("[", self.pos):
            raise self.error("'[' and the tensor's shape")
        self.pos += 1
        pieces = self.raw_until("]", ",")
        if len(pieces) == 1 and not pieces[0][0].strip():
            return TensorType(dtype, ())
        return TensorType(dtype, tuple(self.dim(text, pos) for text, pos in pieces))

    def scalar_type(self) -> ScalarType:
        self.expect("<", "'<' after sym")
        self.skip()
        dtype = self.dtype(self.word("an element type"), self.pos)
        if self.accept(">"):
            return ScalarType(dtype)
        self.expect(":", "':' and the scalar's size, or '>'")
        (text, pos), *rest = self.raw_until(">", None)
        return ScalarType(dtype, self.dim(text, pos, size=False))

    def dtype(self, word: str, pos: int) -> DType:
        try:
            return DType(word)
        except ValueError:
            names = ", ".join(d.value for d in DType)
            raise self.error(f"a type (sym<...> or an element type: {names})", pos) from None

    def raw_until(self, close: str, separator: str | None) -> list[tuple[str, int]]:
        """The text up to `close` at bracket depth 0, split at `separator`, with start offsets;
        dims are read raw because they hold `//`, `-` and parentheses."""
        pieces: list[tuple[str, int]] = []
        start = self.pos
        depth = 0
        end = len(self.text)
        for pos in range(self.pos, len(self.text)):
            char = self.text[pos]
            if char == "\n":
                end = pos
                break
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif depth == 0 and char in (close, separator):
                pieces.append((self.text[start:pos], start))
                start = pos + 1
                if char == close:
                    self.pos = pos + 1
                    return pieces
        found = "end of line" if end < len(self.text) else "end of input"
        raise self.fail(f"expected {close!r} closing the type (types stay on one line), found {found}", end)

    def dim(self, text: str, pos: int, size: bool = True) -> Dim:
        """A dim of a tensor shape (`size`: never a negative constant) or a symbolic scalar's value."""
        stripped = text.strip()
        pos += len(text) - len(text.lstrip())
        if not stripped:
            raise self.error("a dim (an int, a name, or an expression)", pos)
        try:
            dim = parse_dim(stripped)
        except ParseError as exc:
            raise self.fail(str(exc), pos) from exc
        if size and isinstance(dim, int) and dim < 0:
            raise self.fail(f"a size cannot be negative, found {stripped!r} = {dim}", pos)
        return dim

    # -- literals -------------------------------------------------------------------------
    def literal(self, *, allow_values: bool) -> Any:
        self.skip()
        start = self.pos
        char = self.text[start : start + 1]
        if char == "%":
            if not allow_values:
                raise self.error("a literal (values are not allowed here)")
            return self.use()
        if char in ("[", "{"):
            if self.depth >= MAX_NESTING:
                raise self.fail(f"lists and dicts nest deeper than {MAX_NESTING} levels", start)
            self.depth += 1
            try:
                return self.list_literal(allow_values) if char == "[" else self.dict_literal()
            finally:
                self.depth -= 1
        if char == '"':
            return self.string()
        number = self.match(_NUMBER)
        if number:
            text = number.group()
            if len(text) > MAX_DIGITS:
                raise self.fail(
                    f"a number of {len(text)} characters; the longest allowed has {MAX_DIGITS}", start
                )
            is_float = any(c in text for c in ".eEin")
            return float(text) if is_float else int(text)
        found = self.match(_WORD)
        if not found:
            raise self.error("a literal", start)
        return self.word_literal(found.group(), start)

    def word_literal(self, word: str, start: int) -> Any:
        if word in ("true", "false"):
            return word == "true"
        if word == "none":
            return None
        if word == "device":
            self.expect("(", "'(' after device")
            spec = self.string("the device (a string)")
            self.expect(")", "')' closing device(...)")
            return _device(spec, self, start)
        if word.startswith("torch.") and word.removeprefix("torch.") in TORCH_NAMES:
            import torch

            # Only whitelisted names reach getattr; the isinstance check guards torch versions
            # in which a listed name means something else.
            value = getattr(torch, word.removeprefix("torch."), None)
            if isinstance(value, (torch.dtype, torch.layout, torch.memory_format)):
                return value
        raise self.error(
            "a literal (number, string, true/false/none, list, torch.<dtype>, device(...))", start
        )

    def list_literal(self, allow_values: bool) -> list[Any]:
        self.expect("[")
        items: list[Any] = []
        if self.accept("]"):
            return items
        items.append(self.literal(allow_values=allow_values))
        while self.accept(","):
            items.append(self.literal(allow_values=allow_values))
        self.expect("]", "',' or ']' in the list")
        return items

    def dict_literal(self) -> dict[str, Any]:
        self.expect("{", "'{'")
        items: dict[str, Any] = {}
        if self.accept("}"):
            return items
        while True:
            self.skip()
            pos = self.pos
            key = self.string() if self.peek('"') else self.match(_KEY)
            if key is None:
                raise self.error("a key (a name or a string)")
            key = key if isinstance(key, str) else key.group()
            if key in items:
                raise self.fail(f"the key {key!r} is given twice", pos)
            self.expect("=", "'=' after the key")
            items[key] = self.literal(allow_values=False)
            if self.accept("}"):
                return items
            self.expect(",", "',' or '}'")


def _device(spec: str, parser: _Parser, pos: int) -> Any:
    import torch

    try:
        return torch.device(spec)
    except (RuntimeError, ValueError) as exc:
        raise parser.fail(f"bad device {spec!r}: {exc}", pos) from exc


def _is_numeric(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_numeric(v) for v in value)
    return isinstance(value, (int, float))


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count
