"""The review workflow's configuration (a TOML file): tiers per report type, SLA days.

See ``registry/workflow.toml`` (bundled, the default) for the format."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from registry.errors import ConfigError
from registry.textfile import read_config

BUNDLED_WORKFLOW = Path(__file__).resolve().parent / "workflow.toml"
TIERS = ("rt", "kelurahan", "officer")
FINAL_TIER = "officer"
# Report types split by one of their answers: the type key is "<kind>.<answer>".
VARIANT_ANSWER = {"dispute": "subject", "aid_proposal": "whose"}


@dataclass(frozen=True)
class Policy:
    default_tiers: tuple[str, ...] = TIERS
    skip_own_tier: bool = True
    sla: dict[str, timedelta] = field(default_factory=dict)
    remind_every: timedelta = timedelta(days=1)
    types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # A newborn's mother is at least this many years older than the baby (MOTHER_MIN_AGE).
    mother_min_age: int = 10

    def type_key(self, kind: str, payload: dict[str, Any]) -> str:
        answer = VARIANT_ANSWER.get(kind)
        if answer and payload.get(answer):
            return f"{kind}.{payload[answer]}"
        return kind

    def tiers_for(self, kind: str, payload: dict[str, Any]) -> tuple[str, ...]:
        key = self.type_key(kind, payload)
        return self.types.get(key) or self.types.get(kind) or self.default_tiers

    def sla_for(self, tier: str) -> timedelta | None:
        return self.sla.get(tier)


def _tiers(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
        raise ConfigError(f"{where}: tiers must be a non-empty list of tier names")
    unknown = [t for t in value if t not in TIERS]
    if unknown:
        raise ConfigError(f"{where}: unknown tier {unknown[0]!r} (use {', '.join(TIERS)})")
    if [t for t in TIERS if t in value] != value or len(set(value)) != len(value):
        raise ConfigError(f"{where}: tiers must be in the order {', '.join(TIERS)}, each once")
    if value[-1] != FINAL_TIER:
        raise ConfigError(f"{where}: the last tier must be {FINAL_TIER!r}")
    return tuple(value)


MAX_DAYS = 3650


def _days(value: Any, where: str) -> timedelta:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_DAYS
    ):
        raise ConfigError(f"{where}: must be a number of days above 0 and at most {MAX_DAYS}")
    return timedelta(days=value)


def _table(data: dict[str, Any], name: str, keys: set[str] | None) -> dict[str, Any]:
    """Section ``name`` (a table; empty when absent), with only ``keys`` if given."""
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"[{name}] must be a table")
    if keys is not None:
        unknown = sorted(set(section) - keys)
        if unknown:
            raise ConfigError(
                f"{name}.{unknown[0]}: unknown setting (use {', '.join(sorted(keys))})"
            )
    return section


def parse_policy(data: dict[str, Any], known_kinds: set[str]) -> Policy:
    known = {"defaults", "sla_days", "reminders", "types"}
    for key in data:
        if key not in known:
            raise ConfigError(f"unknown section [{key}]")
    defaults = _table(data, "defaults", {"tiers", "skip_own_tier"})
    tiers = _tiers(defaults.get("tiers", list(TIERS)), "defaults.tiers")
    skip = defaults.get("skip_own_tier", True)
    if not isinstance(skip, bool):
        raise ConfigError("defaults.skip_own_tier: must be true or false")
    sla = {}
    for tier, days in _table(data, "sla_days", None).items():
        if tier not in TIERS:
            raise ConfigError(f"sla_days.{tier}: unknown tier (use {', '.join(TIERS)})")
        sla[tier] = _days(days, f"sla_days.{tier}")
    reminders = _table(data, "reminders", {"every_days"})
    remind = _days(reminders.get("every_days", 1), "reminders.every_days")
    types = {}
    for key, section in _table(data, "types", None).items():
        kind = key.partition(".")[0]
        if kind not in known_kinds:
            raise ConfigError(f"types.{key}: unknown report type {kind!r}")
        if "." in key and kind not in VARIANT_ANSWER:
            raise ConfigError(f"types.{key}: report type {kind!r} has no variants")
        if not isinstance(section, dict) or set(section) - {"tiers"}:
            raise ConfigError(f"types.{key}: only 'tiers' can be set")
        types[key] = _tiers(section.get("tiers"), f"types.{key}.tiers")
    return Policy(tiers, skip, sla, remind, types)


def load_policy(path: Path | None = None) -> Policy:
    """Read and check the workflow file; ConfigError names the file and the key."""
    from registry.kinds import KINDS  # the report types import the policy's users

    return read_config(path or BUNDLED_WORKFLOW, lambda data: parse_policy(data, set(KINDS)))


DEFAULT_POLICY = load_policy()
