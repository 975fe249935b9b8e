"""An artifact folder read back for debugging: its backend, its manifest, and the model it came
from re-traced and run through the artifact's pipeline (what `irc validate --bisect` compares)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from irc.errors import IrcError
from irc.progress import Progress

if TYPE_CHECKING:
    from irc.frontend.traced import Traced

MANIFEST = "irc.json"
"""The manifest `irc export` writes into every artifact folder."""


def reload_artifact(
    artifact: str | Path,
    model: str | Path | None,
    component: str | None,
    progress: Progress,
    trust_remote_code: bool = False,
) -> tuple[Any, Traced, dict[str, Any]]:
    """The backend, the re-traced model (after the artifact's pipeline) and the manifest of an
    artifact folder; `model` replaces the manifest's source when that is not a folder here, and
    `component` picks one model of a multi-model artifact."""
    import json

    from irc.backends import get_backend
    from irc.frontend.traced import DEFAULT_BATCH, DEFAULT_SEQUENCE, trace_model
    from irc.passes import PassManager, parse_pipeline

    path = Path(artifact) / MANIFEST
    if not path.is_file():
        raise IrcError(f"{artifact} has no {MANIFEST}: give an artifact folder that `irc export` wrote.")
    manifest = json.loads(path.read_text())
    source = model if model is not None else manifest.get("source")
    if source is None or not Path(source).is_dir():
        raise IrcError(
            f"the model this artifact came from ({manifest.get('source')!r} in {MANIFEST}) is not a folder "
            "here; pass the checkpoint folder with --model."
        )
    components = list(manifest.get("components", {}))
    if components and component is None:
        raise IrcError(
            f"{artifact} holds several models ({', '.join(components)}); name one with --component."
        )
    sizes = manifest.get("traced_sizes", {})
    traced = trace_model(
        source,
        manifest["task"],
        component=component,
        batch_size=sizes.get("batch", DEFAULT_BATCH),
        sequence_length=sizes.get("sequence", DEFAULT_SEQUENCE),
        trust_remote_code=trust_remote_code,
        progress=progress,
    )
    pipeline = manifest.get("pipeline", "")
    with progress.stage("passes", pipeline or "(none)"):
        PassManager(parse_pipeline(pipeline)).run(traced.graph)
    return get_backend(manifest["backend"]), traced, manifest
