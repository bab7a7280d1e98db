"""Telegram's HTML parse mode (a port of tdlib's strict parser) and UTF-16 lengths."""

from __future__ import annotations

import re
from typing import Any


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram counts)."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


class HTMLParseError(ValueError):
    """The text is not valid Telegram HTML; str(err) is the reason Telegram gives."""


_SPACES = " \t\r\n\0\v\f"
_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,9})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z]+));?")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NAME_TOKEN_RE = re.compile(r"[A-Za-z0-9.\-]*")


def _decode_html_entity(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code <= 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into (visible text, message entities).

    Follows tdlib's parser: supported tags only, properly nested and closed, a ``<`` that
    does not start a supported tag is an error, a bare ``>`` is allowed. ``&`` must start
    ``&lt; &gt; &amp; &quot;`` or a numeric character reference; tdlib itself keeps an
    unknown ``&`` literally, which is what ``strict_ampersand=False`` does.
    Entity offsets/lengths are in UTF-16 code units. Raises :class:`HTMLParseError`.
    """
    n = len(text)

    def at(j: int) -> str:
        return text[j] if j < n else "\0"

    def byte_offset(j: int) -> int:
        return len(text[:j].encode("utf-8", "surrogatepass"))

    out: list[str] = []
    utf16 = 0
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            decoded = _decode_html_entity(match)
            if decoded is not None and match is not None:
                out.append(decoded)
                utf16 += utf16_len(decoded)
                i = match.end()
                continue
            if strict_ampersand:
                raise HTMLParseError(
                    f'Unsupported HTML entity at byte offset {byte_offset(i)}: a literal "&" '
                    'must be escaped as "&amp;"'
                )
        if c != "<":
            out.append(c)
            utf16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        if at(i + 1) != "/":
            # start tag
            i += 1
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise HTMLParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _TAGS:
                raise HTMLParseError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
                )
            attrs: dict[str, str] = {}
            while at(i) != ">":
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                if i >= n:
                    raise HTMLParseError(
                        f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                attr_begin = i
                while at(i) not in _SPACES and at(i) not in "=>":
                    i += 1
                attr_name = text[attr_begin:i].lower()
                if not attr_name:
                    raise HTMLParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{byte_offset(begin)}"
                    )
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr_name == "expandable":
                        attrs["expandable"] = ""
                        continue
                    raise HTMLParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte_offset(begin)}'
                    )
                i += 1
                while i < n and at(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise HTMLParseError(
                        f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                if at(i) not in "'\"":
                    token = _NAME_TOKEN_RE.match(text, i)
                    assert token is not None
                    value = token.group(0).lower()
                    token_begin = i
                    i = token.end()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise HTMLParseError(
                            f"Unexpected end of name token at byte offset {byte_offset(token_begin)}"
                        )
                else:
                    quote = at(i)
                    i += 1
                    buf: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            match = _HTML_ENTITY_RE.match(text, i)
                            decoded = _decode_html_entity(match)
                            if decoded is not None and match is not None:
                                buf.append(decoded)
                                i = match.end()
                                continue
                        buf.append(text[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(buf)
                if i >= n:
                    raise HTMLParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                attrs[attr_name] = value
            i += 1  # '>'
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                raise HTMLParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            stack.append((tag, attrs, utf16))
            continue

        # end tag
        if not stack:
            raise HTMLParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        i += 2
        while at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_name = text[begin + 2 : i].lower()
        while i < n and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise HTMLParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        tag, attrs, start = stack.pop()
        if end_name and end_name != tag:
            raise HTMLParseError(
                f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        length = utf16 - start
        if tag == "code" and stack and stack[-1][0] == "pre":
            # <pre><code class="language-x">: tdlib folds the code into the pre entity.
            language = attrs.get("class", "")
            if language.startswith("language-"):
                stack[-1][1]["language"] = language[len("language-") :]
            continue
        if length <= 0:
            continue
        entity: dict[str, Any] = {"type": _TAG_ENTITY[tag], "offset": start, "length": length}
        if tag == "a":
            href = attrs.get("href", "")
            if not href:
                continue
            entity["url"] = href
        elif tag == "tg-emoji":
            emoji_id = attrs.get("emoji-id", "")
            if not emoji_id:
                continue
            entity["custom_emoji_id"] = emoji_id
        elif tag == "pre":
            if attrs.get("language"):
                entity["language"] = attrs["language"]
        elif tag == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        entities.append(entity)

    if stack:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


# --------------------------------------------------------------------------------------
