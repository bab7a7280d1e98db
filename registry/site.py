"""What a deployment says about itself to residents: who controls the data (named in
the consent text) and whom to contact at the desa/kelurahan (in /bantuan).

The office contacts are a TOML file (``OFFICE_CONTACTS_FILE``), one table per region
code; a person gets the contact of the most precise region above their household
(their desa/kelurahan, else its kecamatan, else its kabupaten/kota)::

    [regions."16.71.01.1001"]
    name = "Kantor Kelurahan 35 Ilir"
    phone = "0711-123456"
    address = "Jl. Merdeka No. 1"
    hours = "Senin-Jumat 08.00-15.00"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.errors import ConfigError
from registry.textfile import read_config

MAX_FIELD = 120  # characters of one field of a contact (it goes into a 500-character message)
FIELDS = ("name", "phone", "address", "hours")
_CODE = re.compile(r"\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?")
DEFAULT_CONTROLLER = "Dinas Sosial"


@dataclass(frozen=True)
class OfficeContact:
    name: str
    phone: str | None = None
    address: str | None = None
    hours: str | None = None


@dataclass(frozen=True)
class Site:
    data_controller: str = DEFAULT_CONTROLLER
    offices: dict[str, OfficeContact] = field(default_factory=dict)

    def office_for(self, region_code: str | None) -> OfficeContact | None:
        """The contact of ``region_code`` or of the nearest region above it."""
        code = region_code or ""
        while code:
            if code in self.offices:
                return self.offices[code]
            code = code.rpartition(".")[0]
        return None


def parse_offices(data: dict[str, Any]) -> dict[str, OfficeContact]:
    if set(data) - {"regions"}:
        raise ConfigError(
            f'unknown section [{sorted(set(data) - {"regions"})[0]}] (use [regions."CODE"])'
        )
    regions = data.get("regions", {})
    if not isinstance(regions, dict):
        raise ConfigError("[regions] must be a table")
    offices = {}
    for code, entry in regions.items():
        if not _CODE.fullmatch(code):
            raise ConfigError(f"regions.{code}: not a region code (e.g. 16.71.01.1001)")
        if not isinstance(entry, dict):
            raise ConfigError(f"regions.{code}: must be a table")
        unknown = sorted(set(entry) - set(FIELDS))
        if unknown:
            raise ConfigError(
                f"regions.{code}.{unknown[0]}: unknown field (use {', '.join(FIELDS)})"
            )
        for key, value in entry.items():
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_FIELD:
                raise ConfigError(
                    f"regions.{code}.{key}: must be text of 1 to {MAX_FIELD} characters"
                )
        if "name" not in entry:
            raise ConfigError(f"regions.{code}: 'name' is missing")
        offices[code] = OfficeContact(**{k: v.strip() for k, v in entry.items()})
    return offices


def load_offices(path: Path) -> dict[str, OfficeContact]:
    """Read and check the office contacts file; ConfigError names the file and the key."""
    return read_config(path, parse_offices)


DEFAULT_SITE = Site()
