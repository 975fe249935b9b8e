"""Writing `model.onnx` with each weight streamed once from the model's own memory to the file.

`onnx.save_model` needs every weight inside the ModelProto first (a copy), then serializes it (a
second copy), and `onnx.checker` on the file parses it again (a third). Here the graph is built
without weight bytes (a skeleton) and checked as such, and the bytes go straight from each
tensor's memory to the file:

- external data: each initializer's bytes go to `model.onnx_data` at page-aligned offsets, and
  `model.onnx` is the skeleton with (location, offset, length) references; initializers under
  `EMBED_BELOW` bytes stay in `model.onnx` (ONNX Runtime's shape inference reads a Reshape's
  constant target shape only from embedded data: falcon failed to load);
- embedded: `model.onnx` is the skeleton followed, for each initializer, by the wire encoding of
  `ModelProto{graph{initializer: [tensor]}}`. Protobuf parsers merge a repeated singular message
  field and append repeated ones, so the file parses as one model whose initializers come in order.

After each chunk of a weight is written, its pages go back to the kernel if they are a clean
memory-mapped part of the checkpoint (`irc.memory.page_out`), so the export's resident memory
holds a few megabytes of weights at a time, not the whole model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import onnx
from onnx import TensorProto

from irc.backends.onnx.wire import GRAPH, INITIALIZER, RAW_DATA, key, varint
from irc.memory import mappings_held, page_out, page_out_tensors

DATA_FILE = "model.onnx_data"


def data_file_for(path: Path) -> str:
    """The external data file's name for the model file `path`."""
    return f"{path.stem}.onnx_data"


ALIGN = 4096
"""External data offsets are page multiples, so a runtime can map each tensor directly."""
EMBED_BELOW = 1 << 10
"""With external data, initializers smaller than this stay in the model file."""

_CHUNK = 1 << 24


@dataclass
class Weight:
    """One initializer: its name, ONNX data type, dims, and the tensor that holds its bytes."""

    name: str
    data_type: int
    dims: tuple[int, ...]
    tensor: Any

    def meta_proto(self) -> TensorProto:
        proto = TensorProto()
        proto.name = self.name
        proto.data_type = self.data_type
        proto.dims.extend(self.dims)
        return proto


def tensor_bytes(tensor: Any) -> memoryview:
    """`tensor`'s bytes without copying them (a copy only if it is not contiguous on the CPU)."""
    import torch

    data = tensor.detach()
    if data.device.type != "cpu" or not data.is_contiguous():
        data = data.to("cpu").contiguous()
    flat = data.reshape(-1).view(torch.uint8)
    return memoryview(flat.numpy()).cast("B")


def nbytes(tensor: Any) -> int:
    return int(tensor.numel()) * int(tensor.element_size())


def checkable(skeleton: onnx.ModelProto, weights: list[Weight]) -> onnx.ModelProto:
    """The skeleton with each initializer declared as a typed graph input, for `onnx.checker`:
    it checks structure and types without the weight bytes."""
    model = onnx.ModelProto()
    model.CopyFrom(skeleton)
    for weight in weights:
        model.graph.input.append(
            onnx.helper.make_tensor_value_info(weight.name, weight.data_type, weight.dims)
        )
    return model


def write(skeleton: onnx.ModelProto, weights: list[Weight], path: Path, external: bool) -> None:
    """Write `skeleton` plus `weights` to `path` (and `<stem>.onnx_data` beside it if `external`:
    `model.onnx_data`, `decoder_model.onnx_data`)."""
    data_file = data_file_for(path)
    data_path = path.parent / data_file
    if data_path.exists():
        data_path.unlink()
    if external:
        model = onnx.ModelProto()
        model.CopyFrom(skeleton)
        with data_path.open("wb") as out, mappings_held():
            model.graph.initializer.extend(_write_external(out, weights, data_file))
        path.write_bytes(model.SerializeToString())
        return
    with path.open("wb") as out, mappings_held():
        out.write(skeleton.SerializeToString())
        for weight in weights:
            _write_embedded(out, weight)


def _write_external(out: IO[bytes], weights: Iterable[Weight], data_file: str) -> list[TensorProto]:
    protos = []
    offset = 0
    for weight in weights:
        size = nbytes(weight.tensor)
        if size < EMBED_BELOW:
            proto = weight.meta_proto()
            proto.raw_data = bytes(tensor_bytes(weight.tensor))
            protos.append(proto)
            continue
        padding = -offset % ALIGN
        out.write(b"\0" * padding)
        offset += padding
        _stream(out, weight.tensor)
        proto = weight.meta_proto()
        proto.data_location = TensorProto.EXTERNAL
        for name, value in (("location", data_file), ("offset", str(offset)), ("length", str(size))):
            entry = proto.external_data.add()
            entry.key, entry.value = name, value
        protos.append(proto)
        offset += size
    return protos


def _write_embedded(out: IO[bytes], weight: Weight) -> None:
    size = nbytes(weight.tensor)
    head = weight.meta_proto().SerializeToString() + key(RAW_DATA) + varint(size)
    tensor_len = len(head) + size
    in_graph = key(INITIALIZER) + varint(tensor_len)
    out.write(key(GRAPH) + varint(len(in_graph) + tensor_len) + in_graph + head)
    _stream(out, weight.tensor)


def _stream(out: IO[bytes], tensor: Any) -> None:
    view = tensor_bytes(tensor)
    for start in range(0, len(view), _CHUNK):
        chunk = view[start : start + _CHUNK]
        out.write(chunk)
        page_out(chunk)
    if not tensor.is_contiguous():  # written from a copy (a transposed weight): free the source
        page_out_tensors([_storage_bytes(tensor)])


def _storage_bytes(tensor: Any) -> Any:
    import torch

    return torch.empty(0, dtype=torch.uint8).set_(tensor.untyped_storage())
