"""Loading an ONNX file into ONNX Runtime with its weights mapped from the file, not copied.

ONNX Runtime copies the weights a model embeds (`raw_data`) into its own buffers, and on the
way holds the parsed protobuf as well: BERT-base's 438 MB file costs 518 MB of resident memory
once its session is up. Weights it reads from external data are mapped from the file instead
(ONNX Runtime 1.32 on Linux maps them whatever their offset's alignment), resident only once
read and reclaimable after: the same session is 70 MB until it runs. `in_place` turns an
embedded file into that form without copying it: its protobuf is walked header by header, every
field but the initializers' `raw_data` is kept, and each large initializer becomes an external
reference to its own bytes inside the file (location: the file itself, offset: where its
raw_data starts). Any ONNX file works, irc's or not.

Same graph, same bytes: what ONNX Runtime runs is the artifact, reached by another path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from onnx import TensorProto

from irc.backends.onnx.wire import GRAPH, INITIALIZER, LENGTH_DELIMITED, RAW_DATA, key, read_varint, varint

MIN_BYTES = 1 << 16
"""Smaller initializers stay embedded: ONNX Runtime's shape inference reads constant shape
inputs (a Reshape's target) only from embedded data, and mapping saves nothing on them."""


def in_place(path: Path) -> bytes:
    """`path`'s model, its embedded initializers turned into references into `path` itself.

    Load the result with the session option `session.model_external_initializers_file_folder_path`
    set to `path`'s folder. Raises ValueError on a file that is not a protobuf.
    """
    path = Path(path)
    with path.open("rb") as handle:
        return _rewrite(
            handle, 0, path.stat().st_size, GRAPH, lambda start, end: _graph(handle, start, end, path.name)
        )


def _graph(handle: IO[bytes], start: int, end: int, location: str) -> bytes:
    return _rewrite(handle, start, end, INITIALIZER, lambda at, to: _tensor(handle, at, to, location))


def _rewrite(
    handle: IO[bytes], start: int, end: int, number: int, rewrite: Callable[[int, int], bytes]
) -> bytes:
    """The message in [start, end) with each length-delimited field `number` replaced by what
    `rewrite(value start, value end)` makes of it; every other field copied as it is."""
    out = bytearray()
    for field, wire, value_start, value_end, head in _fields(handle, start, end):
        if field == number and wire == LENGTH_DELIMITED:
            value = rewrite(value_start, value_end)
            out += key(number) + varint(len(value)) + value
        else:
            out += _read(handle, head, value_end)
    return bytes(out)


def _tensor(handle: IO[bytes], start: int, end: int, location: str) -> bytes:
    kept = bytearray()
    raw: tuple[int, int] | None = None
    for field, wire, value_start, value_end, head in _fields(handle, start, end):
        if field == RAW_DATA and wire == LENGTH_DELIMITED and value_end - value_start >= MIN_BYTES:
            raw = (value_start, value_end - value_start)
        else:
            kept += _read(handle, head, value_end)
    if raw is None:  # small, in typed fields (int64_data, ...) or already external: as it was
        return bytes(kept)
    tensor = TensorProto()
    tensor.ParseFromString(bytes(kept))
    tensor.data_location = TensorProto.EXTERNAL
    for name, value in (("location", location), ("offset", str(raw[0])), ("length", str(raw[1]))):
        entry = tensor.external_data.add()
        entry.key, entry.value = name, value
    return tensor.SerializeToString()


def _fields(handle: IO[bytes], start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """(field number, wire type, value start, value end, field start) of each field in
    [start, end), reading only the headers."""
    position = start
    while position < end:
        handle.seek(position)
        head = handle.read(20)
        tag, used = read_varint(head, 0)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            _, after = read_varint(head, used)
            value_start, value_end = position + used, position + after
        elif wire == 1:
            value_start, value_end = position + used, position + used + 8
        elif wire == 5:
            value_start, value_end = position + used, position + used + 4
        elif wire == LENGTH_DELIMITED:
            length, after = read_varint(head, used)
            value_start = position + after
            value_end = value_start + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} at byte {position}")
        if value_end > end:
            raise ValueError(f"protobuf field at byte {position} runs past its message")
        yield field, wire, value_start, value_end, position
        position = value_end


def _read(handle: IO[bytes], start: int, end: int) -> bytes:
    handle.seek(start)
    return handle.read(end - start)


def folder_option(path: Path) -> tuple[str, str]:
    """The session config entry that resolves the references `in_place` made."""
    return "session.model_external_initializers_file_folder_path", os.fspath(Path(path).resolve().parent)
