"""report areas, member/household details, household flags, draft reminders

Reports get the area (region, RW, RT) they are reviewed in, so a household missing
from the registry can be reported; their household becomes optional. Members and
households get a JSON ``details`` column for the attributes residents report
(education, work, housing...). Households may lack a KK number (a new household
whose KK is not issued yet). Disputes are recorded as household flags.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.alter_column("kk", existing_type=sa.String(length=16), nullable=True)
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_code", sa.String(length=13), nullable=True))
        batch_op.add_column(sa.Column("rw", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("rt", sa.SmallInteger(), nullable=True))
    for column in ("region_code", "rw", "rt"):
        op.execute(
            f"UPDATE reports SET {column} = "
            f"(SELECT households.{column} FROM households WHERE households.id = reports.household_id)"
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column("region_code", existing_type=sa.String(length=13), nullable=False)
        batch_op.alter_column("rw", existing_type=sa.SmallInteger(), nullable=False)
        batch_op.alter_column("rt", existing_type=sa.SmallInteger(), nullable=False)
        batch_op.alter_column("household_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_reports_region_code_regions"), "regions", ["region_code"], ["code"]
        )
        batch_op.create_index(
            "ix_reports_state_area", ["state", "region_code", "rw", "rt"], unique=False
        )

    op.create_table(
        "household_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"],
            name=op.f("fk_household_flags_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_household_flags_region_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_household_flags_report_id_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_flags")),
    )  # fmt: skip
    with op.batch_alter_table("household_flags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_flags_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_household_flags_report_id"), ["report_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("household_flags")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_state_area")
        batch_op.drop_constraint(batch_op.f("fk_reports_region_code_regions"), type_="foreignkey")
        batch_op.drop_column("rt")
        batch_op.drop_column("rw")
        batch_op.drop_column("region_code")
        batch_op.alter_column("household_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("details")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.alter_column("kk", existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_column("details")
