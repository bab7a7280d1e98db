"""Media for tests and the sandbox: a tiny PNG, the size of a PNG or JPEG, a voice note."""

from __future__ import annotations

import struct
import zlib


def make_png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid, tiny, solid-colour PNG image."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


SAMPLE_PNG = make_png()


def make_voice(seconds: int = 3) -> bytes:
    """Bytes standing for a voice note (an Ogg page header and silence): the fake stores
    and serves them; nothing decodes them."""
    return b"OggS\x00\x02" + bytes(26) + b"OpusHead" + bytes(64 * max(1, seconds))


SAMPLE_VOICE = make_voice()


def image_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG image, or None if not recognised."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return width, height
    if content.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(content):
            if content[i] != 0xFF:
                i += 1
                continue
            marker = content[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            (length,) = struct.unpack(">H", content[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", content[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return None


def image_ext(content: bytes) -> str:
    if content.startswith(b"\x89PNG"):
        return "png"
    return "jpg"
