"""Tie detection: params that share storage (GPT-2's embedding and LM head) form a tie group."""

from __future__ import annotations

from typing import Any

from irc.ir.core import Graph


def find_tie_groups(tensors: dict[str, Any]) -> dict[str, str]:
    """Name -> group label (the group's first name) for tensors that share storage and layout."""
    by_storage: dict[tuple[Any, ...], list[str]] = {}
    for name, tensor in tensors.items():
        if tensor.device.type == "meta":
            continue
        key = (
            tensor.untyped_storage().data_ptr(),
            tensor.storage_offset(),
            tuple(tensor.shape),
            tuple(tensor.stride()),
            tensor.dtype,
        )
        by_storage.setdefault(key, []).append(name)
    return {name: names[0] for names in by_storage.values() if len(names) > 1 for name in names}


def repoint_tied_uses(graph: Graph) -> None:
    """Make each use of a tied param read the member that belongs to the using module.

    torch.export keeps one placeholder per storage, so GPT-2's input embedding reads
    `lm_head.weight`. Pointing it back at `transformer.wte.weight` keeps the IR faithful to the
    model, which `untie-weights` and provenance in error messages rely on.
    """
    for members in graph.tie_groups().values():
        by_module = {p.name.rsplit(".", 1)[0]: p for p in members}
        for param in members:
            for node in param.uses():
                owner = by_module.get(node.meta.get("module", ""))
                if owner is not None and owner is not param:
                    node.replace_input(param, owner)
