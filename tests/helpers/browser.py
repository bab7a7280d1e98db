"""Driving `lapor-warga sandbox` in real Chromium (selenium): the sandbox process, the
browser, and the page's four phones. Fixtures ``sandbox_url`` and ``browser`` are in
tests/e2e/conftest.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bot.sandbox.demo import DEMO_HOUSEHOLDS, DEMO_RESIDENT
from locales import _, use_locale

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"  # screenshots the browser tests save
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


@contextmanager
def sandbox(workdir: Path) -> Iterator[str]:
    """`lapor-warga sandbox --port 0` in ``workdir`` (Indonesian by default, no token, its
    own SQLite); yields the page's URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env.update(PYTHONPATH=str(REPO), DEFAULT_LOCALE="id", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "sandbox", "--port", "0"],
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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


@contextmanager
def chromium(profile: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with its own profile folder, 1900 x 1000."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1900,1000", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """The sandbox page: its phones (``resident``, ``rt``, ``lurah``, ``officer``) and the
    registry panel."""

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

    def has_button(self, key: str, text: str) -> bool:
        buttons = self.phone(key).find_elements(By.CSS_SELECTOR, "button.inline")
        return any(b.text == text for b in buttons)

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

    def link_resident(self) -> None:
        """The demo resident agrees in Indonesian, shares her contact and links her family
        with her NIK and KK (the chat then names the KK, masked)."""
        self.type("resident", "/start")
        self.sees("resident", "/datasaya")  # the consent text, in the page's language
        with use_locale("id"):
            self.press("resident", _("✅ I agree"))
        self.reply_button("resident", "📱 Bagikan kontak saya")
        self.sees("resident", "Kirim NIK Anda")
        self.type("resident", DEMO_RESIDENT.nik)
        self.sees("resident", "Kartu Keluarga (KK)")
        self.type("resident", DEMO_HOUSEHOLDS[0].kk)
        self.sees("resident", "terhubung dengan keluarga KK 167101**********")
