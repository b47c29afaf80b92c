"""The demo: one realistic morning of four orchestration systems written into a
fresh SQLite ledger through the public `ledger` API, so that the CLI's `demo`
command, the HTTP service or a notebook can build the same ledger. It is not part
of the ledger: nothing in `ledger/` imports it."""

from ._build import DemoResult, build_demo

__all__ = ["DemoResult", "build_demo"]
