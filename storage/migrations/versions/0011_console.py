"""web console: operator and admin roles, one-time sign-in links, console sessions

``role_grants.role`` also takes ``operator`` (a desa/kelurahan's operator: sees its
reports, decides nothing) and ``admin`` (a kabupaten/kota: manages grants, reads the
audit log). ``console_login_codes`` holds the SHA-256 of each ``/masuk`` link's code;
``console_sessions`` the SHA-256 of each signed-in browser's cookie.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = "role IN ('rt', 'rw', 'lurah', 'officer')"
NEW_ROLES = "role IN ('rt', 'rw', 'lurah', 'officer', 'operator', 'admin')"


def _roles(check: str) -> None:
    with op.batch_alter_table("role_grants", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_role_grants_role_code"), type_="check")
        batch.create_check_constraint("role_code", check)


def upgrade() -> None:
    _roles(NEW_ROLES)
    op.create_table(
        "console_login_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_console_login_codes_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_login_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_console_login_codes_code_hash")),
    )
    op.create_index(
        op.f("ix_console_login_codes_account_id"), "console_login_codes", ["account_id"]
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_console_sessions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_sessions_token_hash")),
    )
    op.create_index(op.f("ix_console_sessions_account_id"), "console_sessions", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_console_sessions_account_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index(op.f("ix_console_login_codes_account_id"), table_name="console_login_codes")
    op.drop_table("console_login_codes")
    op.execute(sa.text("DELETE FROM role_grants WHERE role IN ('operator', 'admin')"))
    _roles(OLD_ROLES)
