"""The web console over HTTP against the real database: sign-in, sessions, CSRF, area and
tier rules, decisions through the registry, evidence."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from fake_bot_api.media import make_png
from registry import workflow
from registry.accounts import grant_role
from registry.invites import revoke_grant
from storage import db
from storage.models import (
    AuditEntry,
    ConsoleLoginCode,
    ConsoleSession,
    OutboxMessage,
    Report,
    utcnow,
)
from testkit.factories import VILLAGE
from tests.helpers.console import (
    TOKEN,
    birth_report,
    client_for,
    csrf_of,
    login_code,
    make_console,
    sign_in,
    signed_in,
    widget_data,
)
from tests.helpers.world import account, registry_world

RT, RT_OTHER, LURAH, OFFICER, OPERATOR, NOBODY = 1, 2, 3, 4, 6, 7


@pytest.fixture
async def world(engine, tmp_path):
    maker = db.make_sessionmaker(engine)
    async with maker() as session:
        await registry_world(
            session, tmp_path, rt={RT: [(2, 3)], RT_OTHER: [(2, 5)]}, lurah=[LURAH],
            officers={OFFICER: "16.71"}, accounts=[NOBODY],
        )  # fmt: skip
        await grant_role(session, OPERATOR, "operator", VILLAGE)
        await session.commit()
        report = await birth_report(session)
    return maker, report.id


@pytest.fixture
async def client(world, tmp_path):
    maker, _report_id = world
    client = await client_for(make_console(maker, tmp_path))
    yield client
    await client.close()


async def _state(maker, report_id: int) -> str:
    async with maker() as session:
        return (await session.get(Report, report_id)).state


async def test_pages_carry_the_security_headers(client) -> None:
    for path in ("/login", "/"):
        response = await client.get(path, allow_redirects=False)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"


async def test_without_a_session_the_queue_sends_to_the_login_page(client) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert "/masuk" in await (await client.get("/login")).text()


async def test_a_login_link_works_once_and_sets_a_safe_cookie(client, world) -> None:
    maker, _ = world
    code = await login_code(maker, RT)
    page = await client.get(f"/login/{code}")
    nonce = page.cookies["lw_pre"].value
    response = await client.post(f"/login/{code}", data={"nonce": nonce}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.cookies["lw_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert "Antrian" in await (await client.get("/")).text()
    # The same link again, even in the same browser: refused.
    again = await sign_in(client, code)
    assert again.status == 403 and "/masuk" in await again.text()
    async with maker() as session:
        actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert "console.sign_in" in actions


async def test_an_expired_link_or_one_without_its_browser_nonce_is_refused(client, world) -> None:
    maker, _ = world
    code = await login_code(maker, RT)
    refused = await client.post(f"/login/{code}", data={"nonce": "guess"}, allow_redirects=False)
    assert refused.status == 403  # no sign-in form opened in this browser
    async with maker() as session:
        await session.execute(
            update(ConsoleLoginCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert (await sign_in(client, code)).status == 403
    assert (await sign_in(client, "not-a-code")).status == 403


async def test_https_cookie_is_secure_and_login_page_offers_the_widget(world, tmp_path) -> None:
    maker, _ = world
    client = await client_for(make_console(maker, tmp_path, public_url="https://konsol.example"))
    try:
        page = await client.get("/login")
        html = await page.text()
        assert 'data-auth-url="/login/telegram"' in html
        assert "https://telegram.org" in page.headers["Content-Security-Policy"]
        response = await client.get("/login/telegram", params=widget_data(OFFICER),
                                    allow_redirects=False)  # fmt: skip
        assert response.status == 303 and response.cookies["lw_session"]["secure"]
    finally:
        await client.close()


async def test_widget_data_forged_stale_or_without_role_is_403(client) -> None:
    ok = widget_data(OFFICER)
    assert (await client.get("/login/telegram", params=ok, allow_redirects=False)).status == 303
    forged = {**widget_data(OFFICER), "id": str(LURAH)}  # another id under the same hash
    assert (await client.get("/login/telegram", params=forged)).status == 403
    wrong_key = widget_data(OFFICER, token="999:another-bot")
    assert (await client.get("/login/telegram", params=wrong_key)).status == 403
    stale = widget_data(OFFICER, auth_date=int(time.time()) - 86400 - 60)
    assert (await client.get("/login/telegram", params=stale)).status == 403
    no_hash = {k: v for k, v in widget_data(OFFICER).items() if k != "hash"}
    assert (await client.get("/login/telegram", params=no_hash)).status == 403
    no_role = widget_data(NOBODY)
    assert (await client.get("/login/telegram", params=no_role)).status == 403


async def test_sign_in_attempts_are_rate_limited(client) -> None:
    statuses = [
        (await client.get("/login/telegram", params={"id": "1", "hash": "x"})).status
        for _ in range(12)
    ]
    assert statuses[:10] == [403] * 10 and statuses[10:] == [429, 429]


async def test_behind_the_proxy_one_address_does_not_lock_out_the_others(client) -> None:
    """Behind nginx every request comes from 127.0.0.1: tries are counted per address
    nginx forwards, so one address guessing does not stop an officer elsewhere."""
    guesser = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(12):
        await client.get("/login/telegram", params={"id": "1", "hash": "x"}, headers=guesser)
    blocked = await client.get("/login/telegram", params={"id": "1", "hash": "x"}, headers=guesser)
    assert blocked.status == 429
    # A header the guesser writes is not trusted: nginx appends the real address last.
    spoofed = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
    assert (await client.get("/login/telegram", params={"id": "1"}, headers=spoofed)).status == 429
    officer = {"X-Forwarded-For": "198.51.100.9"}
    assert (await client.get("/login/telegram", params={"id": "1"}, headers=officer)).status == 403


async def test_a_post_without_the_csrf_token_changes_nothing(client, world) -> None:
    maker, report_id = world
    await signed_in(client, maker, RT)
    response = await client.post(
        f"/laporan/{report_id}/putuskan", data={"action": "approve", "version": "2"}
    )
    assert response.status == 403
    wrong = await client.post(
        f"/laporan/{report_id}/putuskan",
        data={"action": "approve", "version": "2", "csrf": "forged"},
    )
    assert wrong.status == 403
    assert await _state(maker, report_id) == workflow.AWAITING_RT


async def test_approving_moves_the_report_tells_the_reporter_and_is_audited(client, world) -> None:
    maker, report_id = world
    await signed_in(client, maker, RT)
    page = await client.get(f"/laporan/{report_id}")
    html = await page.text()
    assert "Raka" in html and "Konfirmasi" in html and TOKEN not in html
    async with maker() as session:
        version = (await session.get(Report, report_id)).version
    csrf = await csrf_of(client, f"/laporan/{report_id}")
    response = await client.post(
        f"/laporan/{report_id}/putuskan",
        data={"action": "approve", "version": str(version), "csrf": csrf},
    )
    assert response.status == 200
    assert await _state(maker, report_id) == workflow.AWAITING_KELURAHAN
    async with maker() as session:
        entry = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "report.decide"))
        ).scalar_one()
        texts = [
            m.message["text"] for m in (await session.execute(select(OutboxMessage))).scalars()
        ]
    assert entry.actor == "console" and entry.report_id == report_id
    assert any("dikonfirmasi" in t.lower() or "confirmed" in t.lower() for t in texts), texts
    # A stale form (the old version) is refused, not applied twice.
    again = await client.post(
        f"/laporan/{report_id}/putuskan",
        data={"action": "approve", "version": str(version), "csrf": csrf},
    )
    assert again.status == 409
    assert await _state(maker, report_id) == workflow.AWAITING_KELURAHAN


async def test_another_areas_report_is_404_and_absent_from_the_queue(client, world) -> None:
    maker, report_id = world
    await signed_in(client, maker, RT_OTHER)
    assert (await client.get(f"/laporan/{report_id}")).status == 404
    assert (await client.get(f"/laporan/{report_id}/berkas/1")).status == 404
    html = await (await client.get("/?state=all")).text()
    assert "LW-" not in html
    csrf = await csrf_of(client)
    bulk = await client.post("/keputusan", data={"pick": f"{report_id}:2", "action": "approve",
                                                 "csrf": csrf})  # fmt: skip
    assert "LW-" not in await bulk.text()
    assert await _state(maker, report_id) == workflow.AWAITING_RT


async def test_a_tier_not_mine_cannot_decide(client, world) -> None:
    maker, report_id = world
    await signed_in(client, maker, LURAH)  # the report still waits for its RT head
    html = await (await client.get(f"/laporan/{report_id}")).text()
    assert 'id="approve"' not in html
    csrf = await csrf_of(client)
    response = await client.post(f"/laporan/{report_id}/putuskan",
                                 data={"action": "approve", "version": "2", "csrf": csrf})  # fmt: skip
    assert response.status == 409
    assert await _state(maker, report_id) == workflow.AWAITING_RT


async def test_an_operator_sees_the_village_but_decides_nothing(client, world) -> None:
    maker, report_id = world
    await signed_in(client, maker, OPERATOR)
    html = await (await client.get("/")).text()
    assert "LW-" in html and 'name="pick"' not in html and "approve-selected" not in html
    assert (await client.get(f"/laporan/{report_id}")).status == 200
    csrf = await csrf_of(client)
    response = await client.post(f"/laporan/{report_id}/putuskan",
                                 data={"action": "approve", "version": "2", "csrf": csrf})  # fmt: skip
    assert response.status == 409
    assert await _state(maker, report_id) == workflow.AWAITING_RT


async def test_a_revoked_grant_is_out_at_its_next_click(client, world) -> None:
    maker, _ = world
    await signed_in(client, maker, RT)
    assert (await client.get("/", allow_redirects=False)).status == 200
    async with maker() as session:
        grant_id = (await session.execute(
            select(func.min(ConsoleSession.id))
        )).scalar_one()  # fmt: skip
        from registry.invites import list_grants

        grant = next(g for g in await list_grants(session) if g.account.telegram_id == RT)
        await revoke_grant(session, grant.id, by="cli")
        await session.commit()
    assert grant_id is not None
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"


async def test_a_new_sign_in_ends_the_session_this_browser_had(client, world) -> None:
    """On a shared laptop the lurah signs in after the RT head: the RT head's session is
    ended, not left open for whoever copies its cookie."""
    maker, _ = world
    await signed_in(client, maker, RT)
    await signed_in(client, maker, LURAH)
    async with maker() as session:
        rows = (await session.execute(select(ConsoleSession).order_by(ConsoleSession.id))).scalars()
        ended = [row.ended_at is not None for row in rows]
    assert ended == [True, False]


async def test_idle_sessions_end_and_logout_ends_the_session(client, world) -> None:
    maker, _ = world
    await signed_in(client, maker, RT)
    async with maker() as session:
        await session.execute(
            update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
        await session.commit()
    assert (await client.get("/", allow_redirects=False)).status == 303
    await signed_in(client, maker, RT)
    csrf = await csrf_of(client)
    assert (await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)).status == 303
    assert (await client.get("/", allow_redirects=False)).status == 303
    async with maker() as session:
        open_ = (await session.execute(
            select(func.count()).select_from(ConsoleSession).where(ConsoleSession.ended_at.is_(None))
        )).scalar_one()  # fmt: skip
    assert open_ == 0


async def test_queue_filters_count_and_bulk_decisions(client, world) -> None:
    maker, first = world
    async with maker() as session:
        second = (await birth_report(session, reporter_id=101, payload={"name": "Sekar"})).id
        number = (await session.get(Report, second)).number
    await signed_in(client, maker, RT)
    html = await (await client.get("/")).text()
    assert "Laporan ditemukan: 2" in html
    html = await (await client.get("/", params={"q": number[-6:]})).text()
    assert "Laporan ditemukan: 1" in html and number in html
    html = await (await client.get("/", params={"q": "Wulandari"})).text()  # a member's name
    assert "Laporan ditemukan: 2" in html
    html = await (await client.get("/", params={"state": "done"})).text()
    assert "Laporan ditemukan: 0" in html
    csrf = await csrf_of(client)
    async with maker() as session:
        versions = {r.id: r.version for r in (await session.execute(select(Report))).scalars()}
    reject = await client.post(
        "/keputusan",
        data=[("csrf", csrf), ("action", "reject"), ("pick", f"{first}:{versions[first]}"),
              ("pick", f"{second}:{versions[second]}")],
    )  # fmt: skip
    assert reject.status == 200 and f'name="code_{second}"' in await reject.text()
    done = await client.post(
        "/keputusan/tolak",
        data=[("csrf", csrf), ("pick", f"{first}:{versions[first]}"), (f"code_{first}", "not_true"),
              ("pick", f"{second}:{versions[second]}"), (f"code_{second}", "")],
    )  # fmt: skip
    assert done.status == 200
    assert await _state(maker, first) == workflow.REJECTED
    assert await _state(maker, second) == workflow.AWAITING_RT  # no reason: not rejected
    approve = await client.post(
        "/keputusan",
        data={"csrf": csrf, "action": "approve", "pick": f"{second}:{versions[second]}"},
    )
    assert approve.status == 200
    assert await _state(maker, second) == workflow.AWAITING_KELURAHAN


async def test_evidence_is_fetched_once_and_only_for_a_session(world, tmp_path, fake_api) -> None:
    maker, _ = world
    stored = fake_api._register_file(make_png(), kind="photo", ext="png")
    async with maker() as session:
        report = await birth_report(
            session, reporter_id=102,
            attachments=[{"field": "evidence", "kind": "photo", "file_id": stored.file_id,
                          "unique_id": stored.file_unique_id}],
        )  # fmt: skip
        attachment_id = report.attachments[0].id
    console = make_console(maker, tmp_path, api_base=fake_api.base_url)
    client = await client_for(console)
    try:
        url = f"/laporan/{report.id}/berkas/{attachment_id}"
        anonymous = await client.get(url, allow_redirects=False)
        assert anonymous.status == 303 and not await anonymous.read()
        await signed_in(client, maker, RT)
        html = await (await client.get(f"/laporan/{report.id}")).text()
        assert url in html and fake_api.token not in html
        for _ in range(2):
            response = await client.get(url)
            assert response.status == 200 and response.content_type == "image/png"
            assert await response.read() == stored.content
        assert len(fake_api.calls("getFile")) == 1
        cached = list((tmp_path / "cache").iterdir())
        assert len(cached) == 1 and cached[0].stat().st_mode & 0o777 == 0o600
    finally:
        await client.close()


async def test_sessions_are_listed_and_can_be_ended(client, world) -> None:
    maker, _ = world
    await signed_in(client, maker, RT)
    async with maker() as session:
        from registry import signin
        from tests.helpers.world import account

        token, row = await signin.open_session(
            session,
            await account(session, RT, roles=True),
            method="link",
            user_agent="Laptop kantor",
        )
        await session.commit()
    html = await (await client.get("/sesi")).text()
    assert "Laptop kantor" in html
    csrf = await csrf_of(client, "/sesi")
    await client.post(f"/sesi/{row.id}/akhiri", data={"csrf": csrf})
    async with maker() as session:
        assert (await session.get(ConsoleSession, row.id)).ended_at is not None
    del token


async def test_english_switch(client, world) -> None:
    maker, _ = world
    await signed_in(client, maker, RT)
    await client.get("/bahasa/en?next=/")
    html = await (await client.get("/")).text()
    assert "Queue" in html and "Reports found: 1" in html
    response = await client.get("/bahasa/en?next=//evil.example", allow_redirects=False)
    assert response.headers["Location"] == "/"


async def test_what_people_typed_is_shown_as_text(client, world) -> None:
    maker, _ = world
    async with maker() as session:
        hostile = await birth_report(
            session, reporter_id=103, payload={"name": '<script>alert("x")</script><b>Raka</b>'}
        )
        await workflow.ask_info(
            session, hostile, await account(session, RT, roles=True),
            "<img src=x onerror=alert(1)> benar?",
        )  # fmt: skip
        await session.commit()
    await signed_in(client, maker, RT)
    html = await (await client.get(f"/laporan/{hostile.id}")).text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html
    queue = await (await client.get("/", params={"q": "<script>"})).text()
    assert "<script>" not in queue.split("</head>", 1)[1]


async def test_pages_of_the_list_count_every_match(world) -> None:
    from registry import worklist
    from registry.policy import DEFAULT_POLICY

    maker, first = world
    async with maker() as session:
        for n in range(4):
            await birth_report(session, reporter_id=110 + n, payload={"name": f"Anak {n}"})
        rt = await account(session, RT, roles=True)
        filters = worklist.Filters(state=worklist.MINE, sort="newest", page=2)
        page = await worklist.find_reports(
            session, rt, filters, DEFAULT_POLICY, now=utcnow(), per_page=2
        )
        assert (page.total, page.pages, page.page) == (5, 3, 2)
        assert [r.payload["name"] for r in page.reports] == ["Anak 1", "Anak 0"]
        filters.page = 99  # past the end: the last page
        last = await worklist.find_reports(
            session, rt, filters, DEFAULT_POLICY, now=utcnow(), per_page=2
        )
        assert last.page == 3 and [r.id for r in last.reports] == [first]


async def test_the_desa_filter_lists_the_villages_of_my_areas(client, world) -> None:
    maker, _ = world
    await signed_in(client, maker, OFFICER)  # a city: every desa/kelurahan of its kecamatan
    html = await (await client.get("/")).text()
    options = re.findall(r'<option value="(\d\d\.\d\d\.\d\d\.\d{4})"', html)
    assert VILLAGE in options and len(options) > 10
    assert all(code.startswith("16.71.") for code in options)
    client.session.cookie_jar.clear()
    await signed_in(client, maker, RT)
    html = await (await client.get("/")).text()
    assert re.findall(r'<option value="(\d\d\.\d\d\.\d\d\.\d{4})"', html) == [VILLAGE]


async def test_asking_the_reporter_then_the_answer_shows_in_the_timeline(client, world) -> None:
    maker, report_id = world
    await signed_in(client, maker, RT)
    async with maker() as session:
        version = (await session.get(Report, report_id)).version
    csrf = await csrf_of(client, f"/laporan/{report_id}")
    asked = await client.post(
        f"/laporan/{report_id}/putuskan",
        data={"action": "ask", "version": str(version), "csrf": csrf,
              "question": "Kapan akta kelahiran selesai?"},
    )  # fmt: skip
    assert asked.status == 200
    async with maker() as session:
        report = await session.get(Report, report_id)
        assert report.state == workflow.NEEDS_INFO
        texts = [
            m.message["text"] for m in (await session.execute(select(OutboxMessage))).scalars()
        ]
        assert any("Kapan akta kelahiran selesai?" in t for t in texts)  # to the reporter
        await workflow.answer_info(
            session, report, await account(session, 100), answer="Minggu depan, Pak."
        )
        await session.commit()
    html = await (await client.get(f"/laporan/{report_id}")).text()
    timeline = html.split('id="timeline"', 1)[1]
    assert "Kapan akta kelahiran selesai?" in timeline and "Minggu depan, Pak." in timeline
    assert 'id="approve"' in html  # back at the RT head's tier


async def test_a_duplicate_is_shown_side_by_side(client, world) -> None:
    maker, first = world
    async with maker() as session:
        second = await birth_report(session, reporter_id=101)  # the same birth again
        number = (await session.get(Report, first)).number
    await signed_in(client, maker, RT)
    html = await (await client.get(f"/laporan/{second.id}")).text()
    assert 'class="grid side-by-side"' in html
    side = html.split('class="grid side-by-side"', 1)[1]
    assert side.count("Raka") == 2 and f"/laporan/{first}" in side and number in side
    client.session.cookie_jar.clear()
    await signed_in(client, maker, RT_OTHER)  # neither is theirs
    assert (await client.get(f"/laporan/{second.id}")).status == 404


async def test_two_reviewers_deciding_the_same_report_at_once(world, tmp_path) -> None:
    """The RT head and a second RT head of the same RT press approve in two browsers at the
    same moment: one decision is taken, the other is told it was already decided."""
    maker, report_id = world
    async with maker() as session:
        await grant_role(session, RT_OTHER, "rt", VILLAGE, rw=2, rt=3)
        await session.commit()
        version = (await session.get(Report, report_id)).version
    console = make_console(maker, tmp_path)
    first, second = await client_for(console), await client_for(console)
    try:
        forms = []
        for browser, who in ((first, RT), (second, RT_OTHER)):
            await signed_in(browser, maker, who)
            forms.append({"action": "approve", "version": str(version),
                          "csrf": await csrf_of(browser, f"/laporan/{report_id}")})  # fmt: skip
        answers = await asyncio.gather(
            *(b.post(f"/laporan/{report_id}/putuskan", data=f, allow_redirects=False)
              for b, f in zip((first, second), forms, strict=True))
        )  # fmt: skip
    finally:
        await first.close()
        await second.close()
    assert sorted(a.status for a in answers) == [303, 409]
    async with maker() as session:
        report = await session.get(Report, report_id)
        decisions = (
            await session.execute(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "report.decide"))
        ).scalar_one()  # fmt: skip
    assert report.state == workflow.AWAITING_KELURAHAN and decisions == 1
