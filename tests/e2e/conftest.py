"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def running(running_bot, tmp_path):
    """The running bot, with a place for the files a test seeds it from."""
    running_bot.tmp = tmp_path
    return running_bot
