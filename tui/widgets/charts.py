"""Small bar charts drawn with text: observed bars with the declared value marked on each row.

Used where a glance beats a table (rows per weekday against the declared weights, a retention curve)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

EIGHTHS = " ▏▎▍▌▋▊▉"


@dataclass(frozen=True)
class Chart:
    """`observed` and `expected` are in the same unit (shares, or ratios to the first bar)."""

    title: str
    labels: list[str]
    observed: list[float]
    expected: list[float] | None = None
    percent: bool = True


def _bar(value: float, scale: float, width: int) -> str:
    eighths = round(max(value, 0.0) / scale * width * 8) if scale > 0 else 0
    full, rest = divmod(min(eighths, width * 8), 8)
    return ("█" * full + (EIGHTHS[rest] if rest else "")).ljust(width)


def render(chart: Chart, width: int = 24) -> Text:
    """Bars scaled to the largest value; `┃` marks the declared value when there is one."""
    values = chart.observed + (chart.expected or [])
    scale = max(values, default=0.0) or 1.0
    label_width = max((len(label) for label in chart.labels), default=0)
    text = Text(chart.title + "\n", style="bold")
    fmt = (lambda v: f"{v:6.1%}") if chart.percent else (lambda v: f"{v:6.2f}")
    for i, label in enumerate(chart.labels):
        bar = list(_bar(chart.observed[i], scale, width))
        marker = None
        if chart.expected is not None:
            marker = min(width - 1, round(chart.expected[i] / scale * width))
        text.append(label.ljust(label_width) + " ")
        for j, ch in enumerate(bar):
            text.append("┃" if j == marker else ch, style="bold yellow" if j == marker else "cyan")
        text.append(" " + fmt(chart.observed[i]))
        if chart.expected is not None:
            text.append(f"  declared {fmt(chart.expected[i]).strip()}", style="dim")
        text.append("\n")
    if chart.expected is not None:
        text.append("bars: observed   ", style="dim")
        text.append("┃", style="bold yellow")
        text.append(": declared", style="dim")
    return text
