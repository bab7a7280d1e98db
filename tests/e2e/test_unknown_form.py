"""A draft naming a form this version of the bot lacks is kept and explained, never deleted."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from storage.models import Draft
from tests.helpers.walk import SARI_ID, seed


async def test_a_draft_of_a_retired_form_is_kept_and_the_person_told(
    running, fake_api, caplog
) -> None:
    people = await seed(running, fake_api)
    sari = people[SARI_ID]
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.expect("What do you want to report?"))
    await sari.expect("baby's full name")
    await sari.send_text("Putri Ayu")
    await sari.expect("boy or a girl")
    # An update renamed the form while the draft waited.
    async with running.session() as session:
        await session.execute(update(Draft).values(flow="retired_form"))
        await session.commit()

    with caplog.at_level(logging.ERROR, logger="flows.engine"):
        await sari.send_text("Perempuan")
        told = await sari.expect("cannot be continued after an update")
        assert "/batal" in told.plain_text
        await sari.send_text("/lanjut")
        await sari.expect("cannot be continued after an update")
    assert any("retired_form" in r.getMessage() for r in caplog.records)
    async with running.session() as session:
        (draft,) = (await session.execute(select(Draft))).scalars().all()
        assert draft.flow == "retired_form"
        assert draft.answers["name"] == "PUTRI AYU"  # nothing lost

    await sari.send_text("/batal")
    await sari.expect("Cancelled. Nothing was sent.")
    await sari.send_text("/lapor")
    await sari.press("Birth", await sari.expect("What do you want to report?"))
    await sari.expect("baby's full name")
