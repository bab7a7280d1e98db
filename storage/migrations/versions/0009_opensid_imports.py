"""imports from a village's own system: registry_imports, revisions' import_id, status gone

``registry_imports`` records each import of a village's population from an OpenSID
workbook, or of a SIKS-NG desil list; ``registry_revisions.import_id`` names the import a revision came from (a
revision has a report, an import, or neither for rows of the first CSV import). A
member's ``status`` may be ``gone``: no longer in the village's own data, without a
known death or move.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "status IN ('alive', 'deceased', 'moved'{gone})"


def upgrade() -> None:
    op.create_table(
        "registry_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_registry_imports_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_imports")),
    )
    with op.batch_alter_table("registry_revisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_registry_revisions_import_id_registry_imports"),
            "registry_imports",
            ["import_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_registry_revisions_import_id"), ["import_id"], unique=False
        )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_members_status_code"), type_="check")
        batch_op.create_check_constraint("status_code", _STATUSES.format(gone=", 'gone'"))


def downgrade() -> None:
    op.execute("UPDATE members SET status = 'moved' WHERE status = 'gone'")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_members_status_code"), type_="check")
        batch_op.create_check_constraint("status_code", _STATUSES.format(gone=""))
    with op.batch_alter_table("registry_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_revisions_import_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_registry_revisions_import_id_registry_imports"), type_="foreignkey"
        )
        batch_op.drop_column("import_id")
    op.drop_table("registry_imports")
