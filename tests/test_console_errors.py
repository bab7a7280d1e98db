"""The console as people at a desk meet its edges: errors are pages in the reader's
language with the security headers (never aiohttp's English plain text or a bare 500),
a filter at the edge of the calendar, the language switch after a form, village names."""

from __future__ import annotations

import re

import aiohttp
import pytest

from storage import db
from tests.helpers.console import birth_report, client_for, csrf_of, make_console, signed_in
from tests.helpers.world import account, registry_world

OFFICER = 4


@pytest.fixture
async def client(engine, tmp_path):
    maker = db.make_sessionmaker(engine)
    async with maker() as session:
        await registry_world(session, tmp_path, officers={OFFICER: "16.71"})
        await session.commit()
        await birth_report(session)
    client = await client_for(make_console(maker, tmp_path))
    await signed_in(client, maker, OFFICER)
    yield client
    await client.close()


def _has_headers(response) -> None:
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/laporan/999999", 404, "Halaman tidak ditemukan"),
        ("/tidak-ada", 404, "Halaman tidak ditemukan"),
        ("/static/tidak-ada.css", 404, "Halaman tidak ditemukan"),
        ("/logout", 405, "Halaman tidak ditemukan"),
    ],
)
async def test_an_error_is_a_page_in_indonesian(client, path, status, words) -> None:
    response = await client.get(path, allow_redirects=False)
    html = await response.text()
    assert response.status == status
    assert response.content_type == "text/html"
    assert words in html and "Not Found" not in html and "Method Not Allowed" not in html
    _has_headers(response)


async def test_an_error_page_follows_the_language_switch(client) -> None:
    await client.get("/bahasa/en?next=/")
    html = await (await client.get("/laporan/999999")).text()
    assert "Page not found" in html


@pytest.mark.parametrize("path", ["/?to=9999-12-31", "/ekspor/laporan?to=9999-12-31"])
async def test_the_last_day_of_the_calendar_as_a_filter_is_no_crash(client, path) -> None:
    response = await client.get(path)
    assert response.status == 200
    _has_headers(response)


async def test_the_language_switch_after_a_form_comes_back_to_a_page(client) -> None:
    """A page answering a POST (the results of a decision, a refusal) has no address to
    open again: switching the language there led to GET /keputusan, a 405."""
    page = await client.post("/keputusan", data={"csrf": await csrf_of(client)})
    html = await page.text()
    assert page.status == 400 and "/bahasa/en?next=/keputusan" not in html
    target = re.search(r'href="(/bahasa/en\?next=[^"]*)"', html).group(1)
    response = await client.get(target.replace("&amp;", "&"))
    assert response.status == 200 and "Queue" in await response.text()


async def test_the_queue_names_the_village_not_its_code(client) -> None:
    """An officer of a kabupaten with hundreds of desa reads names, not 16.71.01.1001."""
    html = await (await client.get("/?state=all")).text()
    row = re.search(r"<tbody>(.*)</tbody>", html, re.S).group(1)
    assert "Tiga-puluh-lima Ilir · RW 2 · RT 3" in row and "16.71.01.1001" not in row


async def test_every_page_says_who_is_signed_in(engine, client) -> None:
    """On a shared office laptop, or after a sign-in link someone else sent, the reviewer
    sees whose account the page acts for."""
    maker = db.make_sessionmaker(engine)
    async with maker() as session:
        (await account(session, OFFICER)).first_name = "Dewi <Dinsos>"
        await session.commit()
    html = await (await client.get("/")).text()
    assert "Masuk sebagai: Dewi &lt;Dinsos&gt;" in html


async def test_an_upload_over_the_limit_is_told_in_indonesian(client) -> None:
    csrf = await csrf_of(client)
    big = b"rw,rt,name\n" + b"1,1,Nama\n" * 150_000  # about 1.3 MB
    form = aiohttp.FormData({"csrf": csrf})
    form.add_field("file", big, filename="rt.csv", content_type="text/csv")
    response = await client.post("/peran/undangan", data=form, allow_redirects=False)
    html = await response.text()
    assert response.status == 413 and "Berkas terlalu besar" in html
    assert "Maximum request body size" not in html
    _has_headers(response)
