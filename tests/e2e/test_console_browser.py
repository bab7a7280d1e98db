"""The web console inside `lapor-warga sandbox`, in a real browser: the demo officer sends
/masuk, opens the link, filters the queue, opens a report with a photo and approves it;
the resident's phone shows the approval. The lurah records a village meeting's outcome for
two reports at once. Screenshots go to test-artifacts/console-*.png."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from bot.sandbox.demo import DEMO_VILLAGE
from fake_bot_api import make_png
from locales import _, use_locale
from tests.helpers.browser import ARTIFACTS, Page


@pytest.mark.slow
def test_the_officer_approves_in_the_console_and_the_resident_hears_it(
    sandbox_url, browser, tmp_path
) -> None:
    browser.get(sandbox_url)
    page = Page(browser)
    console_link = browser.find_element(By.ID, "console-link").get_attribute("href")
    assert console_link.endswith("/login")
    page.link_resident()
    page.type("resident", "/lapor")
    page.press("resident", "Kelahiran")
    page.sees("resident", "nama lengkap bayi")
    page.type("resident", "Nur Aisyah")
    page.press("resident", "Perempuan")
    page.sees("resident", "Kapan bayi lahir")
    page.type("resident", (date.today() - timedelta(days=6)).strftime("%d/%m/%Y"))
    page.press("resident", "Sari Wulandari")
    page.sees("resident", "akta kelahiran")
    photo = tmp_path / "akta.png"
    photo.write_bytes(make_png(160, 100, (60, 130, 200)))
    page.phone("resident").find_element(By.CSS_SELECTOR, "input.photo-input").send_keys(str(photo))
    page.sees("resident", "periksa laporan Anda")
    page.press("resident", "✅ Kirim")
    page.sees("resident", "Nomor pelacakan Anda")
    page.press("rt", "✅ Konfirmasi")
    page.sees("resident", "dikonfirmasi Ketua RT")
    page.press("lurah", "✅ Verifikasi")
    page.sees("resident", "diverifikasi kelurahan/desa")

    # The officer asks for a sign-in link in chat and opens it in a second tab.
    page.type("officer", "/masuk")
    page.sees("officer", "/login/")
    text = page.phone("officer").find_element(By.CLASS_NAME, "messages").text
    link = re.findall(r"http://127\.0\.0\.1:\d+/login/[A-Za-z0-9_-]+", text)[-1]
    phones = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.set_window_size(1366, 768)
    browser.get(link)
    browser.find_element(By.ID, "sign-in").click()
    page.wait.until(lambda d: d.find_elements(By.ID, "count"))
    assert "Laporan ditemukan: 1" in browser.find_element(By.ID, "count").text
    box = browser.find_element(By.NAME, "q")
    box.send_keys("Sari")  # a name in the household
    browser.find_element(By.ID, "apply-filters").click()
    page.wait.until(lambda d: "Laporan ditemukan: 1" in d.find_element(By.ID, "count").text)
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "console-queue.png"))
    browser.find_element(By.CSS_SELECTOR, "table.queue a").click()
    page.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "img.photo"))
    image = browser.find_element(By.CSS_SELECTOR, "img.photo")
    page.wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", image) == 160)
    assert "NUR AISYAH" in browser.find_element(By.CLASS_NAME, "card").text
    assert browser.save_screenshot(str(ARTIFACTS / "console-report.png"))
    browser.find_element(By.ID, "approve").click()
    page.wait.until(
        lambda d: (
            "tercatat" in d.find_element(By.ID, "state").text.lower()
            or "disetujui" in d.find_element(By.ID, "state").text.lower()
        )
    )

    # On a phone the queue fits the screen's width (wide tables scroll inside their box).
    browser.set_window_size(390, 844)
    browser.get(link.split("/login/")[0] + "/?state=all")
    page.wait.until(lambda d: d.find_elements(By.ID, "count"))
    overflow = browser.execute_script(
        "const width = document.documentElement.clientWidth;"
        "return [...document.querySelectorAll('body *')]"
        ".filter(e => !e.closest('.scroll'))"
        ".map(e => e.getBoundingClientRect().right - width)"
        ".reduce((a, b) => Math.max(a, b), 0);"
    )
    assert overflow <= 1, f"something is {overflow}px wider than the phone's screen"
    assert browser.save_screenshot(str(ARTIFACTS / "console-phone.png"))

    browser.switch_to.window(phones)
    page.sees("resident", "NUR AISYAH kini tercatat sebagai anggota keluarga Anda")
    assert browser.save_screenshot(str(ARTIFACTS / "console-phones.png"))


def _bot_messages(page: Page, key: str) -> list:  # type: ignore[type-arg]
    return page.phone(key).find_elements(By.CSS_SELECTOR, ".msg:not(.mine)")


def _then(page: Page, key: str, act, fragment: str) -> None:  # type: ignore[no-untyped-def]
    """Do ``act``, then wait for ``fragment`` in a bot message newer than before (or the
    last one, edited): an earlier report's same question does not count."""
    before = len(_bot_messages(page, key))
    act()
    page.wait.until(
        lambda d: any(fragment in m.text for m in _bot_messages(page, key)[max(0, before - 1) :])
    )


def _file_birth(page: Page, name: str, tmp_path: Path, count: int) -> None:
    """The resident files a birth (with a photo); ``count``: tracking numbers seen after."""
    with use_locale("id"):
        menu, sex = _("What do you want to report?"), _("Is the baby a boy or a girl?")
        when, mother = (
            _("When was the baby born?"),
            _("Who is the mother? Choose her from your household."),
        )
    _then(page, "resident", lambda: page.type("resident", "/lapor"), menu)
    _then(page, "resident", lambda: page.press("resident", "Kelahiran"), "nama lengkap bayi")
    _then(page, "resident", lambda: page.type("resident", name), sex)
    _then(page, "resident", lambda: page.press("resident", "Perempuan"), when)
    day = (date.today() - timedelta(days=6)).strftime("%d/%m/%Y")
    _then(page, "resident", lambda: page.type("resident", day), mother)
    _then(page, "resident", lambda: page.press("resident", "Sari Wulandari"), "akta kelahiran")
    photo = tmp_path / f"akta-{count}.png"
    photo.write_bytes(make_png(160, 100, (60, 130, 200)))
    upload = page.phone("resident").find_element(By.CSS_SELECTOR, "input.photo-input")
    _then(page, "resident", lambda: upload.send_keys(str(photo)), "periksa laporan Anda")
    _then(page, "resident", lambda: page.press("resident", "✅ Kirim"), "Nomor pelacakan Anda")


def _count(page: Page, key: str, fragment: str) -> int:
    return page.phone(key).find_element(By.CLASS_NAME, "messages").text.count(fragment)


@pytest.mark.slow
def test_the_lurah_records_a_meetings_outcome_for_two_reports(
    sandbox_url, browser, tmp_path
) -> None:
    browser.get(sandbox_url)
    page = Page(browser)
    page.link_resident()
    _file_birth(page, "Nur Aisyah", tmp_path, 1)
    _file_birth(page, "Putri Lestari", tmp_path, 2)
    for done in (1, 2):
        page.press("rt", "✅ Konfirmasi")
        page.wait.until(lambda d, n=done: _count(page, "resident", "dikonfirmasi Ketua RT") >= n)

    page.type("lurah", "/masuk")
    page.sees("lurah", "/login/")
    text = page.phone("lurah").find_element(By.CLASS_NAME, "messages").text
    link = re.findall(r"http://127\.0\.0\.1:\d+/login/[A-Za-z0-9_-]+", text)[-1]
    phones = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.set_window_size(1366, 768)
    browser.get(link)
    browser.find_element(By.ID, "sign-in").click()
    page.wait.until(lambda d: d.find_elements(By.ID, "count"))
    browser.find_element(By.LINK_TEXT, "Musyawarah").click()
    Select(browser.find_element(By.NAME, "desa")).select_by_value(DEMO_VILLAGE)
    day = browser.find_element(By.NAME, "tanggal")
    browser.execute_script("arguments[0].value = arguments[1]", day, date.today().isoformat())
    browser.find_element(By.ID, "meeting-show").click()
    page.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "input.pick")) == 2)
    browser.find_element(By.ID, "pick-all").click()
    browser.find_element(By.ID, "meeting-prepare").click()
    page.wait.until(lambda d: d.find_elements(By.ID, "outcomes"))
    assert "PUTRI LESTARI" in browser.find_element(By.ID, "meeting-list").text
    for select in browser.find_elements(By.CSS_SELECTOR, "select[name^=outcome_]"):
        Select(select).select_by_value("approve")
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "console-meeting.png"))
    browser.find_element(By.ID, "save-outcomes").click()
    page.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.done")) == 2)

    browser.switch_to.window(phones)
    page.wait.until(lambda d: _count(page, "resident", "diverifikasi kelurahan/desa") >= 2)
    page.wait.until(lambda d: _count(page, "officer", "PUTRI LESTARI") >= 1)
