"""The export flow: the plan, the files written beside the artifact, the manifest."""
