"""Every command and code example in README.md and docs/ runs here, so the docs
never go stale; a new page is picked up without touching this file. How blocks
are run, and how to mark one not to run, is in `tests/_docs.py`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _docs import Block, PageRunner, commands, matches, parse

from demo import build_demo

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "status-ledger-demo.db"
    build_demo(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_examples_run_as_documented(page: Path, demo_db: Path, tmp_path: Path) -> None:
    shutil.copy(demo_db, tmp_path / demo_db.name)
    runner = PageRunner(tmp_path)
    for block in parse(page):
        runner.run(block)


def test_readme_shows_install_demo_and_tests() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for needle in ('pip install -e ".[dev]"', "status-ledger demo", "pytest", "docs/index.md"):
        assert needle in text


def test_docs_index_links_every_page() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    for page in PAGES:
        if page.parent != ROOT and page.name != "index.md":
            assert str(page.relative_to(ROOT / "docs")) in index, page


PAGE = """\
Intro.

<!-- docs-test: skip -->
```console
$ pip install status-ledger
```

<!-- docs-test: file events.jsonl -->

```jsonl
{"a": 1}
```

```console
$ status-ledger verify --db x.db
chain intact: ... events, head ...
$ echo one; echo two
one
...
```

```python
print("hi")
```

```text
hi
```

```json
{"not": "run"}
```
"""


def test_harness_reads_directives_commands_and_expected_output() -> None:
    blocks = parse(Path("page.md"), PAGE)
    assert [(b.lang, b.skip, b.file) for b in blocks] == [
        ("console", True, None),
        ("jsonl", False, "events.jsonl"),
        ("console", False, None),
        ("python", False, None),
        ("json", False, None),
    ]
    assert blocks[3].expected == "hi\n"
    found = commands(blocks[2])
    assert [c.text for c in found] == ["status-ledger verify --db x.db", "echo one; echo two"]
    assert found[1].expected == ["one", "..."]


def test_harness_ellipsis_matches_lines_and_text() -> None:
    assert matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert matches(["chain intact: ... events"], ["chain intact: 7 events"])
    assert not matches(["a", "z"], ["a", "b", "z"])
    assert not matches(["a"], ["a", "extra"])


def test_harness_fails_a_stale_example(tmp_path: Path) -> None:
    runner = PageRunner(tmp_path)
    stale = Block(Path("page.md"), 1, "console", "$ echo new\nold\n")
    with pytest.raises(AssertionError, match="expected"):
        runner.run(stale)
    failing = Block(Path("page.md"), 1, "console", "$ status-ledger status nope x y\n")
    with pytest.raises(AssertionError, match="exited 1"):
        runner.run(failing)
