"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.helpers.browser import chromium, sandbox


@pytest.fixture
def running(running_bot, tmp_path):
    """The running bot, with a place for the files a test seeds it from."""
    running_bot.tmp = tmp_path
    return running_bot


@pytest.fixture
def sandbox_url(tmp_path):
    """`lapor-warga sandbox` running in tmp_path: its page's URL."""
    with sandbox(tmp_path) as url:
        yield url


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium (tests/helpers/browser.py)."""
    with chromium(tmp_path / "chromium") as driver:
        yield driver
