"""The sandbox page's server side: rendering chat text and refusing bad requests."""

from __future__ import annotations

from datetime import datetime

import aiohttp
import pytest

from bot.sandbox.app import Sandbox, entities_to_html, revision_text
from bot.sandbox.demo import DEMO_HOUSEHOLDS
from locales import _, use_locale
from registry.households import household_by_kk
from storage.models import RegistryRevision
from tests.driver import driven


def test_entities_become_tags_and_text_is_escaped() -> None:
    text = "📥 Bayi <b>&\nNama: Putri"
    # 📥 is two UTF-16 units: "Bayi" starts at offset 3.
    entities = [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "code", "offset": 19, "length": 5},
    ]
    assert (
        entities_to_html(text, entities)
        == "📥 <b>Bayi</b> &lt;b&gt;&amp;<br>Nama: <code>Putri</code>"
    )


def test_nested_entities_close_in_order() -> None:
    html = entities_to_html(
        "abcdef",
        [{"type": "bold", "offset": 0, "length": 6}, {"type": "italic", "offset": 2, "length": 2}],
    )
    assert html == "<b>ab<i>cd</i>ef</b>"
    assert (
        entities_to_html(
            "x", [{"type": "text_link", "offset": 0, "length": 1, "url": "javascript:alert(1)"}]
        )
        == "x"
    )


@pytest.fixture
async def sandbox():
    box = Sandbox(port=0, locale="en")
    await box.start()
    yield box
    await box.stop()


async def test_page_and_api_refuse_what_they_cannot_do(sandbox) -> None:
    async with aiohttp.ClientSession(sandbox.url) as http:
        async with http.get("/?lang=id") as response:
            assert response.status == 200
            assert "<title>Sandbox Lapor Warga</title>" in await response.text()
        async with http.post("/api/phone/nobody/text", json={"text": "hi"}) as response:
            assert response.status == 404
        async with http.post("/api/phone/resident/text", json={"text": "   "}) as response:
            assert response.status == 400
        async with http.post(
            "/api/phone/resident/press", json={"message_id": 99, "text": "Nope"}
        ) as response:
            assert response.status == 409
            assert "no message" in (await response.json())["error"]
        async with http.post("/api/phone/resident/text", json={"text": "/start"}) as response:
            assert response.status == 200
        resident = driven(sandbox.phones["resident"])
        consent = await resident.next_message()
        # The page was opened in Indonesian, so the phones report Telegram language "id"
        # and the newcomer's consent text is in Indonesian.
        assert "/datasaya" in consent.plain_text
        with use_locale("id"):
            agree_label = _("✅ I agree")
        async with http.get("/api/state") as response:
            state = await response.json()
        messages = state["phones"]["resident"]["messages"]
        assert [m["mine"] for m in messages] == [True, False]
        assert messages[1]["buttons"][0] == [agree_label]
        assert messages[1]["buttons"][-1] == ["🇬🇧 English"]
        # The demo's reviewers agreed before: their buttons work at once.
        async with http.post("/api/phone/rt/text", json={"text": "/antrian"}) as response:
            assert response.status == 200
        assert "/datasaya" not in (await driven(sandbox.phones["rt"]).next_message()).plain_text
        assert state["registry"]["kk"] == "167101**********"
        async with http.get("/api/file/unknown") as response:
            assert response.status == 404


async def test_a_phone_sends_a_voice_note_and_the_page_can_play_it(sandbox) -> None:
    async with aiohttp.ClientSession(sandbox.url) as http:
        async with http.post("/api/phone/rt/voice", json={}) as response:
            assert response.status == 200
        rt = sandbox.phones["rt"]
        assert rt.user_messages[-1].voice["duration"] == 4
        await driven(rt).next_message()  # the bot's answer: no form asks for one
        async with http.get("/api/state") as response:
            state = await response.json()
        [sent, _answer] = state["phones"]["rt"]["messages"]
        assert sent["mine"] and sent["kind"] == "voice"
        async with http.get(sent["voice"]) as response:
            assert response.status == 200 and response.content_type == "audio/ogg"
            assert (await response.read()).startswith(b"OggS")


def test_revisions_are_labelled_by_what_they_changed() -> None:
    from storage.models import RegistryRevision

    budi = {"name": "Budi Santoso", "relationship": "head", "status": "alive", "household_id": 1}

    def label(action: str, before: dict | None, after: dict | None) -> str:
        with use_locale("id"):
            return revision_text(RegistryRevision(action=action, before=before, after=after))

    assert label("member_added", None, budi) == "Budi Santoso ditambahkan ke keluarga"
    assert label("member_deceased", budi, {**budi, "status": "deceased"}) == (
        "Budi Santoso meninggal dunia"
    )
    assert (
        label("member_moved_out", budi, {**budi, "status": "moved"}) == "Budi Santoso pindah keluar"
    )
    assert label("member_left", budi, None) == "Budi Santoso keluar dari keluarga"
    assert label("member_moved_in", budi, {**budi, "household_id": 2}) == (
        "Budi Santoso pindah masuk ke keluarga"
    )
    sari = {**budi, "name": "Sari Wulandari", "relationship": "spouse"}
    assert label("member_changed", sari, {**sari, "relationship": "head"}) == (
        "Sari Wulandari kini menjadi kepala keluarga"
    )
    assert label("member_corrected", budi, {**budi, "name": "Budi Santosa"}) == (
        "Nama Budi Santoso dibetulkan menjadi Budi Santosa"
    )
    assert label("member_changed", budi, {**budi, "details": {"occupation": "Guru"}}) == (
        "Data Budi Santoso diperbarui"
    )
    assert label("household_added", None, {"kk": "1"}) == "Keluarga ini dicatat"
    assert label("household_changed", {"details": {}}, {"details": {"roof": "tile"}}) == (
        "Data keluarga diperbarui"
    )


async def test_the_registry_panel_dates_changes_in_the_familys_zone(sandbox) -> None:
    """A change made at 07.30 UTC is shown at 14.30 WIB (Palembang), as the bot says
    times, not as the server's UTC."""
    async with sandbox.runner.session() as session:
        household = await household_by_kk(session, DEMO_HOUSEHOLDS[0].kk)
        session.add(
            RegistryRevision(household_id=household.id, action="household_changed",
                             before={}, after={}, created_at=datetime(2026, 1, 21, 7, 30))
        )  # fmt: skip
        await session.commit()
    async with aiohttp.ClientSession(sandbox.url) as http, http.get("/api/state") as response:
        [revision] = (await response.json())["registry"]["revisions"]
    assert "WIB" in revision["when"] and "2:30" in revision["when"], revision
