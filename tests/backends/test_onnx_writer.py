"""The streaming ONNX writer: the file parses to exactly the model `onnx.save_model` would write,
weights go in once, and reclaiming a memory-mapped weight's pages never changes its data."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch

from irc.backends.onnx.translate import save, translate
from irc.backends.onnx.writer import ALIGN, DATA_FILE
from tests.backends.util import GraphMaker, check_backend


def _graph(weights: dict[str, torch.Tensor]) -> GraphMaker:
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", 64))
    y = b.op("aten.linear", x, b.param("w", weights["w"]), b.param("b", weights["b"]))
    y = b.op("aten.mul.Tensor", y, b.param("scale", weights["scale"]))
    b.output(b.op("aten.linear", y, b.param("w2", weights["w2"])))
    return b


def _weights() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "w": torch.randn(64, 64, generator=g),
        "b": torch.randn(64, generator=g),
        "scale": torch.tensor(0.5),  # 0-d: a weight with no dims
        "w2": torch.randn(64, 64, generator=g).to(torch.bfloat16).to(torch.float32),
    }


def _reference(model: onnx.ModelProto, weights: list) -> onnx.ModelProto:
    """What the model is when built the ordinary way: every initializer inside the proto."""
    from onnx import numpy_helper

    full = onnx.ModelProto()
    full.CopyFrom(model)
    for weight in weights:
        array = weight.tensor.detach().numpy().reshape(weight.dims)
        full.graph.initializer.append(numpy_helper.from_array(array, weight.name))
    return full


@pytest.mark.parametrize("external", [False, True])
def test_streamed_file_is_the_model_save_model_would_write(tmp_path: Path, external: bool) -> None:
    b = _graph(_weights())
    model, weights = translate(b.graph, 18)
    path = save(model, weights, tmp_path, external)
    loaded = onnx.load(str(path))
    expected = _reference(model, weights)
    got = [onnx.numpy_helper.to_array(t) for t in loaded.graph.initializer]
    want = [onnx.numpy_helper.to_array(t) for t in expected.graph.initializer]
    # weights only linear reads are stored transposed
    assert [t.name for t in loaded.graph.initializer] == ["w.T", "b", "scale", "w2.T"]
    assert all(g.tobytes() == w.tobytes() and g.shape == w.shape for g, w in zip(got, want, strict=True))
    loaded.graph.ClearField("initializer")
    expected.graph.ClearField("initializer")
    assert loaded.SerializeToString() == expected.SerializeToString()
    assert (tmp_path / DATA_FILE).exists() == external
    check_backend(b, ({"batch": 3},), external_data=external)


def test_external_offsets_are_page_aligned(tmp_path: Path) -> None:
    model, weights = translate(_graph(_weights()).graph, 18)
    path = save(model, weights, tmp_path, external=True)
    initializers = onnx.load(str(path), load_external_data=False).graph.initializer
    offsets = [int(entry.value) for t in initializers for entry in t.external_data if entry.key == "offset"]
    assert len(offsets) == 2 and all(o % ALIGN == 0 for o in offsets)
    # The bias (256 bytes) and the scalar stay in model.onnx, where shape inference can read them.
    assert [t.name for t in initializers if t.raw_data] == ["b", "scale"]


def test_mapped_view_points_each_large_weight_at_its_bytes_in_the_file(tmp_path: Path) -> None:
    from irc.backends.onnx.mapped import MIN_BYTES, in_place

    weights = {**_weights(), "w": torch.randn(256, 64), "w2": torch.randn(64, 256)}
    b = GraphMaker()
    x = b.input("x", "f32", ("batch", 64))
    y = b.op("aten.matmul", x, b.param("w", weights["w"].T.contiguous()))
    b.output(b.op("aten.mul.Tensor", y, b.param("scale", weights["scale"])))
    model, items = translate(b.graph, 18)
    path = save(model, items, tmp_path, external=False)
    view = onnx.ModelProto()
    view.ParseFromString(in_place(path))
    data = path.read_bytes()
    full = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    mapped = 0
    for tensor in view.graph.initializer:
        if full[tensor.name].nbytes < MIN_BYTES:
            assert tensor.raw_data and tensor.data_location == onnx.TensorProto.DEFAULT
            continue
        where = {e.key: e.value for e in tensor.external_data}
        assert tensor.data_location == onnx.TensorProto.EXTERNAL and where["location"] == path.name
        start, length = int(where["offset"]), int(where["length"])
        assert data[start : start + length] == full[tensor.name].tobytes()
        mapped += 1
    assert mapped == 1
    view.graph.ClearField("initializer")
    original = onnx.load(str(path))
    original.graph.ClearField("initializer")
    assert view.SerializeToString() == original.SerializeToString()


def test_memory_mapped_weight_keeps_its_data_after_its_pages_are_reclaimed(tmp_path: Path) -> None:
    """A privately mapped weight whose page was changed in memory (copy-on-write) must be written
    as it is in memory and stay so: reclaiming pages must never fall back to the file's bytes."""
    rows = 4 * ALIGN // (64 * 4)  # several pages per tensor
    on_disk = torch.randn(rows * 64 * 2)
    file = tmp_path / "weights.bin"
    on_disk.numpy().tofile(file)
    mapped = torch.from_file(str(file), shared=False, size=on_disk.numel())
    mapped[5] = 1234.5  # dirties one page of this process's private mapping
    weights = {
        "w": mapped[: rows * 64].view(rows, 64)[:64],
        "b": torch.randn(64),
        "scale": torch.tensor(2.0),
        "w2": mapped[rows * 64 :].view(rows, 64)[:64],
    }
    model, items = translate(_graph(weights).graph, 18)
    out = tmp_path / "out"
    out.mkdir()
    path = save(model, items, out, external=False)
    # "w" is stored transposed, so it was written from a copy and then its source's pages were
    # reclaimed.
    written = onnx.numpy_helper.to_array(onnx.load(str(path)).graph.initializer[0]).T.copy()
    assert written.reshape(-1)[5] == 1234.5
    assert mapped[5].item() == 1234.5
    assert torch.equal(mapped[: 64 * 64], torch.from_numpy(written.reshape(-1)))
