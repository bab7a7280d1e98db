"""indexes for the review queues and /status: (state, id) and (reporter, id) on reports

A reviewer's queue and /status read the oldest reports waiting in a state, or a
reporter's newest ones, ORDER BY id LIMIT n. With 1,000,000 reports in PostgreSQL an
officer's queue (``region_code LIKE '16.71.%'``, which a plain index cannot serve under
a non-C collation) was planned as a walk along the primary key, filtering every report
filed since the first one: waiting reports are recent, so nearly the whole table was
read (benchmarks/review_queue.py). (state, id) reads a state's reports in id order;
(reporter_account_id, id) replaces the index on reporter_account_id alone and gives a
reporter's newest reports directly. Building them locks writes to reports for a few
seconds on a million rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reports_state_id", "reports", ["state", "id"])
    op.create_index("ix_reports_reporter_id", "reports", ["reporter_account_id", "id"])
    op.drop_index("ix_reports_reporter_account_id", table_name="reports")


def downgrade() -> None:
    op.create_index("ix_reports_reporter_account_id", "reports", ["reporter_account_id"])
    op.drop_index("ix_reports_reporter_id", table_name="reports")
    op.drop_index("ix_reports_state_id", table_name="reports")
