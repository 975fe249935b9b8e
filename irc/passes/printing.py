"""IR dumps between passes, the way MLIR's `--mlir-print-ir-after-all` and LLVM's
`-print-changed` write them:

    // -----// IR Dump After cse //----- //
    graph @main {
      ...
    }

    // -----// IR Dump After dce omitted because no change //----- //
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from irc.ir.core import Graph
from irc.passes.manager import PassRecord


def dump_header(name: str, *, changed: bool = True) -> str:
    if not changed:
        return f"// -----// IR Dump After {name} omitted because no change //----- //"
    return f"// -----// IR Dump After {name} //----- //"


@dataclass
class IRPrinter:
    """A `PassManager(after_pass=...)` hook: prints the IR after every pass, or with
    `only_changed` only after the passes that changed it (one header line for the others)."""

    only_changed: bool = False
    locs: bool = True
    stream: TextIO = field(default_factory=lambda: sys.stderr)

    def __call__(self, record: PassRecord, graph: Graph) -> None:
        from irc.ir.printer import print_graph

        if self.only_changed and not record.changed:
            print(dump_header(record.name, changed=False), file=self.stream)
            return
        print(dump_header(record.name), file=self.stream)
        print(print_graph(graph, locs=self.locs), file=self.stream)
