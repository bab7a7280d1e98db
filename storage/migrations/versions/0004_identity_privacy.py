"""consent, account deletion, linking lockout, role invitations, audit log, filing on behalf

Accounts record when their person agreed to the consent text and when they deleted
the account (the row stays as a tombstone without personal data). Failed NIK + KK
links are counted per account. Reviewer roles are given by single-use invitations
whose codes are stored hashed. The audit log records decisions, views of personal
data, data requests, deletions and role changes. A report filed by an RT head for a
resident without a phone says so. Existing accounts have not seen the consent text,
so they are asked at their next message.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("consented_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("reports") as batch:
        batch.add_column(
            sa.Column("filed_on_behalf", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "link_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_link_attempts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_attempts")),
    )
    op.create_index("ix_link_attempts_account_time", "link_attempts", ["account_id", "created_at"])
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("rw", sa.SmallInteger(), nullable=True),
        sa.Column("rt", sa.SmallInteger(), nullable=True),
        sa.Column("created_by_account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by_account_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "role IN ('rt', 'rw', 'lurah', 'officer')", name=op.f("ck_invites_role_code")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_invites_created_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_invites_region_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["used_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_invites_used_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invites_code_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("actor_account_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("subject_account_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_account_id"],
            ["accounts.id"],
            name=op.f("fk_audit_log_actor_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_audit_log_report_id_reports")
        ),
        sa.ForeignKeyConstraint(
            ["subject_account_id"],
            ["accounts.id"],
            name=op.f("fk_audit_log_subject_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_created_at"), "audit_log", ["created_at"])
    op.create_index(op.f("ix_audit_log_report_id"), "audit_log", ["report_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_report_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_created_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("invites")
    op.drop_index("ix_link_attempts_account_time", table_name="link_attempts")
    op.drop_table("link_attempts")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("filed_on_behalf")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("consented_at")
