"""The Preview tab: one DataTable per table with the sample rows of a preflight run."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from datagen.engine.preflight import Preflight
from datagen.terminal import plain, safe

EMPTY = "No preview yet: it appears as soon as there is a schema."


def cell(value: Any) -> Text:
    """Short, readable cells: ∅ for null, 2 decimals, timestamps to the minute in UTC. Always `Text`:
    a DataTable reads a plain string as markup, and generated values are anything the schema says."""
    if value is None:
        return Text("∅", style="dim")
    if isinstance(value, float):
        return Text(f"{value:,.2f}")
    if isinstance(value, dt.datetime):
        return Text(value.strftime("%Y-%m-%d %H:%M"))
    return plain(str(value))


class PreviewView(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(EMPTY, id="preview-summary", markup=False)
        yield TabbedContent(id="preview-tables")

    async def clear(self) -> None:
        await self.query_one("#preview-tables", TabbedContent).clear_panes()
        self.query_one("#preview-summary", Static).update(EMPTY)

    async def show(self, result: Preflight, *, rows: int, seed: int, limit: int) -> None:
        tabs = self.query_one("#preview-tables", TabbedContent)
        await tabs.clear_panes()
        summary = self.query_one("#preview-summary", Static)
        text = Text(f"Sample run: up to {rows} rows per starting table, seed {seed}. ", style="dim")
        if result.problems:
            text.append(f"\n{len(result.problems)} problem(s) in the sample:\n", style="bold red")
            for p in result.problems:
                text.append(safe(f"• {p}\n"), style="red")
        else:
            text.append("Every column generated without problems.", style="green")
        for w in result.warnings:
            text.append(safe(f"\n⚠ {w}"), style="yellow")
        summary.update(text)
        for tid, table in result.tables.items():
            grid: DataTable[Any] = DataTable(zebra_stripes=True, id=f"preview-{tid}")
            title = Content(safe(f"{tid} ({table.num_rows:,})"))  # Content: a str title is read as markup
            await tabs.add_pane(TabPane(title, grid, id=f"pane-{tid}"))
            _fill(grid, table, limit)


def _fill(grid: DataTable[Any], table: pa.Table, limit: int) -> None:
    """`limit` rows at most: the preview is a glance, and the loop is bounded by it, not the data."""
    grid.add_columns(*(plain(name) for name in table.column_names))
    for row in table.slice(0, limit).to_pylist():
        grid.add_row(*(cell(v) for v in row.values()))
