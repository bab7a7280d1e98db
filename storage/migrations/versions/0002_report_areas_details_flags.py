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

    _birth_answers_as_the_form_names_them()

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


def _birth_answers_as_the_form_names_them() -> None:
    """Birth reports and drafts saved by 0001's form: ``mother_id``/``mother_name`` become
    the form's ``mother`` answer (with its label) and the ``certificate`` photo the
    ``evidence`` list, so they can still be reviewed, applied and finished."""
    bind = op.get_bind()
    reports = sa.table(
        "reports", sa.column("id", sa.Integer), sa.column("kind", sa.String),
        sa.column("payload", sa.JSON),
    )  # fmt: skip
    for row in bind.execute(
        sa.select(reports.c.id, reports.c.payload).where(reports.c.kind == "birth")
    ):
        payload = dict(row.payload or {})
        if "mother_id" not in payload:
            continue
        mother = str(payload.pop("mother_id"))
        name = payload.pop("mother_name", None)
        payload["mother"] = mother
        if name:
            payload["_labels"] = {"mother": {mother: name}}
        bind.execute(reports.update().where(reports.c.id == row.id).values(payload=payload))
    op.execute("UPDATE attachments SET field = 'evidence' WHERE field = 'certificate'")
    drafts = sa.table(
        "drafts", sa.column("id", sa.Integer), sa.column("flow", sa.String),
        sa.column("step", sa.String), sa.column("answers", sa.JSON),
    )  # fmt: skip
    stmt = sa.select(drafts.c.id, drafts.c.step, drafts.c.answers).where(drafts.c.flow == "birth")
    for row in bind.execute(stmt):
        answers = dict(row.answers or {})
        certificate = answers.pop("certificate", None)
        if certificate:
            answers["evidence"] = [certificate]
        elif "certificate" in (row.answers or {}):
            answers["evidence"] = None
        step = "evidence" if row.step == "certificate" else row.step
        bind.execute(
            drafts.update().where(drafts.c.id == row.id).values(answers=answers, step=step)
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
