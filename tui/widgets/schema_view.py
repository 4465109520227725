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
DRAFT = "The model is writing the schema… {n} table(s) so far"


def _table_label(t: TableOutline, plain: bool) -> Text:
    if plain:
        return Text.assemble((t.id, "bold"), "  ", (t.size, "dim"))
    return Text.assemble((t.id, "bold"), "  ", (f"{t.kind} · {t.size}", "dim"))


def _column_labels(t: TableOutline, plain: bool) -> list[Text]:
    """Name, type and source; in plain words the source alone says what the values are (and the line
    fits a small terminal)."""
    width = max(len(c.name) for c in t.columns)
    kinds = max(len(c.type) for c in t.columns)
    labels = []
    for c in t.columns:
        label = Text()
        label.append(c.name.ljust(width) + "  ", style="bold" if c.name == t.columns[0].name else None)
        if plain:
            label.append(safe(c.source))
            if c.nullable:
                label.append(" (may be empty)", style="dim italic")
        else:
            label.append(c.type.ljust(kinds) + "  ", style="cyan")
            label.append(safe(c.source), style="dim")
            if c.nullable:
                label.append(" · nullable", style="dim italic")
        labels.append(label)
    return labels


class SchemaView(Vertical):
    """Shows a checked schema, in plain words or in the schema's terms (the tabs), or its JSON; while
    the model writes one, its tables as they arrive. `show(None)` goes back to the empty hint."""

    DEFAULT_CLASSES = "-empty"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plain = True
        self._shown: tuple[CheckResult | None, Any] = (None, None)

    def compose(self) -> ComposeResult:
        yield Static(EMPTY, id="schema-summary", markup=False)
        yield Static(id="schema-description", markup=False)
        yield Tabs(
            Tab("In words", id="plain"),
            Tab("Technical", id="outline"),
            Tab("JSON", id="json"),
            id="schema-mode",
        )
        with ContentSwitcher(initial="schema-tree", id="schema-switcher"):
            tree: Tree[None] = Tree("schema", id="schema-tree")
            tree.show_root = False
            yield tree
            with VerticalScroll(id="schema-json-scroll"):
                yield Static(id="schema-json")

    def show_draft(self, document: dict[str, Any]) -> None:
        """A schema still being written: the tables (and their columns) that have arrived so far."""
        tree = self.query_one("#schema-tree", Tree)
        tree.clear()
        nodes = [
            n for n in document.get("nodes") or [] if isinstance(n, dict) and isinstance(n.get("id"), str)
        ]
        self.set_class(False, "-empty")
        self.set_class(False, "-invalid")
        self.query_one("#schema-summary", Static).update(Text(DRAFT.format(n=len(nodes)), style="italic"))
        self.query_one("#schema-description", Static).update("")
        for n in nodes:
            branch = tree.root.add(Text(safe(n["id"]), style="bold"), expand=True)
            for c in n.get("columns") or []:
                if isinstance(c, dict) and isinstance(c.get("name"), str):
                    branch.add_leaf(Text(safe(c["name"])))

    def show(self, checked: CheckResult | None, document: Any = None) -> None:
        self._shown = (checked, document)
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
        tables = outline(schema, self.plain)
        links = relations(schema, self.plain)
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
            node = tree.root.add(_table_label(t, self.plain), expand=True)
            for label in _column_labels(t, self.plain):
                node.add_leaf(label)
            for b in t.behaviours:
                node.add_leaf(Text("★ " + b, style="magenta"))
        if links:
            rel = tree.root.add(
                Text("how the tables connect" if self.plain else "relations", style="bold"), expand=True
            )
            for line in links:
                rel.add_leaf(plain(line))  # a str label would be read as markup
        self.query_one("#schema-json", Static).update(
            _json(document if document is not None else checked.document)
        )

    @on(Tabs.TabActivated, "#schema-mode")
    def _mode(self, event: Tabs.TabActivated) -> None:
        event.stop()
        target = "schema-json-scroll" if event.tab.id == "json" else "schema-tree"
        self.query_one("#schema-switcher", ContentSwitcher).current = target
        if event.tab.id in ("plain", "outline") and self.plain != (event.tab.id == "plain"):
            self.plain = event.tab.id == "plain"
            self.show(*self._shown)


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
