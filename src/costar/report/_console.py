"""A Transcript in the terminal, with rich. Trace text is never read as markup: every piece is
a `Text` appended with a style, so `[bold]` or `[/]` in a reply prints as it is."""

from __future__ import annotations

from typing import Any

from costar.report._transcript import Step, Transcript, TurnBlock

MARK = "bold black on yellow"  # evidence a verdict cites
RESULT_STYLE = {"pass": "green", "fail": "bold red", "error": "bold magenta", "skipped": "dim"}


def _tokens(usage: dict[str, int] | None) -> str:
    if not usage:
        return "tokens not measured"
    total = usage.get("total_tokens") or usage.get("input_tokens", 0) + usage.get(
        "output_tokens", 0
    )
    return f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out tokens" + (
        f" ({total} total)" if total else ""
    )


def _evidence(judges: tuple[str, ...]) -> Any:
    from rich.text import Text

    return Text(f" << evidence: {', '.join(judges)} ", style=MARK) if judges else Text("")


def _block(label: str, body: str, style: str = "") -> Any:
    from rich.padding import Padding
    from rich.text import Text

    text = Text()
    text.append(f"{label} ", style="dim")
    text.append(body or "(empty)", style=style)
    return Padding(text, (0, 0, 0, 4), expand=False)


def _step(step: Step) -> list[Any]:
    from rich.padding import Padding
    from rich.text import Text

    head = Text()
    if step.kind == "llm":
        head.append("model ", style="cyan")
        head.append(step.name, style="bold cyan")
        head.append(f"  {_tokens(step.tokens)}  {step.seconds:.2f} s", style="dim")
    else:
        head.append("tool ", style="blue")
        head.append(step.name, style="bold blue")
        head.append(f"  {step.seconds:.2f} s", style="dim")
        if step.error:
            head.append("  FAILED", style="bold red")
    head.append_text(_evidence(step.evidence))
    out: list[Any] = [Padding(head, (0, 0, 0, 2), expand=False)]
    if step.kind == "tool":
        out.append(_block("args", step.args))
    if step.error:
        out.append(_block("error", step.error, "red"))
    elif step.result:
        out.append(_block("answer" if step.kind == "llm" else "result", step.result))
    return out


def _turn(turn: TurnBlock) -> list[Any]:
    from rich.rule import Rule
    from rich.text import Text

    out: list[Any] = [Rule(f"turn {turn.number}", align="left", style="dim")]
    user = Text("user  ", style="bold green")
    user.append(turn.user or "(no message)", style="")
    out.append(user)
    for step in turn.steps:
        out += _step(step)
    agent = Text("agent ", style="bold")
    if turn.error:
        agent.append(turn.error, style="red")
    else:
        agent.append(turn.reply or "(no reply)", style="" if turn.reply else "dim")
    agent.append_text(_evidence(turn.evidence))
    out.append(agent)
    return out


def transcript_renderables(t: Transcript) -> list[Any]:
    """What `costar show TRACE` prints, in order."""
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    head = Text()
    head.append("trace ", style="bold")
    head.append(t.trace_id, style="bold")
    status_style = "green" if t.status == "ok" else "bold red"
    head.append("  status ")
    head.append(t.status, style=status_style)
    head.append_text(_evidence(t.trial_evidence))
    where = Text(f"run {t.run_id}  scenario {t.scenario_id}  trial {t.trial}", style="dim")
    cost = Text(f"{t.seconds:.2f} s, {_tokens(t.tokens)}", style="dim")
    out: list[Any] = [head, where, cost]
    if t.simulated_user:
        out.append(Text(t.simulated_user, style="dim"))
    for turn in t.turns:
        out += _turn(turn)
    if t.failure:
        out.append(Rule(f"{t.status}", align="left", style="red"))
        out.append(Text(t.failure.message, style="bold red"))
        if t.failure.traceback:
            out.append(Text(t.failure.traceback.rstrip(), style="red"))
    out.append(Rule("final state", align="left", style="dim"))
    if t.final_evidence:
        out.append(_evidence(t.final_evidence))
    if t.state_note:
        out.append(Text(t.state_note, style="dim"))
    for table in t.tables:
        title = f"{table.database}: {table.name}" if table.name else table.database
        grid = Table(title=f"{title} ({table.row_count} rows)", title_justify="left")
        for column in table.columns:
            grid.add_column(column, overflow="fold")
        for row in table.rows:
            grid.add_row(*(Text(c) for c in row))
        out.append(grid if table.columns else Text(f"{title}: {table.note}", style="dim"))
        if table.note and table.columns:
            out.append(Text(table.note, style="dim"))
    if t.files:
        files = Table(title="files", title_justify="left")
        for column in ("path", "size", "sha256"):
            files.add_column(column, overflow="fold")
        for f in t.files:
            size = "" if f.size is None else str(f.size)
            files.add_row(Text(f.path), size, Text(f.error or f.sha256[:16]))
        out.append(files)
    out.append(Rule("verdicts", align="left", style="dim"))
    if not t.verdicts:
        out.append(Text("no verdicts on this trace yet (costar assess RUN_ID)", style="dim"))
    for v in t.verdicts:
        line = Text()
        line.append(f"{v.result:<7} ", style=RESULT_STYLE.get(v.result, ""))
        line.append(v.judge, style="bold")
        line.append(f" ({v.kind})", style="dim")
        value = "" if v.value is None or isinstance(v.value, bool) else str(v.value)
        if value:
            line.append(f" = {value}")
        if v.rationale and not (value and v.rationale.endswith(value)):
            line.append(f"  {v.rationale}")
        out.append(line)
        for e in v.evidence:
            out.append(Text(f"         evidence {e.span_id}: {e.where}", style="yellow"))
    return out
