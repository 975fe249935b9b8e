"""Elementwise math and bucket search that TorchScript runs as the ATen packet calls they are:
`expm1`, `log1p` (Apertus' xIELU activation, Llama 4's attention temperature), `logsumexp`
(attention-sink scaling), `bucketize`
(Idefics3 / SmolVLM's vision position ids) and `concat`, `cat` under its NumPy name (PhiMoE's
router), `scatter_reduce` (TAPAS' segment means)."""

from __future__ import annotations

from irc.backends.torchscript.registry import call, emitter

emitter(
    "aten.expm1",
    "aten.log1p",
    "aten.logsumexp",
    "aten.bucketize.Tensor",
    "aten.concat",
    "aten.concatenate",
    "aten.scatter_reduce.two",
)(call)

# Tensor.unfold's sliding windows (Inkling's text model).
emitter("aten.unfold")(call)

# torch.linalg.norm (OWL-ViT's embedding normalization).
emitter("aten.linalg_norm")(call)
