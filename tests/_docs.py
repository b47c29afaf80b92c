"""Runs the examples of a Markdown page, so that documentation cannot go stale.

A page is read top to bottom, in one scratch directory that holds a fresh demo
ledger (`status-ledger-demo.db`), and every fenced block is handled by its
language:

- ```console: lines starting with `$ ` are commands (a line ending in `\\`
  continues on the next); the lines after a command, up to the next `$ `, are
  its expected output (stdout and stderr as a terminal shows them). A command
  must exit 0 unless its output is shown. In expected output a line `...`
  matches any number of lines and `...` inside a line matches any text.
- ```bash, ```sh, ```shell: the block is run as one script and must exit 0.
- ```python: executed; blocks of one page share their globals. A ```text or
  ```output block right after it (nothing but blank lines between) is the
  expected standard output.
- Any other language (json, toml, text, mermaid ...) is data and not run.

HTML comments right before a block (blank lines allowed) steer it:
`<!-- docs-test: skip -->` does not run it (installs, servers, the test suite
itself), and `<!-- docs-test: file NAME -->` writes the block's text to NAME
in the scratch directory first, so a page can show an input file and then
import it.

Commands that are plain `status-ledger ...` run in-process (Typer's runner,
the same code as the console script, far faster); anything with shell syntax
runs under bash with the installed console script on PATH."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

RUN_LANGS = {"console", "bash", "sh", "shell", "python"}
OUTPUT_LANGS = {"text", "output"}
SHELL_SYNTAX = re.compile(r"[|&;<>()$`*?~{}\[\]!#\\\n]|^\w+=")
_DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(skip|file\s+(\S+))\s*-->\s*$")
# What a reader's terminal is assumed to be when output is shown: no colour, and
# 100 columns for help screens (tables in piped output are never cut anyway).
QUIET_ENV = {"NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")


@dataclass
class Block:
    """One fenced block of a page."""

    path: Path
    line: int
    lang: str
    text: str
    skip: bool = False
    file: str | None = None
    expected: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Command:
    line: int
    text: str
    expected: list[str] = field(default_factory=list)


def parse(path: Path, text: str | None = None) -> list[Block]:
    """The page's fenced blocks, each with its directives and, for python, the
    expected output block that follows it."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks: list[Block] = []
    pending: dict[str, Any] = {}
    last_closed: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE.match(line.strip())
        fence = _FENCE.match(line)
        if directive:
            if directive.group(2):
                pending["file"] = directive.group(2)
            else:
                pending["skip"] = True
        elif fence:
            marker, lang = fence.group(1), fence.group(2).lower()
            end = i + 1
            while end < len(lines) and not lines[end].startswith(marker):
                end += 1
            body = "\n".join(lines[i + 1 : end]) + "\n"
            previous = blocks[-1] if blocks else None
            if (
                lang in OUTPUT_LANGS
                and previous is not None
                and previous.lang == "python"
                and last_closed is not None
                and _only_blank(lines, last_closed + 1, i)
                and not pending
            ):
                previous.expected = body
            else:
                blocks.append(Block(path, i + 1, lang, body, **pending))
            pending = {}
            last_closed = end
            i = end
        elif line.strip() and pending and not line.lstrip().startswith("<!--"):
            pending = {}
        i += 1
    return blocks


def _only_blank(lines: list[str], start: int, stop: int) -> bool:
    return all(not lines[k].strip() for k in range(start, stop))


def commands(block: Block) -> list[Command]:
    found: list[Command] = []
    current: Command | None = None
    continuing = False
    for offset, line in enumerate(block.text.splitlines()):
        if continuing and current is not None:
            current.text += "\n" + line
            continuing = line.endswith("\\")
        elif line.startswith("$ "):
            current = Command(block.line + 1 + offset, line[2:])
            found.append(current)
            continuing = line.endswith("\\")
        elif current is not None:
            current.expected.append(line)
    for command in found:
        while command.expected and not command.expected[-1].strip():
            command.expected.pop()
    return found


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line-by-line equality, with `...` as a wildcard (a whole line: any lines)."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(matches(rest, actual[k:]) for k in range(len(actual) + 1))
    if not actual:
        return False
    pattern = ".*".join(re.escape(part) for part in head.rstrip().split("..."))
    return re.fullmatch(pattern, actual[0].rstrip()) is not None and matches(rest, actual[1:])


def _clean(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


class PageRunner:
    """Runs the blocks of one page in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.namespace: dict[str, Any] = {"__name__": "__docs__"}
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("STATUS_LEDGER_DB", "FORCE_COLOR", "PY_COLORS")
        }
        self.env.update(QUIET_ENV)
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"

    def run(self, block: Block) -> None:
        if block.file is not None:
            (self.workdir / block.file).write_text(block.text, encoding="utf-8")
        if block.skip or block.lang not in RUN_LANGS or block.file is not None:
            return
        if block.lang == "python":
            self._python(block)
        elif block.lang == "console":
            for command in commands(block):
                self._command(block, command)
        else:
            self._script(block)

    def _python(self, block: Block) -> None:
        out = io.StringIO()
        code = compile("\n" * (block.line) + block.text, str(block.path), "exec")
        with contextlib.chdir(self.workdir), contextlib.redirect_stdout(out):
            try:
                exec(code, self.namespace)
            except Exception:
                raise AssertionError(
                    f"{block.where}: python block raised\n{traceback.format_exc()}"
                ) from None
        if block.expected is not None:
            self._compare(block, "python block", _clean(block.expected), out.getvalue())

    def _command(self, block: Block, command: Command) -> None:
        argv = shlex.split(command.text) if not SHELL_SYNTAX.search(command.text) else []
        if argv and argv[0] == "status-ledger":
            code, output = self._in_process(argv[1:])
        else:
            code, output = self._shell(command.text)
        if command.expected:
            self._compare(block, f"$ {command.text}", command.expected, output, command.line)
        elif code != 0:
            raise AssertionError(
                f"{block.path}:{command.line}: $ {command.text}\nexited {code}:\n{output}"
            )

    def _in_process(self, args: list[str]) -> tuple[int, str]:
        from cli import app

        env: dict[str, str | None] = {
            "STATUS_LEDGER_DB": None,
            "FORCE_COLOR": None,
            "PY_COLORS": None,
            **QUIET_ENV,
        }
        with contextlib.chdir(self.workdir):
            result = CliRunner().invoke(app, args, env=env, prog_name="status-ledger")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError("".join(traceback.format_exception(result.exception)))
        return result.exit_code, result.output

    def _shell(self, script: str) -> tuple[int, str]:
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        return done.returncode, done.stdout

    def _script(self, block: Block) -> None:
        code, output = self._shell("set -e\n" + block.text)
        if code != 0:
            raise AssertionError(f"{block.where}: {block.lang} block exited {code}:\n{output}")

    def _compare(
        self, block: Block, what: str, expected: list[str], output: str, line: int | None = None
    ) -> None:
        actual = _clean(output)
        if not matches(expected, actual):
            raise AssertionError(
                f"{block.path}:{line or block.line}: {what}\n--- expected\n"
                + "\n".join(expected)
                + "\n--- actual\n"
                + "\n".join(actual)
            )
