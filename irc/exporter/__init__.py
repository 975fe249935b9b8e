"""The export layer: the plan of named graphs an export produces and the one flow that runs it
for every backend, with the artifact folder's staging and manifest.

- `irc.exporter.plan`: `make_plan(parts, backend, options, pipeline, tolerance) -> ExportPlan`;
  an `ExportPlan` holds `graphs` (`PlannedGraph`: file stem `name`, `graph`, `pipeline`,
  `atol`, bucket `sizes`) and `checks` (`Check`: the model the validator loads by `name`, its
  reference `part` and validation `sizes`).
- `irc.exporter.flow`: `run_export(ExportRequest) -> ExportResult`, the flow settings -> trace
  -> plan -> passes -> backend check -> lower -> validate -> compile -> manifest -> publish;
  `run_pipeline`.
- `irc.exporter.settings`: the backend and its typed options from `onnx{opset=18}` and flags,
  the pipeline checked against the backend's `requires`, dtype and tolerance.
- `irc.exporter.validation`: the validate step; `irc.exporter.artifact`: staging, publishing,
  the manifest.

It is `irc.exporter`, not DESIGN.md's `irc.export`: importing a subpackage sets it as an
attribute of its parent, where it would replace the function `irc.export`.
"""
