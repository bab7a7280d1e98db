"""The deployment's own words (DATA_CONTROLLER, OFFICE_CONTACTS_FILE), time zones by
province, the usulan's workflow variants."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.settings import SettingsError, load_settings
from locales import WIB, WIT, WITA, format_local, use_locale, use_zone
from registry.errors import ConfigError
from registry.kinds import KINDS
from registry.policy import parse_policy
from registry.regions import zone_of
from registry.site import OfficeContact, Site, parse_offices


def test_office_contacts_are_found_for_the_nearest_region_above() -> None:
    offices = parse_offices(
        {"regions": {
            "16.71.01.1001": {"name": "Kantor Kelurahan 35 Ilir", "phone": "0711-350035"},
            "16.71": {"name": "Dinas Sosial Kota Palembang"},
        }}
    )  # fmt: skip
    site = Site("Dinas Sosial Kota Palembang", offices)
    assert site.office_for("16.71.01.1001") == OfficeContact(
        "Kantor Kelurahan 35 Ilir", phone="0711-350035"
    )
    assert site.office_for("16.71.02.1005").name == "Dinas Sosial Kota Palembang"
    assert site.office_for("51.71.01.1001") is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"kantor": {}}, "unknown section [kantor]"),
        ({"regions": {"16.7": {"name": "x"}}}, "regions.16.7: not a region code"),
        ({"regions": {"16.71": {"phone": "1"}}}, "regions.16.71: 'name' is missing"),
        ({"regions": {"16.71": {"name": "x", "fax": "1"}}}, "regions.16.71.fax: unknown field"),
        ({"regions": {"16.71": {"name": "x" * 121}}}, "regions.16.71.name: must be text"),
    ],
)
def test_a_wrong_contacts_file_names_the_key(data, error) -> None:
    with pytest.raises(ConfigError, match=error.replace("[", r"\[").replace(".", r"\.")):
        parse_offices(data)


def test_the_settings_read_the_contacts_file_and_the_controller(tmp_path) -> None:
    path = tmp_path / "kantor.toml"
    path.write_text('[regions."16.71"]\nname = "Dinas Sosial Kota Palembang"\n', encoding="utf-8")
    settings = load_settings(office_contacts_file=path, data_controller="  Dinas  Sosial  ")
    site = settings.site()
    assert site.data_controller == "Dinas Sosial"
    assert site.office_for("16.71.01.1001").name == "Dinas Sosial Kota Palembang"
    path.write_text('[regions."16.71"]\nphone = "1"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"OFFICE_CONTACTS_FILE: .*'name' is missing"):
        load_settings(office_contacts_file=path).site()
    with pytest.raises(SettingsError, match=r"OFFICE_CONTACTS_FILE: .*no such file"):
        load_settings(office_contacts_file=tmp_path / "missing.toml")
    with pytest.raises(SettingsError, match="DATA_CONTROLLER"):
        load_settings(data_controller="x" * 61)


@pytest.mark.parametrize(
    ("code", "zone"),
    [("16.71.01.1001", WIB), ("31.71", WIB), ("61", WIB), ("51.71.01.1001", WITA),
     ("64.72", WITA), ("73", WITA), ("81.71", WIT), ("94.01", WIT), (None, WIB)],
)  # fmt: skip
def test_the_zone_comes_from_the_province_code(code, zone) -> None:
    assert zone_of(code) is zone


def test_times_are_shown_in_the_current_zone() -> None:
    noon_utc = datetime(2026, 12, 3, 5, 0)
    with use_locale("id"), use_zone(WIT):
        assert format_local(noon_utc) == "3 Des 2026 14.00 WIT"
    with use_locale("id"):
        assert format_local(noon_utc).endswith("12.00 WIB")


def test_an_aid_proposal_has_a_variant_per_family() -> None:
    policy = parse_policy(
        {"types": {"aid_proposal.neighbour": {"tiers": ["kelurahan", "officer"]}}}, set(KINDS)
    )
    assert policy.tiers_for("aid_proposal", {"whose": "neighbour"}) == ("kelurahan", "officer")
    assert policy.tiers_for("aid_proposal", {"whose": "own"}) == ("rt", "kelurahan", "officer")


def test_a_reviewers_digest_dates_the_oldest_report_in_its_regions_zone() -> None:
    from flows.sla import _digest
    from storage.models import Account, Report

    late = datetime(2026, 12, 3, 16, 30)  # 23.30 WIB on the 3rd, 00.30 WITA on the 4th
    reviewer = Account(telegram_id=7301, locale="en")

    def digest(region: str) -> str:
        report = Report(id=1, number="LW-2026-000001", kind="birth", region_code=region,
                        tier_since=late, created_at=late)  # fmt: skip
        return _digest(reviewer, [report]).text

    assert "the oldest since December 4, 2026" in digest("51.71.01.1001")
    assert "the oldest since December 3, 2026" in digest("16.71.01.1001")
