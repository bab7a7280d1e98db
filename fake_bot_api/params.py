"""Parameters of a Bot API call: query string, JSON, URL-encoded or multipart."""

from __future__ import annotations

import email.parser
import email.policy
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from fake_bot_api.errors import TelegramError
from fake_bot_api.limits import JSON_PARAMS


@dataclass
class Upload:
    filename: str | None
    content: bytes
    content_type: str | None


class Params:
    def __init__(
        self, values: dict[str, Any], files: dict[str, Upload], request: web.Request
    ) -> None:
        self.values = values
        self.files = files
        self.request = request

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "") or name in self.files

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise TelegramError(f"Bad Request: invalid {name} specified") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes")

    def get_json(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise TelegramError(f"Bad Request: can't parse {name} JSON object") from None

    def loggable(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in self.values.items():
            if key in JSON_PARAMS and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            result[key] = value
        for key, upload in self.files.items():
            result.setdefault(key, {"filename": upload.filename, "size": len(upload.content)})
            if key in self.values:
                result[f"{key}:file"] = {"filename": upload.filename, "size": len(upload.content)}
        return result


def parse_webhook_reply(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Upload]]:
    """The parameters of a Bot API call in a webhook's answer (JSON, URL-encoded or
    multipart, as Telegram accepts); empty when there is none."""
    mime = content_type.split(";", 1)[0].strip().lower()
    values: dict[str, Any] = {}
    files: dict[str, Upload] = {}
    if not body.strip():
        return values, files
    if mime == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            return values, files
        if isinstance(data, dict):
            values.update(data)
    elif mime == "application/x-www-form-urlencoded":
        values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif mime == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            return values, files
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or not name:
                continue
            content = part.get_payload(decode=True)
            content = content if isinstance(content, bytes) else b""
            filename = part.get_filename()
            if filename is None:
                values[name] = content.decode(part.get_content_charset() or "utf-8", "replace")
            else:
                files[name] = Upload(filename, content, part.get_content_type())
    return values, files
