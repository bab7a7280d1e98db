"""review tiers per report, needs-info, report links, the outbox and broadcasts

Reports remember the tiers that review them (from the workflow configuration at
submission), when they entered their current state and when reviewers were last
reminded, so the SLA scheduler's state lives in the database. Rejections get a
reason code. Duplicate and conflicting reports are linked. Every message caused by
a state change goes through the ``outbox`` table; announcements are ``broadcasts``.
Existing reports get the full path (RT, kelurahan/desa, officer), which is what
0002's workflow did, and the time of their last event as ``tier_since``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:53:38.192185
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FULL_PATH = '["rt", "kelurahan", "officer"]'


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by_account_id", sa.Integer(), nullable=True),
        sa.Column("notify_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_broadcasts_created_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_broadcasts_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'undeliverable', 'failed')",
            name=op.f("ck_outbox_status_code"),
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name=op.f("fk_outbox_broadcast_id_broadcasts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_broadcast_id"), ["broadcast_id"], unique=False)
        batch_op.create_index("ix_outbox_chat_order", ["chat_id", "status", "id"], unique=False)
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "report_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("other_report_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "relation IN ('duplicate', 'conflict')", name=op.f("ck_report_links_relation_code")
        ),
        sa.ForeignKeyConstraint(
            ["other_report_id"],
            ["reports.id"],
            name=op.f("fk_report_links_other_report_id_reports"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_links_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_links")),
    )
    with op.batch_alter_table("report_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_links_other_report_id"), ["other_report_id"], unique=False
        )
        batch_op.create_index("ix_report_links_pair", ["report_id", "other_report_id"], unique=True)

    with op.batch_alter_table("report_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_code", sa.String(length=32), nullable=True))

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tiers", sa.JSON(), nullable=False, server_default=FULL_PATH))
        batch_op.add_column(sa.Column("tier_since", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("paused_state", sa.String(length=32), nullable=True))

    op.execute(
        "UPDATE reports SET tier_since = (SELECT MAX(report_events.created_at) FROM report_events "
        "WHERE report_events.report_id = reports.id)"
    )
    op.execute("UPDATE reports SET tier_since = updated_at WHERE tier_since IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("paused_state")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("tier_since")
        batch_op.drop_column("tiers")

    with op.batch_alter_table("report_events", schema=None) as batch_op:
        batch_op.drop_column("reason_code")

    with op.batch_alter_table("report_links", schema=None) as batch_op:
        batch_op.drop_index("ix_report_links_pair")
        batch_op.drop_index(batch_op.f("ix_report_links_other_report_id"))

    op.drop_table("report_links")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_index("ix_outbox_chat_order")
        batch_op.drop_index(batch_op.f("ix_outbox_broadcast_id"))

    op.drop_table("outbox")
    op.drop_table("broadcasts")
