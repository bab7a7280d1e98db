"""SQLAlchemy 2 models of the registry, accounts, reports and conversations.

Timestamps are naive UTC (``utcnow``) on every backend.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    orm,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class Region(Base):
    """Kemendagri region: provinsi (level 1) down to desa/kelurahan (level 4)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(String(13), index=True)


class Household(Base):
    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint("desil IS NULL OR (desil BETWEEN 1 AND 10)", name="desil_range"),
        Index("ix_households_area", "region_code", "rw", "rt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kk: Mapped[str | None] = mapped_column(String(16), unique=True)  # unknown for some new ones
    address: Mapped[str] = mapped_column(String(500))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    rw: Mapped[int] = mapped_column(SmallInteger)
    rt: Mapped[int] = mapped_column(SmallInteger)
    desil: Mapped[int | None] = mapped_column(SmallInteger)
    # Housing (floor, wall, roof, water, ..., assets) and location, keyed as in registry.attributes.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    region: Mapped[Region] = relationship(lazy="joined")
    members: Mapped[list[Member]] = relationship(
        back_populates="household", order_by="Member.id", lazy="selectin"
    )


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("sex IN ('M', 'F')", name="sex_code"),
        # gone: no longer in the village's own data (absent from, or not living in, a
        # re-imported OpenSID file), without a known death or move (migration 0009).
        CheckConstraint("status IN ('alive', 'deceased', 'moved', 'gone')", name="status_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    nik: Mapped[str | None] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    relationship: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="alive")
    # Education, work, disability, illness, marital status, death/move facts (registry.attributes).
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    # ``relationship`` is a column here, so the ORM function is spelled in full.
    household: Mapped[Household] = orm.relationship(back_populates="members")


class Account(Base):
    """A Telegram user of the bot: resident, reviewer or both."""

    __tablename__ = "accounts"
    # One Telegram account per member (an account not linked has no member).
    __table_args__ = (Index("ux_accounts_member_id", "member_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(5))
    phone: Mapped[str | None] = mapped_column(String(32))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    linked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When the person agreed to the consent text; nothing of theirs is stored before that,
    # except an account a reviewer role was granted to from the command line.
    consented_at: Mapped[datetime | None] = mapped_column(DateTime)
    # /hapusakun: the row stays as a tombstone (decisions and the audit log refer to it),
    # with every personal field emptied and ``telegram_id`` set to ``-id``.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The "/" command menu its chat was given (``id:resident``, ``en:officer``...; None:
    # the bot's default menu): flows/menus.py sets a new one when role or language change.
    command_menu: Mapped[str | None] = mapped_column(String(16))

    roles: Mapped[list[RoleGrant]] = relationship(
        back_populates="account",
        lazy="selectin",
        primaryjoin="and_(RoleGrant.account_id == Account.id, RoleGrant.revoked_at.is_(None))",
        viewonly=True,
    )


class RoleGrant(Base):
    __tablename__ = "role_grants"
    __table_args__ = (
        CheckConstraint(
            "role IN ('rt', 'rw', 'lurah', 'officer', 'operator', 'admin')", name="role_code"
        ),
        Index("ix_role_grants_scope", "role", "region_code", "rw", "rt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    rw: Mapped[int | None] = mapped_column(SmallInteger)
    rt: Mapped[int | None] = mapped_column(SmallInteger)
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    account: Mapped[Account] = relationship(back_populates="roles")


class LinkAttempt(Base):
    """A failed try to link an account by NIK + KK; five within an hour lock linking."""

    __tablename__ = "link_attempts"
    __table_args__ = (Index("ix_link_attempts_account_time", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Invite(Base):
    """A single-use invitation to a reviewer role; only the SHA-256 of its code is stored."""

    __tablename__ = "invites"
    __table_args__ = (
        CheckConstraint("role IN ('rt', 'rw', 'lurah', 'officer')", name="role_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    rw: Mapped[int | None] = mapped_column(SmallInteger)
    rt: Mapped[int | None] = mapped_column(SmallInteger)
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    used_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))


class AuditEntry(Base):
    """Who did what to which report or account: decisions, views of a report's personal
    data, data requests, deletions, role changes. ``details`` never holds a NIK, KK,
    phone number or message text."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    actor: Mapped[str] = mapped_column(String(64))  # "account", "cli", "system"
    action: Mapped[str] = mapped_column(String(32))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    subject_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Draft(Base):
    """The one open conversation of an account: a form being filled in."""

    __tablename__ = "drafts"
    # Ids are never reused (SQLite would reuse the highest after a delete): a form's
    # buttons carry its draft's id, so a button of a dropped form answers no newer one.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rev: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)


class Report(Base):
    """A reported change. ``household_id`` is the household it is about (none yet for a
    household missing from the registry); region/RW/RT is where it is reviewed."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_state_household", "state", "household_id"),
        # A reviewer's queue: its state in an area, not their own reports. The reporter
        # makes counting the queue an index-only scan (migration 0012).
        Index("ix_reports_waiting", "state", "region_code", "rw", "rt", "reporter_account_id"),
        # Queues and /status read the oldest or newest reports of a state or a reporter
        # (ORDER BY id LIMIT n): these keep that to the rows asked for (migration 0006).
        Index("ix_reports_state_id", "state", "id"),
        Index("ix_reports_reporter_id", "reporter_account_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    rw: Mapped[int] = mapped_column(SmallInteger)
    rt: Mapped[int] = mapped_column(SmallInteger)
    reporter_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    # An RT head filed it for a resident of their RT who has no phone: ``reporter`` is the
    # RT head (who follows it up), ``household_id`` the resident's household.
    filed_on_behalf: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The tiers that review this report, in order ("rt", "kelurahan", "officer"); fixed at
    # submission from the workflow configuration, so a later change applies to new reports.
    tiers: Mapped[list[Any]] = mapped_column(default=list)
    tier_since: Mapped[datetime | None] = mapped_column(DateTime)  # entered its current state
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)  # last reminder at this tier
    paused_state: Mapped[str | None] = mapped_column(String(32))  # the tier waiting for info

    household: Mapped[Household | None] = relationship(lazy="joined")
    reporter: Mapped[Account | None] = relationship(lazy="joined")
    events: Mapped[list[ReportEvent]] = relationship(order_by="ReportEvent.id", lazy="selectin")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ReportEvent(Base):
    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(String(32))  # of a rejection
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReportLink(Base):
    """Two reports about the same thing: ``duplicate`` (the same change reported twice) or
    ``conflict`` (changes that cannot both be true, e.g. a death and a move of one person).
    ``report_id`` is the newer report."""

    __tablename__ = "report_links"
    __table_args__ = (
        CheckConstraint("relation IN ('duplicate', 'conflict')", name="relation_code"),
        Index("ix_report_links_pair", "report_id", "other_report_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    other_report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    relation: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[str] = mapped_column(String(255))
    file_unique_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RegistryImport(Base):
    """One import of data from the systems villages and Kemensos run (a village's OpenSID
    workbook, a SIKS-NG desil list): the source of the revisions it wrote (migration 0009)."""

    __tablename__ = "registry_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # "opensid", "siks-ng" (desil)
    file_name: Mapped[str] = mapped_column(String(255))  # the name only, not the path
    # The village an OpenSID file is of; none for a desil list (any villages).
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RegistryRevision(Base):
    """One applied change to a household: before/after, and its source: the report and
    who approved it, or the import (``import_id``) that brought the village's own data."""

    __tablename__ = "registry_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    approved_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("registry_imports.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class HouseholdFlag(Base):
    """A dispute recorded for the officer's desil review (the registry rows stay as they are).

    ``household_id`` is empty when the disputed household could not be identified; the
    report then describes it in words."""

    __tablename__ = "household_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    kind: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class Broadcast(Base):
    """An announcement to every linked resident of a region, delivered through the outbox."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    text: Mapped[str] = mapped_column(Text)
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    notify_chat_id: Mapped[int | None] = mapped_column(BigInteger)  # who gets the summary
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class OutboxMessage(Base):
    """A message to send, written in the transaction of the change that caused it.

    ``status``: pending -> sent | undeliverable (the user blocked the bot, or the chat is
    gone) | failed (gave up after retries). A sender claims due rows by setting
    ``claimed_until``; a claim that outlives its process expires and the row is retried."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sent', 'undeliverable', 'failed')", name="status_code"
        ),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat_order", "chat_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[dict[str, Any]] = mapped_column()
    purpose: Mapped[str] = mapped_column(String(16))  # review, status, reminder, broadcast, ...
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"), index=True)
    # The report the message is about (a card, a status update): how deleting its
    # reporter's account finds the message in reviewers' chats (migration 0007).
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class ProcessedUpdate(Base):
    """A Telegram update whose work was committed, written in that same transaction.

    Telegram delivers an update again when the bot answered slowly or not at all (a
    webhook timeout, a crash after the commit); the second delivery finds its id here
    and is acknowledged without being processed twice. Rows older than Telegram keeps
    updates (24 hours) are pruned by the draft sweep."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class ConsoleLoginCode(Base):
    """A one-time sign-in link to the web console (``/masuk``): valid 10 minutes, used
    once; only the SHA-256 of its code is stored."""

    __tablename__ = "console_login_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class ConsoleSession(Base):
    """A signed-in browser of the web console. The cookie holds a random token; only its
    SHA-256 is stored. Ends on logout, on revocation, after 30 idle minutes or 12 hours."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # "link" or "widget"
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
