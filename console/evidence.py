"""Evidence files (photos, documents) of reports, fetched once from the Bot API
(``getFile``, then the file's download URL, at ``TELEGRAM_API_BASE``) and kept on disk
under a size cap (the oldest read first go). The bot token is used only here, server
side: pages link to the console's own URL, never to Telegram's."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from pathlib import Path

import aiohttp

log = logging.getLogger(__name__)

MAX_FILE = 20 * 1024 * 1024  # what the Bot API lets bots download
LOCKS = 64  # concurrent fetches of different files


class EvidenceUnavailable(Exception):
    """The file cannot be fetched from the Bot API now."""


def content_type(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"%PDF":
        return "application/pdf"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


class EvidenceCache:
    def __init__(self, directory: Path, max_bytes: int, api_base: str, token: str | None) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.api_base = api_base.rstrip("/")
        self._token = token
        # One fetch of a file at a time: a fixed set of locks, a file's chosen by its hash
        # (bounded memory, nothing to forget when a fetch fails).
        self._locks = [asyncio.Lock() for _ in range(LOCKS)]

    def _path(self, unique_id: str) -> Path:
        return self.directory / hashlib.sha256(unique_id.encode()).hexdigest()

    async def get(self, file_id: str, unique_id: str) -> bytes:
        path = self._path(unique_id)
        async with self._locks[int(path.name[:8], 16) % LOCKS]:
            try:
                data = await asyncio.to_thread(path.read_bytes)
                with contextlib.suppress(OSError):
                    os.utime(path)  # recently read: kept longer
                return data
            except FileNotFoundError:
                pass
            data = await self._fetch(file_id)
            if len(data) <= self.max_bytes:
                await asyncio.to_thread(self._store, path, data)
        return data

    async def _fetch(self, file_id: str) -> bytes:
        if not self._token:
            raise EvidenceUnavailable("no bot token")
        base = f"{self.api_base}/bot{self._token}"
        timeout = aiohttp.ClientTimeout(total=30)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.get(f"{base}/getFile", params={"file_id": file_id}) as resp:
                    answer = await resp.json(content_type=None)
                if not answer.get("ok") or not answer["result"].get("file_path"):
                    raise EvidenceUnavailable(str(answer.get("description", "getFile failed")))
                file_path = answer["result"]["file_path"]
                url = f"{self.api_base}/file/bot{self._token}/{file_path}"
                async with http.get(url) as resp:
                    if resp.status != 200:
                        raise EvidenceUnavailable(f"download answered {resp.status}")
                    data = await resp.content.read(MAX_FILE + 1)
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
            # The URL holds the token: only the kind of error is logged.
            log.warning("evidence: cannot fetch a file (%s)", exc.__class__.__name__)
            raise EvidenceUnavailable(exc.__class__.__name__) from None
        if len(data) > MAX_FILE:
            raise EvidenceUnavailable("file too large")
        return data

    def _store(self, path: Path, data: bytes) -> None:
        """Write the file (0600: it is personal data), then drop the least recently read
        files until the cache is under its cap."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        files = []
        for entry in os.scandir(self.directory):
            if entry.is_file() and entry.path != str(path):
                stat = entry.stat()
                files.append((stat.st_mtime, stat.st_size, entry.path))
        total = len(data) + sum(size for _m, size, _p in files)
        for _mtime, size, name in sorted(files):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(FileNotFoundError):
                os.remove(name)
            total -= size

    def cached_bytes(self) -> int:
        if not self.directory.is_dir():
            return 0
        return sum(e.stat().st_size for e in os.scandir(self.directory) if e.is_file())
