"""Decisions of one reviewer from a file (``lapor-warga reports decide``).

A village meeting decides many reports at once; its secretary writes the decisions
in a CSV (``number,decision,reason_code,note``) and the reviewer's account applies
them. Every row is checked before anything is decided; then the decisions are made
in file order in one transaction, each exactly as if its button had been pressed
(the reporter and the next tier are told through the outbox). One failing decision
undoes the whole batch.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from flows.review import notify_decision
from locales import _
from registry import workflow
from registry.errors import DomainError, ImportRejected, RowError
from registry.textfile import csv_rows
from storage.models import Account, Report

DECISIONS_HEADER = ["number", "decision", "reason_code", "note"]
DECISIONS = {"approve": True, "reject": False}
MAX_NOTE = 500


@dataclass
class DecisionRow:
    line: int
    report: Report
    approve: bool
    reason_code: str | None
    note: str | None


@dataclass
class Decided:
    row: DecisionRow
    decision: workflow.Decision


def _check(
    account: Account, report: Report, decision: str, reason_code: str | None, note: str | None
) -> list[str]:
    problems = []
    if decision not in DECISIONS:
        problems.append(_("decision must be approve or reject"))
    elif DECISIONS[decision] and reason_code:
        problems.append(_("reason_code is only for a rejection"))
    elif not DECISIONS[decision]:
        try:
            workflow.check_reason(False, reason_code, note)
        except DomainError as exc:
            problems.append(str(exc))
    if note and len(note) > MAX_NOTE:
        problems.append(_("note is longer than {n} characters").format(n=MAX_NOTE))
    try:
        workflow.check_can_decide(account, report)
    except DomainError as exc:
        problems.append(_("{number}: {reason}").format(number=report.number, reason=str(exc)))
    return problems


async def read_decisions(session: AsyncSession, path: Path, account: Account) -> list[DecisionRow]:
    """The file's decisions, each checked against the report and the account; raises
    ``ImportRejected`` with every bad row (nothing is decided then)."""
    errors: list[RowError] = []
    rows: list[DecisionRow] = []
    seen: dict[int, int] = {}  # report id -> line
    with closing(csv_rows(path)) as lines:
        header = [h.strip().lower() for h in next(lines, (1, []))[1]]
        if header != DECISIONS_HEADER:
            raise ImportRejected(
                [
                    RowError(
                        1,
                        _("header must be exactly: {header}").format(
                            header=",".join(DECISIONS_HEADER)
                        ),
                    )
                ]
            )
        for line, cells in lines:
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(DECISIONS_HEADER):
                errors.append(
                    RowError(
                        line,
                        _("expected {n} columns, found {m}").format(
                            n=len(DECISIONS_HEADER), m=len(cells)
                        ),
                    )
                )
                continue
            cells = [c.strip() for c in cells] + [""] * (len(DECISIONS_HEADER) - len(cells))
            number, decision, reason_code, note = cells
            number = number.upper()
            report = await workflow.report_by_number(session, number) if number else None
            if report is None:
                errors.append(RowError(line, _("no report {number}").format(number=number or "-")))
                continue
            problems = _check(account, report, decision.lower(), reason_code or None, note or None)
            if decision.lower() == "approve" and not problems:
                original = await workflow.applied_duplicate(session, report)
                if original is not None:
                    problems.append(
                        _(
                            "{number}: the same change is already in the registry through "
                            "{original}; reject it as a duplicate"
                        ).format(number=report.number, original=original.number)
                    )
            if report.id in seen:
                problems.append(
                    _("report {number} already appears on line {line}").format(
                        number=number, line=seen[report.id]
                    )
                )
            else:
                seen[report.id] = line
            errors.extend(RowError(line, p) for p in problems)
            if not problems:
                rows.append(
                    DecisionRow(
                        line, report, DECISIONS[decision.lower()], reason_code or None, note or None
                    )
                )
    if not rows and not errors:
        errors.append(RowError(1, _("the file has no decisions")))
    if errors:
        raise ImportRejected(errors)
    return rows


async def apply_decisions(
    session: AsyncSession, rows: list[DecisionRow], account: Account
) -> list[Decided]:
    """Decide every row in order; on a refused decision roll everything back and raise
    ``ImportRejected`` naming that row."""
    decided = []
    for row in rows:
        number = row.report.number
        try:
            decision = await workflow.decide(
                session, row.report, account,
                approve=row.approve, note=row.note, reason_code=row.reason_code, by="cli",
            )  # fmt: skip
            await notify_decision(session, decision)
        except DomainError as exc:
            await session.rollback()
            raise ImportRejected(
                [RowError(row.line, _("{number}: {reason}").format(number=number, reason=exc))]
            ) from None
        decided.append(Decided(row, decision))
    return decided
