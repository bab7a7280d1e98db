"""The form engine's writes of a draft on every step, built once (``flows.engine``).

Every form step claims its draft (:func:`claim_statement`, ``UPDATE ... RETURNING``) and
saves it (:func:`save_draft`). Their statements are built once, with the values as bind
parameters, so SQLAlchemy neither builds them nor computes their cache keys again on
every update; the save skips the unit of work when the draft is all there is to write.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from sqlalchemy import bindparam, inspect, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from storage.models import Draft, utcnow

_FORM_NAME = re.compile(r"[a-z][a-z0-9_]*")


@functools.cache
def claim_statement(pressed: bool) -> Any:
    """:func:`flows.engine.take_current`'s statement, built once per variant
    (:data:`flows.forms.FORMS` is fixed at import). A Core ``UPDATE ... RETURNING`` whose
    row the ORM loads as the Draft (``from_statement``, overwriting what the session held):
    the ORM's own UPDATE would re-annotate the statement, and compute its cache key again,
    on every execution, and has nothing to synchronise besides this one row."""
    from flows.forms import FORMS

    assert all(_FORM_NAME.fullmatch(name) for name in FORMS), "form names are identifiers"
    drafts = Draft.__table__.c
    stmt = update(Draft.__table__).where(drafts.account_id == bindparam("take_account"))
    if pressed:
        stmt = stmt.where(
            drafts.id == bindparam("take_draft"),
            drafts.rev == bindparam("take_rev"),
            # The names written into the SQL: an IN of bound values is "expanding", rendered
            # again into the statement's text on every execution.
            drafts.flow.in_([literal_column(f"'{name}'") for name in FORMS]),
        )
    claim = stmt.values(rev=drafts.rev + 1, reminded_at=None).returning(*Draft.__table__.c)
    return select(Draft).from_statement(claim).execution_options(populate_existing=True)


# What a step changes in its draft (nothing else sets a Draft's attributes).
_STEP_COLUMNS = frozenset({"step", "answers", "context", "rev"})


@functools.cache
def _save_statement(columns: frozenset[str]) -> Any:
    """:func:`save_draft`'s UPDATE of these columns of one draft, built once per set of columns."""
    drafts = Draft.__table__.c
    values = {name: bindparam(f"save_{name}") for name in sorted(columns)}
    return (
        update(Draft.__table__)
        .where(drafts.id == bindparam("save_id"))
        .values(**values, updated_at=bindparam("save_updated_at"))
    )


async def save_draft(session: AsyncSession, draft: Draft) -> None:
    """Write the draft's changes now, as ``session.flush()`` would, with less work when the
    draft is all the session has to write (every form step): one UPDATE built once of the
    attributes the step set, instead of the unit of work's flush; the draft is then what a
    flush leaves it, its changes committed to the session, ``updated_at`` the time written.
    Anything else to write (a new or deleted object, another changed one), or a savepoint
    open (whose rollback expires only what a flush registered with it): the flush."""
    draft_state = inspect(draft)
    changed = draft_state.committed_state.keys()
    dirty = session.dirty
    if (
        session.new
        or session.deleted
        or len(dirty) != 1
        or draft not in dirty
        or not draft_state.persistent
        or not changed
        or not changed <= _STEP_COLUMNS
        or session.in_nested_transaction()
    ):
        await session.flush()
        return
    columns = frozenset(changed)
    params: dict[str, Any] = {f"save_{name}": getattr(draft, name) for name in columns}
    params["save_id"] = draft.id
    params["save_updated_at"] = now = utcnow()
    with session.no_autoflush:
        result = await session.execute(_save_statement(columns), params)
    if result.rowcount != 1:  # as the unit of work checks
        raise StaleDataError(
            f"UPDATE statement on table 'drafts' expected to update 1 row(s); "
            f"{result.rowcount} were matched."
        )
    set_committed_value(draft, "updated_at", now)
    # The state a flush leaves: every attribute committed, the draft no longer dirty.
    draft_state._commit_all(draft_state.dict, session.sync_session.identity_map)
