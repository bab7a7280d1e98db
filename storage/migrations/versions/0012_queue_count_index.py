"""the reporter in the area index of reports: a queue's count from the index alone

A reviewer's queue is counted with ``state = X AND <area> AND (reporter_account_id IS
NULL OR reporter_account_id != me)`` (``registry.queues.waiting_clause``: nobody decides
their own report). ``ix_reports_state_area`` (state, region_code, rw, rt) found the rows
but the reporter was in the table only: an officer of a city at 1,000,000 reports read
about 970 table pages to count 439 reports (every report waiting for an officer in the
province, ``region_code LIKE '16.71.%'`` filtered one by one). With the reporter as a
fifth column the count is an index-only scan (about 30 pages); every query the old index
served is served by its prefix. Building it locks writes to reports for a few seconds on
a million rows (6 s here); the new index is built before the old one is dropped.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AREA = ["state", "region_code", "rw", "rt"]


def upgrade() -> None:
    op.create_index("ix_reports_waiting", "reports", [*AREA, "reporter_account_id"])
    op.drop_index("ix_reports_state_area", table_name="reports")


def downgrade() -> None:
    op.create_index("ix_reports_state_area", "reports", AREA)
    op.drop_index("ix_reports_waiting", table_name="reports")
