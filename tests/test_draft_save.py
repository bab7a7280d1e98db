"""The form engine's draft save (``flows.draft_writes.save_draft``): one UPDATE built once when the
draft is all the session has to write, leaving the draft as ``session.flush()`` would;
the flush itself otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from flows.draft_writes import save_draft
from storage import db
from storage.models import Account, Draft


async def _draft(session: AsyncSession) -> Draft:
    account = Account(telegram_id=777_001, first_name="Sari")
    session.add(account)
    await session.flush()
    draft = Draft(
        account_id=account.id, flow="birth", step="name", answers={}, context={"a": 1}, rev=1
    )
    session.add(draft)
    await session.commit()
    return draft


def _no_flush(session: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    async def flush(*_args: Any, **_kw: Any) -> None:
        raise AssertionError("flushed: the draft alone should be written by its own UPDATE")

    monkeypatch.setattr(session, "flush", flush)


def _statements(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return seen


async def _row(engine: AsyncEngine, draft_id: int) -> Any:
    async with db.make_sessionmaker(engine)() as other:
        table = Draft.__table__
        return (await other.execute(select(table).where(table.c.id == draft_id))).one()


async def test_a_step_writes_the_draft_in_one_update_and_leaves_it_clean(
    engine: AsyncEngine, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = await _draft(session)
    _no_flush(session, monkeypatch)
    before = draft.updated_at
    draft.step = "sex"
    draft.answers = {"name": "PUTRI"}
    draft.rev += 1
    seen = _statements(engine)
    await save_draft(session, draft)
    assert seen == ["UPDATE"]
    assert draft not in session.dirty and not session.sync_session.identity_map._modified
    assert draft.updated_at >= before
    monkeypatch.undo()
    await session.commit()
    assert seen == ["UPDATE"]  # the commit has nothing left to flush
    row = await _row(engine, draft.id)
    assert (row.step, row.answers, row.context, row.rev) == ("sex", {"name": "PUTRI"}, {"a": 1}, 2)
    assert row.updated_at == draft.updated_at


async def test_anything_else_to_write_goes_through_the_flush(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    draft = await _draft(session)
    account = await session.get(Account, draft.account_id)
    assert account is not None
    account.first_name = "Sari Dewi"
    draft.step = "sex"
    draft.rev += 1
    await save_draft(session, draft)
    assert not session.dirty
    await session.commit()
    row = await _row(engine, draft.id)
    assert (row.step, row.rev) == ("sex", 2)
    async with db.make_sessionmaker(engine)() as other:
        assert (await other.get(Account, account.id)).first_name == "Sari Dewi"  # type: ignore[union-attr]


async def test_a_draft_gone_meanwhile_fails_as_the_flush_would(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = await _draft(session)
    await session.execute(delete(Draft.__table__).where(Draft.__table__.c.id == draft.id))
    _no_flush(session, monkeypatch)
    draft.step = "sex"
    draft.rev += 1
    with pytest.raises(StaleDataError):
        await save_draft(session, draft)
