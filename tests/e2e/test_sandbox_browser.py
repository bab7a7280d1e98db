"""`lapor-warga sandbox` in a real browser: one report from the resident's phone to the
officer's approval, with the registry panel updating. Saves a screenshot artifact
(and, with LW_DOCS_SCREENSHOT=1, the full page as docs/sandbox.png for the README)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bot.sandbox.demo import DEMO_HOUSEHOLDS, DEMO_RESIDENT
from fake_bot_api import make_png
from locales import _, use_locale

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env.update(PYTHONPATH=str(REPO), DEFAULT_LOCALE="id", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "sandbox", "--port", "0"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    url = None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if match := re.search(r"http://127\.0\.0\.1:\d+/", line):
            url = match.group(0)
            break
    assert url, "".join(seen)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1900,1000", f"--user-data-dir={tmp_path / 'chromium'}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver
        self.wait = WebDriverWait(driver, 15, ignored_exceptions=(StaleElementReferenceException,))

    def phone(self, key: str):  # type: ignore[no-untyped-def]
        return self.driver.find_element(By.CSS_SELECTOR, f'.phone[data-key="{key}"]')

    def sees(self, key: str, fragment: str) -> None:
        self.wait.until(
            lambda d: fragment in self.phone(key).find_element(By.CLASS_NAME, "messages").text
        )

    def _click_last(self, key: str, css: str, text: str) -> bool:
        buttons = [b for b in self.phone(key).find_elements(By.CSS_SELECTOR, css) if b.text == text]
        if not buttons:
            return False
        buttons[-1].click()
        return True

    def press(self, key: str, text: str) -> None:
        self.wait.until(lambda d: self._click_last(key, "button.inline", text))

    def reply_button(self, key: str, text: str) -> None:
        self.wait.until(lambda d: self._click_last(key, "button.reply", text))

    def type(self, key: str, text: str) -> None:
        box = self.phone(key).find_element(By.CSS_SELECTOR, "input.compose-text")
        box.send_keys(text)
        self.phone(key).find_element(By.CSS_SELECTOR, "button.send").click()

    def registry(self) -> str:
        return self.driver.find_element(By.ID, "registry").text


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

    page.type("resident", "/start")
    page.sees("resident", "/datasaya")  # the consent text, in the page's language
    with use_locale("id"):
        page.press("resident", _("✅ I agree"))
    page.reply_button("resident", "📱 Bagikan kontak saya")
    page.sees("resident", "Kirim NIK Anda")
    page.type("resident", DEMO_RESIDENT.nik)
    page.sees("resident", "Kartu Keluarga (KK)")
    page.type("resident", DEMO_HOUSEHOLDS[0].kk)
    page.sees("resident", "terhubung dengan keluarga KK 167101**********")

    page.type("resident", "/lapor")
    page.press("resident", "Kelahiran")
    page.sees("resident", "nama lengkap bayi")
    page.type("resident", "Nur Aisyah")
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

    page.sees("rt", "Nur Aisyah")
    page.wait.until(lambda d: page.phone("rt").find_elements(By.CSS_SELECTOR, ".msg img"))
    page.press("rt", "✅ Konfirmasi")
    page.sees("resident", "dikonfirmasi Ketua RT")
    page.press("lurah", "✅ Verifikasi")
    page.sees("resident", "diverifikasi kelurahan/desa")
    page.press("officer", "✅ Setujui")
    page.sees("resident", "Nur Aisyah kini tercatat sebagai anggota keluarga Anda")
    page.wait.until(lambda d: "Nur Aisyah" in page.registry())
    assert re.search(r"Nur Aisyah .*LW-\d{4}-000001", page.registry())

    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "sandbox.png"))
    if os.environ.get("LW_DOCS_SCREENSHOT") == "1":  # the README's picture: docs/sandbox.png
        width, height = browser.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        })  # fmt: skip
        (REPO / "docs" / "sandbox.png").write_bytes(base64.b64decode(shot["data"]))

    browser.get(sandbox_url + "?lang=en")
    page.wait.until(lambda d: "Nur Aisyah · Child" in page.registry())
    assert browser.title == "Lapor Warga sandbox"
    compose = page.phone("rt").find_element(By.CSS_SELECTOR, "input.compose-text")
    assert compose.get_attribute("placeholder") == "Write a message…"
