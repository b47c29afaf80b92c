"""Each built-in model's page shows the diagram its data draws."""

from __future__ import annotations

from cli import modeldocs
from ledger import ModelRegistry


def test_every_builtin_model_has_a_page_with_a_diagram() -> None:
    for name in ModelRegistry.builtin():
        page = (modeldocs.PAGES / f"{name}.md").read_text(encoding="utf-8")
        assert "```mermaid\nstateDiagram-v2" in page


def test_model_pages_are_in_sync_with_the_model_data() -> None:
    assert modeldocs.stale() == []
