"""Terminal rendering shared by the commands: help paragraphs, consoles and tables.

Tables fit the terminal by wrapping value columns; a name (judge, scenario, run) is never
broken inside a word: at worst it is shortened with an ellipsis.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any


def paragraphs(doc: str | None) -> str:
    """A docstring as help text: paragraphs split at blank lines, each on one line.

    The terminal then wraps each paragraph to its width, so help never breaks a sentence
    where the source code happened to break its line.
    """
    text = inspect.cleandoc(doc or "")
    blocks = [" ".join(line.strip() for line in block.splitlines()) for block in text.split("\n\n")]
    return "\n\n".join(b for b in blocks if b)


def console(**options: Any) -> Any:
    from rich.console import Console

    return Console(**options)


def table(title: str | None, names: Iterable[str], values: Iterable[str], **options: Any) -> Any:
    """A table whose `names` columns never wrap and whose `values` columns fold to fit.

    A name column is as wide as its header; rows widen it, and other columns give way first.
    """
    from rich.table import Table

    grid = Table(title=title, **options)
    for header in names:
        grid.add_column(header, no_wrap=True, overflow="ellipsis")
    for header in values:
        grid.add_column(header, overflow="fold", justify="left")
    return grid


def keep_cells_whole(grid: Any) -> Any:
    """Value columns at least as wide as their widest cell: under a narrow terminal only the
    headers wrap. Call after the rows are added."""
    from rich.text import Text

    for column in grid.columns:
        if not column.no_wrap:
            cells = [
                Text.from_markup(c).cell_len if isinstance(c, str) else 0 for c in column.cells
            ]
            column.min_width = max(cells, default=0) or None
    return grid


def stacked(title: str | None, rows: list[tuple[list[str], str]], indent: int = 4) -> Any:
    """Rows whose long text would not fit beside their names: each row's names on one line,
    its text below, indented and wrapped at the terminal's width (whole words, so a cited
    `docs/refunds.md#144` is never cut in two)."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.text import Text

    parts: list[Any] = [Text(title, style="italic", justify="center")] if title else []
    for names, text in rows:
        head = Text.from_markup("  ".join(names), overflow="ellipsis")
        head.no_wrap = True
        parts.append(head)
        parts.append(Padding(Text(text, overflow="fold"), (0, 0, 0, indent)))
    return Group(*parts)


def fits_beside(widths: Iterable[int], width: int, least: int = 40) -> bool:
    """Whether columns of these widths leave `least` cells for one more column, inside a
    table's borders, on a terminal `width` cells wide."""
    taken = [*widths]
    return width - sum(taken) - 3 * (len(taken) + 1) - 1 >= least


def listed_below(rows: list[tuple[str, str, list[str]]]) -> Any:
    """(name, what, items) lines printed under a table instead of as its columns, where the
    terminal is too narrow for them: `policy-explorer flaky: refund-within-policy, ...`."""
    from rich.text import Text

    lines = [f"{name} {what}: {', '.join(items)}" for name, what, items in rows if items]
    return Text("\n".join(lines), overflow="fold")


def right_aligned(grid: Any, first: int = 1) -> Any:
    """Right-align the count columns from `first` on."""
    for column in grid.columns[first:]:
        column.justify = "right"
    return grid


def pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.0f}%"


def marked(count: int, style: str) -> str:
    """A count in `style` when it is not zero."""
    return f"[{style}]{count}[/]" if count else "0"
