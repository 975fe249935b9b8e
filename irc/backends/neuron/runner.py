"""The padding runner: static artifacts served at any length up to the largest bucket.

    >>> with PaddingRunner(Path("out")) as runner:        # out/neuron.json lists the buckets
    ...     runner.run({"input_ids": ids, "attention_mask": mask})["logits"]

Each call picks the smallest bucket that fits the inputs' sizes, pads every input up to it (the
pad value `neuron.json` gives per input: the pad token for ids, 0 for masks and the rest), runs
that bucket's static TorchScript, and slices each output back to the caller's sizes along the
axes that were symbolic (`sequence`, `batch`). Padding goes at the end of an axis, where an
attention mask of zeros hides it from the real tokens. Inputs longer than the largest bucket
are refused with the list of buckets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irc.backends.base import Runner
from irc.backends.torchscript.runner import TorchScriptRunner
from irc.errors import BackendError

if TYPE_CHECKING:
    import torch

MANIFEST = "neuron.json"

Axes = list[Any]
"""One entry per axis: a dim name (`"sequence"`) or a fixed size."""


@dataclass
class Bucket:
    name: str
    sizes: dict[str, int]
    runner: TorchScriptRunner

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.sizes.items())


class PaddingRunner(Runner):
    """Runs the bucket artifacts listed in `folder/neuron.json` on the CPU (their static
    TorchScript; the compiled Neuron files need the device)."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.buckets: list[Bucket] = []
        self.inputs: dict[str, Axes] = {}
        self.pads: dict[str, float] = {}
        self.outputs: dict[str, Axes | None] = {}

    def activate(self) -> None:
        path = self.folder / MANIFEST
        if not path.is_file():
            raise BackendError(f"{path} does not exist; run the neuron backend's lower() first.")
        manifest = json.loads(path.read_text())
        self.inputs = {name: spec["axes"] for name, spec in manifest["inputs"].items()}
        self.pads = {name: spec["pad"] for name, spec in manifest["inputs"].items()}
        self.outputs = dict(manifest["outputs"])
        for name, axes in self.inputs.items():
            odd = [a for a in axes if isinstance(a, str) and not a.isidentifier()]
            if odd:
                raise BackendError(
                    f"input {name} has the axis {odd[0]!r}; the padding runner pads plain named dims only "
                    "(export this task without a cache)"
                )
        buckets = sorted(manifest["buckets"], key=lambda b: _volume(b["sizes"]))
        self.buckets = [
            Bucket(b["name"], b["sizes"], TorchScriptRunner(self.folder / b["model"])) for b in buckets
        ]
        for bucket in self.buckets:
            bucket.runner.__enter__()

    def deactivate(self) -> None:
        for bucket in self.buckets:
            bucket.runner.__exit__(None, None, None)
        self.buckets = []

    def bucket_for(self, inputs: dict[str, torch.Tensor]) -> Bucket:
        """The smallest bucket that every input fits in; BackendError naming the buckets if none."""
        sizes = self.sizes_of(inputs)
        for bucket in self.buckets:
            if all(size <= bucket.sizes.get(dim, size) for dim, size in sizes.items()):
                return bucket
        got = ", ".join(f"{k}={v}" for k, v in sizes.items())
        have = "; ".join(b.describe() for b in self.buckets)
        raise BackendError(
            f"inputs at {got} fit no bucket of {self.folder} (its buckets: {have}). Export again with a "
            "bucket at least that large (irc export --backend neuron --buckets ...), or truncate the inputs."
        )

    def sizes_of(self, inputs: dict[str, torch.Tensor]) -> dict[str, int]:
        """The size of each named dim in `inputs`; BackendError when two inputs disagree."""
        sizes: dict[str, int] = {}
        for name, axes in self.inputs.items():
            if name not in inputs:
                raise BackendError(f"no value given for input {name} of {self.folder}.")
            tensor = inputs[name]
            if tensor.dim() != len(axes):
                raise BackendError(f"input {name} has {tensor.dim()} axes; the artifact takes {axes}.")
            for axis, dim in enumerate(axes):
                size = int(tensor.shape[axis])
                if isinstance(dim, int):
                    if size != dim:
                        raise BackendError(f"input {name} has size {size} on axis {axis}; it must be {dim}.")
                    continue
                if sizes.setdefault(dim, size) != size:
                    raise BackendError(
                        f"input {name} has {dim}={size}, another input has {dim}={sizes[dim]}."
                    )
        return sizes

    def infer(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        bucket = self.bucket_for(inputs)
        sizes = self.sizes_of(inputs)
        padded = {
            name: _pad(inputs[name], axes, bucket.sizes, self.pads.get(name, 0))
            for name, axes in self.inputs.items()
        }
        try:
            results = bucket.runner.run(padded)
        except BackendError:
            raise
        except Exception as exc:  # a torch error inside the static module: name the bucket
            raise BackendError(
                f"the static artifact of bucket {bucket.describe()} failed on inputs padded from "
                f"{sizes}: {' '.join(str(exc).split())[:500]}"
            ) from exc
        return {
            name: _slice(results[name], axes, sizes) if axes is not None else results[name]
            for name, axes in self.outputs.items()
        }


def _volume(sizes: dict[str, int]) -> int:
    volume = 1
    for size in sizes.values():
        volume *= max(size, 1)
    return volume


def _pad(tensor: torch.Tensor, axes: Axes, target: dict[str, int], value: float) -> torch.Tensor:
    import torch

    shape = [
        target.get(dim, size) if isinstance(dim, str) else size
        for dim, size in zip(axes, tensor.shape, strict=True)
    ]
    if list(tensor.shape) == shape:
        return tensor
    out = torch.full(shape, value, dtype=tensor.dtype)
    out[tuple(slice(0, n) for n in tensor.shape)] = tensor
    return out


def _slice(tensor: torch.Tensor, axes: Axes, sizes: dict[str, int]) -> torch.Tensor:
    index = tuple(
        slice(0, sizes[dim]) if isinstance(dim, str) and dim in sizes else slice(None) for dim in axes
    )
    return tensor[index]
