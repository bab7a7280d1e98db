"""One open form at a time, and nothing thrown away without asking: starting a report
while another form is open asks whether to drop it; a button of a dropped form never
answers the next one (a death form's "Dewi Lestari" once chose the dispute form's third
subject: both buttons were ``f:1:v:2``)."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Draft
from testkit.factories import SARI
from tests.helpers.chat import RT_ID, linked_sari, open_bot, seed

EXPIRED = "This button has expired."


async def _draft(running) -> Draft | None:
    async with running.session() as session:
        return (await session.execute(select(Draft))).scalar_one_or_none()


async def test_a_button_of_a_dropped_form_never_answers_the_next(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    await sari.send_text("/lapor")
    await sari.press("Death", await sari.expect("What do you want to report?"))
    who = await sari.expect("Who has died?")
    death = await _draft(running_bot)

    await sari.send_text("/lapor")
    await sari.press("Dispute", await sari.expect("What do you want to report?"))
    ask = await sari.expect("You have an unfinished form “Death”. Drop it and start “Dispute”?")
    assert ask.buttons() == ["🗑 Drop it and start “Dispute”", "↩️ Continue “Death”"]
    await sari.press("🗑 Drop it and start “Dispute”", ask)
    subject = await sari.expect("What do you dispute?")
    dispute = await _draft(running_bot)
    assert dispute.flow == "dispute" and (dispute.rev, death.rev) == (1, 1)  # the same revision

    await sari.press("Dewi Lestari", who)  # the death form's button, still on its message
    assert (await sari.wait_callback_answer())["text"] == EXPIRED
    await sari.expect_no_message(within=0.5)
    now = await _draft(running_bot)
    assert (now.id, now.flow, now.step, now.answers) == (dispute.id, "dispute", "subject", {})
    # The dispute form's own buttons work.
    await sari.press("Another household should not receive aid", subject)
    await sari.expect("Which programmes?")


async def test_an_old_menu_button_asks_before_dropping_the_open_form(
    running_bot, fake_api, tmp_path
) -> None:
    sari = await linked_sari(running_bot, fake_api, tmp_path)
    await sari.send_text("/lapor")
    old_menu = await sari.expect("What do you want to report?")
    await sari.press("Birth", old_menu)
    await sari.expect("baby's full name")
    await sari.send_text("Raka Pratama")
    await sari.expect("boy or a girl")

    await sari.press("Death", old_menu)  # the menu of before, in the middle of the form
    ask = await sari.expect("You have an unfinished form “Birth”. Drop it and start “Death”?")
    await sari.press("↩️ Continue “Birth”", ask)
    await sari.expect("boy or a girl")
    await sari.send_text("/lanjut")
    await sari.expect("boy or a girl")
    kept = await _draft(running_bot)
    assert (kept.flow, kept.answers["name"]) == ("birth", "RAKA PRATAMA")

    await sari.press("🗑 Drop it and start “Death”", ask)  # changed their mind: still valid
    await sari.expect("Who has died?")
    assert (await _draft(running_bot)).flow == "death"
    # A second tap on Drop would drop the death form just started: it has expired.
    await sari.press("🗑 Drop it and start “Death”", ask)
    assert (await sari.wait_callback_answer())["text"] == EXPIRED
    assert (await _draft(running_bot)).flow == "death"
    await sari.send_text("/lanjut")
    await sari.expect("Who has died?")


async def test_the_rt_heads_path_asks_too_and_keeps_the_household(
    running_bot, fake_api, tmp_path
) -> None:
    await seed(running_bot, tmp_path)
    rt = fake_api.user(RT_ID, "Pak RT", language_code="en")
    await open_bot(rt)
    await rt.send_text("/lapor")
    await rt.press("📝 For a resident without a phone", await rt.expect("What do you want"))
    await rt.expect("or the 16-digit KK number")
    await rt.send_text(SARI.kk)
    reports = await rt.expect("What do you want to report for this household?")
    await rt.press("Death", reports)
    await rt.expect("Who has died?")

    await rt.press("Birth", reports)
    ask = await rt.expect("unfinished form “Death”. Drop it and start “Birth”?")
    await rt.press("🗑 Drop it and start “Birth”", ask)
    name = await rt.expect("baby's full name")
    assert "KK 167101**********" in name.plain_text  # still for Sari's household
    draft = await _draft(running_bot)
    assert draft.flow == "birth" and draft.context["on_behalf"]

    await rt.send_text("/lapor")
    await rt.press("📝 For a resident without a phone", await rt.expect("What do you want"))
    await rt.expect("unfinished form “Birth”. Drop it and start “Report for a resident")
