"""the report an outbox message is about: outbox.report_id

A reviewer's card is rendered when it is queued and kept in the outbox row: the
household's KK (in full on an officer's card), the reporter's contact phone and
location pin. ``report_id`` ties the row to its report, so that deleting the reporter's
account (/hapusakun) finds and scrubs the cards in other people's chats, queued or
kept. Rows written before this migration have none; the sent ones go after
``OUTBOX_KEEP``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_report_id_reports"), "reports", ["report_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_outbox_report_id"), ["report_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_report_id"))
        batch_op.drop_constraint(batch_op.f("fk_outbox_report_id_reports"), type_="foreignkey")
        batch_op.drop_column("report_id")
