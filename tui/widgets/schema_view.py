"""The Schema tab: tables and their columns as a tree, the relations, and (on request) the JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, Static, Tab, Tabs, Tree

from datagen.dsl import CheckResult
from datagen.redact import redact_data
from datagen.terminal import plain, safe
from tui.outline import TableOutline, outline, relations

EMPTY = "No schema yet. Describe your data in the chat, or open a schema file (ctrl+o)."


def _table_label(t: TableOutline) -> Text:
    return Text.assemble((t.id, "bold"), "  ", (f"{t.kind} · {t.size}", "dim"))


def _column_labels(t: TableOutline) -> list[Text]:
    width = max(len(c.name) for c in t.columns)
    kinds = max(len(c.type) for c in t.columns)
    return [
        Text.assemble(
            (c.name.ljust(width), "bold" if c.name == t.columns[0].name else ""),
            "  ",
            (c.type.ljust(kinds), "cyan"),
            "  ",
            (safe(c.source), "dim"),
            (" · nullable" if c.nullable else "", "dim italic"),
        )
        for c in t.columns
    ]


class SchemaView(Vertical):
    """Shows a checked schema. `show(None)` goes back to the empty hint."""

    DEFAULT_CLASSES = "-empty"

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, id="schema-summary", markup=False)
        yield Static(id="schema-description", markup=False)
        yield Tabs(Tab("Outline", id="outline"), Tab("JSON", id="json"), id="schema-mode")
        with ContentSwitcher(initial="schema-tree", id="schema-switcher"):
            tree: Tree[None] = Tree("schema", id="schema-tree")
            tree.show_root = False
            yield tree
            with VerticalScroll(id="schema-json-scroll"):
                yield Static(id="schema-json")

    def show(self, checked: CheckResult | None, document: Any = None) -> None:
        tree = self.query_one("#schema-tree", Tree)
        tree.clear()
        summary = self.query_one("#schema-summary", Static)
        description = self.query_one("#schema-description", Static)
        description.update("")
        self.set_class(checked is None, "-empty")
        self.set_class(checked is not None and bool(checked.errors), "-invalid")
        if checked is None or checked.schema is None:
            summary.update(EMPTY if checked is None else _issues_text(checked))
            self.query_one("#schema-json", Static).update(_json(document) if document is not None else "")
            return
        schema = checked.schema
        tables = outline(schema)
        links = relations(schema)
        head = Text.assemble(
            (safe(schema.metadata.name), "bold"), f" — {len(tables)} table(s), {len(links)} relation(s)"
        )
        description.update(Text(safe(schema.metadata.description or ""), style="dim"))
        if checked.warnings:
            head.append(
                safe(
                    f"\n{len(checked.warnings)} warning(s): " + "; ".join(i.message for i in checked.warnings)
                ),
                style="yellow",
            )
        summary.update(_issues_text(checked) if checked.errors else head)
        for t in tables:
            node = tree.root.add(_table_label(t), expand=True)
            for label in _column_labels(t):
                node.add_leaf(label)
            for b in t.behaviours:
                node.add_leaf(Text("★ " + b, style="magenta"))
        if links:
            rel = tree.root.add(Text("relations", style="bold"), expand=True)
            for line in links:
                rel.add_leaf(plain(line))  # a str label would be read as markup
        self.query_one("#schema-json", Static).update(
            _json(document if document is not None else checked.document)
        )

    @on(Tabs.TabActivated, "#schema-mode")
    def _mode(self, event: Tabs.TabActivated) -> None:
        event.stop()
        target = "schema-tree" if event.tab.id == "outline" else "schema-json-scroll"
        self.query_one("#schema-switcher", ContentSwitcher).current = target


def _json(document: Any) -> Syntax:
    return Syntax(
        json.dumps(redact_data(document), indent=2, ensure_ascii=False),
        "json",
        theme="ansi_dark",
        word_wrap=True,
    )


def _issues_text(checked: CheckResult) -> Text:
    text = Text(f"The schema has {len(checked.errors)} problem(s):", style="bold red")
    for issue in checked.errors:
        text.append(safe(f"\n• {issue.path}: {issue.message}"), style="red")
    return text
