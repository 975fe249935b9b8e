"""The few pieces of protobuf's wire format the ONNX writer and the mapped loader need.

Both handle ModelProto bytes around the weights (writing them after a skeleton, or walking past
them) without ever holding the weights in a protobuf message.
"""

from __future__ import annotations

from onnx import GraphProto, ModelProto, TensorProto

LENGTH_DELIMITED = 2
"""The wire type of messages, strings and bytes fields."""

GRAPH = ModelProto.DESCRIPTOR.fields_by_name["graph"].number
INITIALIZER = GraphProto.DESCRIPTOR.fields_by_name["initializer"].number
RAW_DATA = TensorProto.DESCRIPTOR.fields_by_name["raw_data"].number


def key(field: int) -> bytes:
    """The tag of a length-delimited field."""
    return varint(field << 3 | LENGTH_DELIMITED)


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def read_varint(buffer: bytes, position: int) -> tuple[int, int]:
    """The varint at `position` in `buffer` and the position after it."""
    result = shift = 0
    while True:
        if position >= len(buffer) or shift > 63:
            raise ValueError("malformed protobuf varint")
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
