"""Fix symbolic dims to sizes, for backends that compile static shapes only (AWS Neuron).

input %x : i64[batch, sequence]                       input %x : i64[1, 128]
%n = aten.sym_size.int(%x, 1) : sym<i64: sequence> -> %n = aten.sym_size.int(%x, 1) : sym<i64: 128>
%v = aten.view(%e, [-1, 32]) : f32[batch * sequence, 32]   %v = aten.view(%e, [-1, 32]) : f32[128, 32]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from irc.errors import PassError
from irc.ir.core import Graph
from irc.ir.dims import Dim, SymDim
from irc.ir.types import ScalarType, TensorType, Type
from irc.passes.base import Pass

METADATA_KEY = "pad_static"
"""`graph.metadata[METADATA_KEY]`: `sizes` (dim -> size fixed) and the symbolic `inputs` and
`outputs` types (name -> type text) the graph had, so a runner knows which axes to pad and slice."""

_NAMED = ("batch", "sequence", "num_choices", "decoder_sequence", "past_sequence")


@dataclass(frozen=True)
class PadStatic(Pass):
    """Replace every symbolic dim by a fixed size; inputs are padded to it at run time.
    batch -> 1, sequence -> 128

    Every type changes: inputs, outputs, params, node results, and the `sym<...>` sizes that
    `aten.sym_size.int` and `sym.*` nodes compute, expressions included (`past_sequence +
    sequence`), so that `fold-constants` can then fold the size arithmetic away. The named
    options apply to the graph's dims of that name; `sizes` gives any other dim
    (`sizes=image_tokens:196`). An option set away from its default, or a `sizes` entry, that
    names a dim the graph lacks is an error listing the graph's dims, and so is a graph dim left
    without a size. The sizes fixed and the symbolic signature are kept in
    `graph.metadata["pad_static"]`. A graph that is static already is left unchanged.
    """

    name = "pad-static"
    ensures = frozenset({"static-shapes"})

    batch: int = 1
    """Size that every `batch` dim becomes."""
    sequence: int = 128
    """Size that every `sequence` dim becomes."""
    num_choices: int = -1
    """Size of `num_choices` (multiple-choice); -1: not given."""
    decoder_sequence: int = -1
    """Size of `decoder_sequence` (encoder-decoder); -1: not given."""
    past_sequence: int = -1
    """Size of `past_sequence` (a key/value cache; 0 is an empty cache); -1: not given."""
    sizes: tuple[str, ...] = ()
    """Sizes of other dims, as `name:size` items separated by `|`."""

    def __post_init__(self) -> None:
        for name in ("batch", "sequence"):
            if getattr(self, name) < 1:
                raise PassError(f"pad-static: {name} must be >= 1, not {getattr(self, name)}")
        for name in ("num_choices", "decoder_sequence", "past_sequence"):
            if getattr(self, name) < -1:
                raise PassError(f"pad-static: {name} must be a size >= 0 (or -1: not given)")
        self.extra_sizes()  # fail at construction on a malformed item

    def extra_sizes(self) -> dict[str, int]:
        """The `sizes` option as a dict; PassError on a malformed or duplicate item."""
        out: dict[str, int] = {}
        for item in self.sizes:
            name, sep, size = item.partition(":")
            name = name.strip()
            if not sep or not name.isidentifier() or not size.strip().isdigit():
                raise PassError(
                    f"pad-static: sizes item {item!r} must read 'dim:size', e.g. image_tokens:196"
                )
            if name in _NAMED:
                raise PassError(f"pad-static: give {name} as its own option ({name}=N), not in sizes")
            if name in out:
                raise PassError(f"pad-static: dim {name} appears twice in sizes")
            out[name] = int(size)
        return out

    def bindings(self, dims: frozenset[str]) -> dict[str, int]:
        """The size of each of `dims` (the graph's dims); PassError for a dim named by the options
        that the graph lacks, or a graph dim left without a size."""
        have = ", ".join(sorted(dims)) or "none: every shape is static"
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        given = {name: getattr(self, name) for name in _NAMED}
        for name, size in given.items():
            if size != defaults[name] and name not in dims:
                raise PassError(f"pad-static: the graph has no dim {name!r} (its dims: {have})")
        for name in self.extra_sizes():
            if name not in dims:
                raise PassError(
                    f"pad-static: the graph has no dim {name!r} named in sizes (its dims: {have})"
                )
        sizes = {**{k: v for k, v in given.items() if v >= 0}, **self.extra_sizes()}
        missing = sorted(dims - sizes.keys())
        if missing:
            hints = ", ".join(f"{d}=N" if d in _NAMED else f"sizes={d}:N" for d in missing)
            raise PassError(
                f"pad-static: no size for the graph's dim(s) {', '.join(missing)}; add {hints} to its options"
            )
        return {name: sizes[name] for name in sorted(dims)}

    def run(self, graph: Graph) -> bool:
        dims: frozenset[str] = frozenset()
        for value in graph.inputs:
            dims |= _symbols(value.type)
        if not dims:
            return self._check_static(graph)
        bindings = self.bindings(dims)
        _check_bound(graph, dims)
        signature = {
            "sizes": bindings,
            "inputs": {v.name: str(v.type) for v in graph.inputs},
            "outputs": {v.name: str(v.type) for v in graph.outputs},
        }
        fixed: dict[Dim, Dim] = {}
        for value in graph.values():
            value.type = _fix(value.type, bindings, fixed)
        graph.metadata[METADATA_KEY] = signature
        return True

    def _check_static(self, graph: Graph) -> bool:
        """A static graph is left alone; one this pass made static must have been made so at
        the sizes asked for now (so that running the pass twice is a no-op, not an error)."""
        done = graph.metadata.get(METADATA_KEY) or {}
        sizes = dict(done.get("sizes") or {})
        if self.bindings(frozenset(sizes)) != sizes:
            raise PassError(
                f"pad-static: the graph is static already, at {_sizes_text(sizes) or 'its traced sizes'}; "
                "trace it again to fix other sizes"
            )
        return False


def _sizes_text(sizes: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def _symbols(type: Type) -> frozenset[str]:
    if isinstance(type, TensorType):
        return type.symbols
    if isinstance(type, ScalarType) and isinstance(type.value, SymDim):
        return type.value.symbols
    return frozenset()


def _check_bound(graph: Graph, dims: frozenset[str]) -> None:
    """A size that no input binds (torch.export's data-dependent `u0`) has no value to fix."""
    for node in graph.nodes:
        for out in node.outputs:
            unbound = _symbols(out.type) - dims
            if unbound:
                raise PassError(
                    f"pad-static: %{out.name} : {out.type} from {node.op} at {node.provenance} has the "
                    f"data-dependent size {', '.join(sorted(unbound))}, which no input fixes; a static "
                    "backend cannot take this graph"
                )


def _fix(type: Type, bindings: dict[str, int], fixed: dict[Dim, Dim]) -> Type:
    if isinstance(type, TensorType):
        if type.is_static:
            return type
        return TensorType(type.dtype, tuple(_fix_dim(d, bindings, fixed) for d in type.shape))
    if isinstance(type.value, SymDim):
        return ScalarType(type.dtype, _fix_dim(type.value, bindings, fixed))
    return type


def _fix_dim(dim: Dim, bindings: dict[str, int], fixed: dict[Dim, Dim]) -> Dim:
    if isinstance(dim, int):
        return dim
    size = fixed.get(dim)
    if size is None:
        size = fixed[dim] = dim.evaluate(bindings)
    return size
