"""one Telegram account per member; draft ids never reused

A unique index on ``accounts.member_id`` (NULLs allowed: an account not linked has no
member): two Telegram accounts can no longer be linked as the same member.

Existing duplicates are resolved first: of the accounts linked to one member, the one
linked most recently (``linked_at``, then the highest id) keeps the link; the others
are unlinked (``member_id``, ``household_id`` and ``linked_at`` emptied). Their owners
see the linking form again on /start, and linking as that member is refused from then on
until the RT head confirms a change of phone. The audit log is not written here; the
count of unlinked accounts is printed in Alembic's log.

``drafts`` gets SQLite's AUTOINCREMENT (the table is rebuilt in batch mode): a form's
buttons carry its draft's id, and SQLite would otherwise give a new draft the id of the
highest one just deleted. PostgreSQL sequences never reuse an id: nothing to do there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_accounts = sa.table(
    "accounts",
    sa.column("id", sa.Integer),
    sa.column("member_id", sa.Integer),
    sa.column("household_id", sa.Integer),
    sa.column("linked_at", sa.DateTime),
)


def _unlink_duplicates() -> int:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_accounts.c.id, _accounts.c.member_id, _accounts.c.linked_at)
        .where(_accounts.c.member_id.is_not(None))
        .order_by(_accounts.c.member_id)
    ).all()
    newest: dict[int, tuple] = {}
    for row in rows:
        key = (row.linked_at is not None, row.linked_at or 0, row.id)
        kept = newest.get(row.member_id)
        if kept is None or key > kept[0]:
            newest[row.member_id] = (key, row.id)
    keep = {account_id for _key, account_id in newest.values()}
    drop = [row.id for row in rows if row.id not in keep]
    for start in range(0, len(drop), 500):
        bind.execute(
            sa.update(_accounts)
            .where(_accounts.c.id.in_(drop[start : start + 500]))
            .values(member_id=None, household_id=None, linked_at=None)
        )
    return len(drop)


def upgrade() -> None:
    unlinked = _unlink_duplicates()
    if unlinked:
        log.warning(
            "0008: %d account(s) linked to an already-linked member were unlinked", unlinked
        )
    op.create_index("ux_accounts_member_id", "accounts", ["member_id"], unique=True)
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "drafts", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("drafts", recreate="always"):
            pass
    op.drop_index("ux_accounts_member_id", table_name="accounts")
