"""The audit log: decisions (chat, command line, scheduler), views of personal data and
exports are recorded where they happen, and ``lapor-warga audit`` lists them."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main
from flows import sla as sla_flows
from flows.app import button
from flows.io import Ctx, Incoming
from flows.review import notify_current_tier
from locales import use_locale
from registry import workflow
from registry.households import household_by_kk
from registry.policy import DEFAULT_POLICY
from storage.models import Report, utcnow
from testkit.factories import FAMILIES, HARTONO, SARI, VILLAGE
from tests.helpers.db import in_db
from tests.helpers.world import account, registry_world

RT, LURAH, OFFICER, REPORTER = 1, 2, 3, 100
QUESTION = "Apakah atapnya benar seng?"
NOTE = "Atap masih genteng menurut tetangga"
ALL_NUMBERS = [SARI.kk, HARTONO.kk, *(p.nik for f in FAMILIES for p in f.people)]


async def _file(session: AsyncSession, kk: str) -> Report:
    """A report filed as in chat: its cards go to the RT head."""
    report = await workflow.submit_report(
        session, kind="housing", household=await household_by_kk(session, kk),
        reporter=await account(session, REPORTER), payload={"aspects": ["roof"], "roof": "metal"},
    )  # fmt: skip
    await notify_current_tier(session, report)
    return report


async def _decisions(session: AsyncSession, tmp_path) -> dict[str, str]:
    """Three reports: one decided in chat, one escalated by the scheduler, one left for a
    decision file. Returns their numbers."""
    await registry_world(
        session, tmp_path, rt={RT: [(SARI.rw, SARI.rt), (HARTONO.rw, HARTONO.rt)]},
        lurah=[LURAH], officers={OFFICER: "16.71"}, accounts=[REPORTER],
    )  # fmt: skip
    chat = await _file(session, SARI.kk)
    late = await _file(session, HARTONO.kk)
    batch = await _file(session, SARI.kk)

    # In chat: the RT head presses Confirm on the card.
    rt = await account(session, RT)
    incoming = Incoming(user_id=RT, chat_id=RT, callback="", message_id=1)
    with use_locale("en"):
        outcome = await button(Ctx(session, incoming, rt), f"rv:{chat.id}:{chat.version}:y")
    assert "You confirmed this report" in outcome.replies[0].text
    # The lurah asks the reporter, who answers; then the lurah rejects with words.
    lurah = await account(session, LURAH)
    await workflow.ask_info(session, chat, lurah, QUESTION)
    await workflow.answer_info(session, chat, await account(session, REPORTER), answer="Ya")
    await workflow.decide(session, chat, lurah, approve=False, reason_code="other", note=NOTE)
    # Nobody decided the other one within the RT's SLA: the scheduler moves it on.
    later = utcnow() + timedelta(days=4)
    assert await sla_flows.escalate(session, late.id, later, DEFAULT_POLICY)
    return {"chat": chat.number, "late": late.number, "batch": batch.number}


async def _account_ids(session: AsyncSession) -> dict[int, int]:
    return {t: (await account(session, t)).id for t in (RT, LURAH, OFFICER)}


def test_decisions_views_and_exports_are_listed_oldest_first(cli_db, tmp_path, capsys) -> None:
    numbers = in_db(cli_db, lambda s: _decisions(s, tmp_path))
    ids = in_db(cli_db, _account_ids)
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(f"number,decision,reason_code,note\n{numbers['batch']},approve,,\n")
    assert main(["reports", "decide", "--file", str(decisions), "--as", str(RT)]) == 0
    assert main(["reports", "list", "--region", VILLAGE]) == 0
    assert main(["export", "changes", "--since", date.today().isoformat()]) == 0
    assert main(["registry", "export", "--output", str(tmp_path / "registry.csv")]) == 0
    assert main(["registry", "show", "--kk", SARI.kk]) == 0
    capsys.readouterr()

    assert main(["audit", "--since", date.today().isoformat()]) == 0
    out = capsys.readouterr().out
    rows = [line.split("\t") for line in out.splitlines()]
    assert all(len(row) == 5 for row in rows), out
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)  # oldest first
    assert all(row[0].endswith("Z") for row in rows)  # UTC
    rt = f"account {ids[RT]} (telegram {RT})"
    lurah = f"account {ids[LURAH]} (telegram {LURAH})"
    chat, late, batch = numbers["chat"], numbers["late"], numbers["batch"]
    assert [(row[1], row[2], row[3]) for row in rows] == [
        (rt, "report.view", chat),  # the cards sent when the reports were filed
        (rt, "report.view", late),
        (rt, "report.view", batch),
        (rt, "report.decide", chat),  # pressed Confirm in chat
        (lurah, "report.view", chat),  # its card at the next tier
        (lurah, "report.ask", chat),
        (lurah, "report.decide", chat),
        ("system", "report.escalate", late),
        (lurah, "report.view", late),
        (rt + " via cli", "report.decide", batch),  # reports decide --as the RT head
        (lurah, "report.view", batch),
        ("cli", "export", "-"),
        ("cli", "export", "-"),
        ("cli", "export", "-"),
        ("cli", "view", "-"),
    ]
    details = [row[4] for row in rows]
    assert details[0] == "state=awaiting_rt full_ids=False"
    assert details[3] == "from=awaiting_rt to=awaiting_kelurahan decision=approve"
    assert details[5] == "from=awaiting_kelurahan to=needs_info"
    assert details[6] == "from=awaiting_kelurahan to=rejected decision=reject reason_code=other"
    assert details[7] == "from=awaiting_rt to=awaiting_kelurahan sla_days=3"
    commands = [d.split(" os_user")[0] for d in details[11:]]
    assert commands == [
        "command=reports list",
        "command=export changes",
        "command=registry export",
        "command=registry show",
    ]
    assert f"region={VILLAGE} states= rows=3" in details[11]
    assert "household=" in details[14] and "as_of=-" in details[14]
    # Never a NIK, a KK, a question or a note.
    for secret in [*ALL_NUMBERS, QUESTION, NOTE]:
        assert secret not in out

    assert main(["audit", "--since", date.today().isoformat(), "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == [
        "time", "actor", "account_id", "telegram_id", "action", "report", "subject_account_id",
        "details",
    ]  # fmt: skip
    assert len(table) == len(rows) + 1
    escalation = next(r for r in table if r[4] == "report.escalate")
    assert escalation[1:4] == ["system", "", ""] and escalation[5] == numbers["late"]
    assert json.loads(escalation[7]) == {
        "from": "awaiting_rt", "to": "awaiting_kelurahan", "sla_days": 3,
    }  # fmt: skip
    from_file = next(r for r in table if r[4] == "report.decide" and r[5] == batch)
    assert from_file[1:4] == ["cli", str(ids[RT]), str(RT)]

    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert main(["audit", "--since", tomorrow]) == 0
    assert capsys.readouterr().out.strip() == f"No audit entries since {tomorrow}."


def test_audit_needs_a_day(cli_db, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "--since", "yesterday"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err  # parsed before the settings: in the default language
    assert "--since: 'yesterday'" in err and "2026-06-01" in err
