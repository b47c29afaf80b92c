"""docs/cli.md is generated from the commands' own --help (`python -m
cli.docgen`); this fails as soon as a command, option or help text changes
without the page being regenerated."""

from __future__ import annotations

import pytest

from cli.docgen import PAGE, command_paths, reference


@pytest.mark.slow
def test_cli_reference_matches_the_current_help() -> None:
    assert PAGE.read_text(encoding="utf-8") == reference(), (
        "docs/cli.md is out of date: run `python -m cli.docgen`"
    )


def test_cli_reference_documents_every_command() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for path in command_paths():
        assert f"## `{' '.join(['status-ledger', *path])}`" in page
