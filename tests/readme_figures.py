"""The README's figures, re-run: every number the README quotes from a query or a command is produced
again from the bundled example it names, so a change of output cannot leave the README behind.

The convention (README, "What an analyst will find" and wherever else it quotes figures):

- A line `<!-- figures: EXAMPLE -->` (EXAMPLE an `examples/EXAMPLE.json` stem) comes just before a
  fenced block, which is one of:
  - ```sql — DuckDB statements over `data/EXAMPLE/<table>.parquet` (the example generated with the
    default seed and scale into `data/EXAMPLE/`). The next fenced block, a plain ```, holds the rows
    of the last statement in DuckDB's box style: lines of `│`-separated cells, the header first.
    Anything after a line's last `│` is a free annotation (a declared value, a remark): not compared.
  - ```console — `$ datagen …` commands, each followed by the lines it prints, run from a folder
    holding `examples/` and the generated `data/EXAMPLE/`. Timings are not compared: in a table, the
    cells under `seconds` and `rows/s`; elsewhere a number followed by ` s` or ` rows/s`. Table
    borders (lines of box-drawing characters only) follow the cells' widths and are not compared.
- Each example's blocks run in README order on one DuckDB connection (session time zone UTC), so a
  block may use what an earlier one of the same example created (a temporary table, a variable).
- Cells are rendered as here: NULL empty, a DOUBLE as Python's shortest repr, a DECIMAL with its scale,
  numbers right-aligned and text left-aligned, each column as wide as its widest cell.

`python -m tests.readme_figures --write` rewrites every figure block of the README from a real run
(keeping the annotations, line by line), for when the output changes on purpose; without `--write` it
prints what differs. The test (tests/test_readme_figures.py) runs one example per test."""

from __future__ import annotations

import argparse
import contextlib
import decimal
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- figures: (?P<example>[A-Za-z0-9_]+) -->\s*$")
FENCE = re.compile(r"^```(?P<lang>\w*)\s*$")
BOX_ONLY = re.compile(r"^[\s┏┓┗┛┡┩┢┪┣┫┳┻╇╈╋━─│┃┌┐└┘├┤┬┴┼╭╮╰╯═║]*$")
TIMING_HEADERS = {"seconds", "rows/s"}
TIMING = re.compile(r"\d[\d,]*(?:\.\d+)?(?= (?:s|rows/s)\b)")
WIDTH = "100"  # the terminal width the commands render at


@dataclass
class Block:
    """One figures block: where its code and its printed result sit in the README (line indexes,
    content only, fences excluded)."""

    example: str
    lang: str  # "sql" or "console"
    code: tuple[int, int]
    result: tuple[int, int] | None  # sql: the plain block after it
    marker_line: int

    def code_text(self, lines: list[str]) -> str:
        return "\n".join(lines[self.code[0] : self.code[1]])


def _fenced(lines: list[str], start: int) -> tuple[str, tuple[int, int]]:
    """The fenced block opening at `start`: its language and the range of its content lines."""
    m = FENCE.match(lines[start])
    if m is None:
        raise ValueError(f"README line {start + 1}: expected a ``` fence")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("```")), None)
    if end is None:
        raise ValueError(f"README line {start + 1}: the block is never closed")
    return m.group("lang"), (start + 1, end)


def parse(text: str) -> list[Block]:
    lines = text.split("\n")
    blocks = []
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if m is None:
            continue
        lang, code = _fenced(lines, i + 1)
        if lang not in ("sql", "console"):
            raise ValueError(f"README line {i + 1}: a figures marker precedes a ```sql or ```console block")
        result = None
        if lang == "sql":
            after, result = _fenced(lines, code[1] + 1)
            if after:
                raise ValueError(f"README line {code[1] + 2}: the rows of a query go in a plain ``` block")
        blocks.append(Block(m.group("example"), lang, code, result, i))
    return blocks


# --- rendering ----------------------------------------------------------------------------------------


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def render(header: list[str], rows: list[tuple[Any, ...]]) -> list[str]:
    """Rows as `│ a │ b │` lines, the header first: numbers right-aligned, the rest left-aligned."""
    texts = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[j]) for r in texts]) for j, h in enumerate(header)]
    right = [any(_numeric(row[j]) for row in rows) for j in range(len(header))]

    def line(cells: list[str], align: list[bool]) -> str:
        return (
            "│ "
            + " │ ".join(
                c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, align, strict=True)
            )
            + " │"
        )

    return [line(header, right), *(line(t, right) for t in texts)]


def cells(line: str) -> tuple[list[str], str]:
    """A `│` line's cells (stripped) and its annotation (what follows the last `│`)."""
    parts = line.split("│")
    return [p.strip() for p in parts[1:-1]], parts[-1]


# --- running ------------------------------------------------------------------------------------------


class Workspace:
    """A folder with `examples/` and the examples generated into `data/EXAMPLE/` on first use."""

    def __init__(self, root: Path) -> None:
        from datagen.resources import examples_dir

        self.root = root
        (root / "data").mkdir(parents=True, exist_ok=True)
        if not (root / "examples").exists():
            (root / "examples").symlink_to(examples_dir(), target_is_directory=True)
        self.generated: set[str] = set()

    def data(self, example: str) -> Path:
        from datagen.dsl import check_file
        from datagen.engine.generate import Options
        from datagen.io.dataset import write_dataset

        out = self.root / "data" / example
        if example not in self.generated:
            write_dataset(check_file(self.root / "examples" / f"{example}.json"), out, Options())
            self.generated.add(example)
        return out

    def paths(self, text: str) -> str:
        """`data/NAME/` in a query → the workspace's folder, generating NAME on first use."""

        def swap(m: re.Match[str]) -> str:
            if (self.root / "examples" / f"{m.group(1)}.json").exists():
                return f"{self.data(m.group(1))}/"
            return f"{self.root}/data/{m.group(1)}/"

        return re.sub(r"(?<![\w/])data/([A-Za-z0-9_]+)/", swap, text)


def run_sql(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    cursor = con.execute(sql)
    header = [d[0] for d in cursor.description or []]
    return render(header, cursor.fetchall())


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        with contextlib.chdir(folder):
            yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def run_console(ws: Workspace, text: str) -> list[str]:
    """Each `$ datagen …` line of the block, run from the workspace, followed by what it printed."""
    from datagen import cli

    out: list[str] = []
    for line in text.split("\n"):
        if not line.startswith("$ "):
            continue
        words = shlex.split(line[2:])
        if words[0] != "datagen":
            raise ValueError(f"only datagen commands run in a figures block: {line}")
        for word in words:  # a data folder of an example the command reads: generate it first
            m = re.match(r"data/([A-Za-z0-9_]+)$", word)
            if m and (ws.root / "examples" / f"{m.group(1)}.json").exists() and "-o" not in words:
                ws.data(m.group(1))
        with _inside(ws.root):
            result = CliRunner().invoke(cli.app, words[1:])
        out += [line, *(printed.rstrip() for printed in result.output.rstrip("\n").split("\n"))]
    return out


# --- comparing ----------------------------------------------------------------------------------------


def compare_rows(expected: list[str], actual: list[str]) -> list[str]:
    """Differences between printed rows and rows run now, cell by cell (annotations ignored)."""
    want = [cells(line)[0] for line in expected if "│" in line]
    got = [cells(line)[0] for line in actual]
    problems = []
    if len(want) != len(got):
        problems.append(f"{len(want) - 1} row(s) printed, {len(got) - 1} now")
    for i, (w, g) in enumerate(zip(want, got, strict=False)):
        if w != g:
            problems.append(f"row {i} printed {w}, now {g}" if i else f"header printed {w}, now {g}")
    return problems


def _console_view(lines: list[str]) -> list[tuple[str, ...]]:
    """Console lines as compared: borders dropped, timing cells and numbers blanked."""
    view: list[tuple[str, ...]] = []
    header: list[str] = []
    for line in lines:
        if BOX_ONLY.match(line) and line.strip():
            continue
        if "┃" in line:
            header = [p.strip() for p in line.split("┃")[1:-1]]
            view.append(tuple(header))
        elif line.lstrip().startswith("│") and line.rstrip().endswith("│"):
            row = [p.strip() for p in line.split("│")[1:-1]]
            view.append(
                tuple(
                    "…" if j < len(header) and header[j] in TIMING_HEADERS else c for j, c in enumerate(row)
                )
            )
        else:
            view.append((TIMING.sub("…", line.rstrip()),))
    return view


def compare_console(expected: list[str], actual: list[str]) -> list[str]:
    want, got = _console_view(expected), _console_view(actual)
    problems = [f"printed {w}, now {g}" for w, g in zip(want, got, strict=False) if w != g]
    if len(want) != len(got):
        problems.append(f"{len(want)} line(s) printed, {len(got)} now")
    return problems


# --- one example, and the whole README ----------------------------------------------------------------


@dataclass
class Outcome:
    block: Block
    lines: list[str]  # what the block's result (sql) or the whole console block (console) is now
    problems: list[str]


def run_example(example: str, blocks: list[Block], lines: list[str], ws: Workspace) -> list[Outcome]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    outcomes = []
    try:
        for block in (b for b in blocks if b.example == example):
            code = block.code_text(lines)
            if block.lang == "sql":
                assert block.result is not None
                now = run_sql(con, ws.paths(code))
                printed = lines[block.result[0] : block.result[1]]
                outcomes.append(Outcome(block, now, compare_rows(printed, now)))
            else:
                now = run_console(ws, code)
                outcomes.append(Outcome(block, now, compare_console(code.split("\n"), now)))
    finally:
        con.close()
    return outcomes


def examples(blocks: list[Block]) -> list[str]:
    return list(dict.fromkeys(b.example for b in blocks))


def rewritten(lines: list[str], outcomes: list[Outcome]) -> list[str]:
    """The README lines with every block's figures replaced by the outcome's, annotations kept by row."""
    out = list(lines)
    for o in sorted(outcomes, key=lambda o: o.block.code[0], reverse=True):
        if o.block.lang == "sql":
            assert o.block.result is not None
            a, b = o.block.result
            notes = [cells(line)[1] for line in lines[a:b] if "│" in line]
            fresh = [row + (notes[i] if i < len(notes) else "") for i, row in enumerate(o.lines)]
            out[a:b] = fresh
        else:
            a, b = o.block.code
            out[a:b] = o.lines
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README's figures from a real run")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    lines = text.split("\n")
    blocks = parse(text)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="datagen-readme-") as tmp:
        ws = Workspace(Path(tmp))
        for example in examples(blocks):
            found = run_example(example, blocks, lines, ws)
            outcomes += found
            for o in found:
                for p in o.problems:
                    print(f"README line {o.block.marker_line + 1} ({example}): {p}")
    if args.write:
        README.write_text("\n".join(rewritten(lines, outcomes)), encoding="utf-8")
        print(f"rewrote {len(outcomes)} figure block(s) in {README}")
        return 0
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
