"""accounts remember which "/" command menu their chat was given

``accounts.command_menu`` (``<language>:<role>``, e.g. ``id:resident``; empty when the
chat has the bot's default menu): the bot compares it with what the person should see
now (their roles and language) and sets the chat's menu when they differ. Existing
accounts start empty, so each gets its own menu at its next update.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("command_menu", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("command_menu")
