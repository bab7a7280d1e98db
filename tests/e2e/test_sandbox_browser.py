"""`lapor-warga sandbox` in a real browser: reports from the resident's phone to the
officer's approval, with the registry panel updating; the layout at 1280 x 800 and on a
390 px phone, and button labels that never break inside a word. Saves a screenshot of
the four phones at 1280 px as test-artifacts/sandbox.png (and, with
LW_DOCS_SCREENSHOT=1, as docs/sandbox.png for the README)."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By

from bot.sandbox.demo import DEMO_HOUSEHOLDS, DEMO_RESIDENT
from fake_bot_api import make_png
from locales import _, use_locale
from tests.helpers.browser import ARTIFACTS, REPO, Page


@pytest.mark.slow
def test_a_report_walks_from_the_residents_phone_to_the_registry(
    sandbox_url, browser, tmp_path
) -> None:
    try:
        browser.get(sandbox_url)
    except WebDriverException as exc:  # pragma: no cover - a broken browser install
        pytest.fail(f"Chromium could not open the sandbox: {exc}")
    page = Page(browser)
    assert browser.title == "Sandbox Lapor Warga"  # the page speaks the default language
    assert DEMO_RESIDENT.nik in browser.find_element(By.TAG_NAME, "header").text
    page.wait.until(lambda d: "Budi Santoso · Kepala keluarga" in page.registry())

    page.link_resident()

    page.type("resident", "/lapor")
    page.press("resident", "Kelahiran")
    page.sees("resident", "nama lengkap bayi")
    page.type("resident", "Nur Aisyah")  # stored upper case, as on a KK
    page.press("resident", "Perempuan")
    page.sees("resident", "Kapan bayi lahir")
    born = date.today() - timedelta(days=6)
    page.type("resident", born.strftime("%d/%m/%Y"))
    page.press("resident", "Sari Wulandari")
    page.sees("resident", "akta kelahiran")
    photo = tmp_path / "akta.png"
    photo.write_bytes(make_png(160, 100, (60, 130, 200)))
    page.phone("resident").find_element(By.CSS_SELECTOR, "input.photo-input").send_keys(str(photo))
    page.sees("resident", "periksa laporan Anda")
    page.press("resident", "✅ Kirim")
    page.sees("resident", "Nomor pelacakan Anda")

    page.sees("rt", "NUR AISYAH")
    page.wait.until(lambda d: page.phone("rt").find_elements(By.CSS_SELECTOR, ".msg img"))
    page.press("rt", "✅ Konfirmasi")
    page.sees("resident", "dikonfirmasi Ketua RT")
    page.press("lurah", "✅ Verifikasi")
    page.sees("resident", "diverifikasi kelurahan/desa")
    page.press("officer", "✅ Setujui")
    page.sees("resident", "NUR AISYAH kini tercatat sebagai anggota keluarga Anda")
    page.wait.until(lambda d: "NUR AISYAH" in page.registry())
    assert re.search(r"NUR AISYAH ditambahkan ke keluarga .*LW-\d{4}-000001", page.registry())

    browser.get(sandbox_url + "?lang=en")
    page.wait.until(lambda d: "NUR AISYAH · Child" in page.registry())
    assert browser.title == "Lapor Warga sandbox"
    compose = page.phone("rt").find_element(By.CSS_SELECTOR, "input.compose-text")
    assert compose.get_attribute("placeholder") == "Write a message…"


# Every visible button's words that the layout broke across lines or that overflow it.
BROKEN_WORDS_JS = """
const broken = [];
for (const button of document.querySelectorAll("button")) {
  if (button.offsetParent === null) continue;
  const walker = document.createTreeWalker(button, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set(Array.from(range.getClientRects())
        .filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) broken.push(button.textContent + " | " + word[0]);
    }
  }
  if (button.scrollWidth > button.clientWidth + 1) broken.push(button.textContent + " | overflows");
}
return broken;
"""
BOXES_JS = """
return Array.from(document.querySelectorAll(".phone, aside")).map(e => {
  const r = e.getBoundingClientRect();
  return [e.dataset.key || e.id, r.left, r.top, r.right, r.bottom];
});
"""


def _viewport(browser: webdriver.Chrome, width: int, height: int, *, mobile: bool) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
    })  # fmt: skip


WIDE_WINDOWS = ((1280, 800), (1366, 768), (1440, 900), (1920, 1080))


def _no_broken_words(browser: webdriver.Chrome, windows=((1280, 800),)) -> None:  # type: ignore[no-untyped-def]
    """No button label broken inside a word, in each of ``windows`` (then back to the
    first): the phones are narrowest just above the width where the columns change."""
    for width, height in windows:
        _viewport(browser, width, height, mobile=False)
        broken = browser.execute_script(BROKEN_WORDS_JS)
        assert broken == [], (width, broken)
    _viewport(browser, *windows[0], mobile=False)


@pytest.mark.slow
def test_the_page_fits_and_a_heads_death_leaves_one_head_with_plain_revision_labels(
    sandbox_url, browser
) -> None:
    _viewport(browser, 1280, 800, mobile=False)
    browser.get(sandbox_url)
    page = Page(browser)
    page.wait.until(lambda d: "Budi Santoso · Kepala keluarga" in page.registry())
    # 1280 x 800: the four phones and the registry panel, all inside the window.
    width, height = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    assert (width, height) == (1280, 800)
    boxes = browser.execute_script(BOXES_JS)
    assert [b[0] for b in boxes] == ["resident", "rt", "lurah", "officer", "registry"]
    for key, left, top, right, bottom in boxes:
        assert 0 <= left and right <= width and 0 <= top and bottom <= height, (key, boxes)
    # Empty phones show how to begin, as Telegram does for a new chat.
    with use_locale("id"):
        start, hint = _("▶️ Start"), _("No messages yet. Press Start to talk to the bot.")
    for key in ("resident", "rt", "lurah", "officer"):
        empty = page.phone(key).find_element(By.CLASS_NAME, "start-hint")
        assert (
            hint in empty.text and empty.find_element(By.CSS_SELECTOR, "button.start").text == start
        )
    _no_broken_words(browser)

    page.wait.until(lambda d: page._click_last("resident", "button.start", start))
    page.sees("resident", "/datasaya")  # the consent: the hint is gone
    assert not page.phone("resident").find_elements(By.CLASS_NAME, "start-hint")
    with use_locale("id"):
        page.press("resident", _("✅ I agree"))
        page.reply_button("resident", _("📱 Share my contact"))
        page.sees("resident", "NIK")
        page.type("resident", DEMO_RESIDENT.nik)
        page.sees("resident", "KK")
        page.type("resident", DEMO_HOUSEHOLDS[0].kk)
        page.sees("resident", "167101**********")

        # Sari reports that Budi, the head of the family, has died.
        page.type("resident", "/lapor")
        page.press("resident", _("Death"))
        page.sees("resident", _("Who has died? We are sorry for your loss."))
        page.press("resident", "Budi Santoso")
        page.sees("resident", _("They headed the family. Who is the head of the family now?"))
        page.press("resident", "Sari Wulandari")
        page.sees("resident", _("On which date did they die?"))
        _no_broken_words(browser, WIDE_WINDOWS)  # « Kembali, ✖ Batal on a narrow phone
        page.type("resident", (date.today() - timedelta(days=2)).strftime("%d/%m/%Y"))
        page.sees("resident", _("Where did they die? For example: at home, RSUD Palembang."))
        page.type("resident", "di rumah")
        page.press("resident", _("Skip »"))
        page.press("resident", _("✅ Submit"))
        page.sees("resident", "LW-")
        for key, verdict in (
            ("rt", "✅ Confirm"),
            ("lurah", "✅ Verify"),
            ("officer", "✅ Approve"),
        ):
            label = _(verdict)
            page.wait.until(lambda d, key=key, label=label: page.has_button(key, label))
            _no_broken_words(browser, WIDE_WINDOWS)  # "Konfirmasi", "Verifikasi"
            page.press(key, label)

    page.sees("resident", "🎉")  # the resident is told it was approved
    page.wait.until(lambda d: "meninggal dunia" in page.registry())
    registry = page.registry()
    assert re.search(r"Budi Santoso meninggal dunia \(laporan LW-\d{4}-000001\)", registry)
    assert re.search(
        r"Sari Wulandari kini menjadi kepala keluarga \(laporan LW-\d{4}-000001\)", registry
    )
    assert "ditambahkan" not in registry  # no change is called an addition any more
    members = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#registry ul.members li")]
    assert [m for m in members if "Kepala keluarga" in m] == [
        next(m for m in members if m.startswith("Sari Wulandari"))
    ]  # one head: Sari; Budi is listed apart, as deceased
    former = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#registry ul.former li")]
    assert former == ["Budi Santoso · meninggal"]

    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "sandbox.png"))  # 1280 x 800, four phones
    if os.environ.get("LW_DOCS_SCREENSHOT") == "1":  # the README's picture
        (REPO / "docs" / "sandbox.png").write_bytes((ARTIFACTS / "sandbox.png").read_bytes())

    # A 390 px phone: one column, no sideways scrolling, labels still whole.
    _viewport(browser, 390, 844, mobile=True)
    browser.get(sandbox_url)
    page.wait.until(lambda d: "Sari Wulandari" in page.registry())
    page.sees("officer", "LW-")
    scroll, client = browser.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= client == 390
    for key, left, _top, right, _bottom in browser.execute_script(BOXES_JS):
        assert 0 <= left and right <= 390, key
    assert browser.execute_script(BROKEN_WORDS_JS) == []
