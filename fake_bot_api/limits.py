"""Telegram's limits and fixed answers, as the fake Bot API enforces them."""

from __future__ import annotations

import re

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WRONG_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"

# Update types Telegram delivers when allowed_updates is empty / never set.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "media",
        "menu_button",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "message_ids",
    }
)
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")

# What the flood limit counts (lower case): every method that posts a message to a chat or
# changes one, as Telegram's "about 30 messages a second" does. sendMediaGroup counts each
# item, copyMessages/forwardMessages each message. Not counted: getUpdates and the other
# get* methods, answerCallbackQuery, sendChatAction, deleteMessage(s), the set* methods.
FLOOD_COUNTED_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendmediagroup",
        "sendaudio",
        "sendvideo",
        "sendanimation",
        "sendvoice",
        "sendvideonote",
        "sendsticker",
        "sendlocation",
        "sendvenue",
        "sendcontact",
        "sendpoll",
        "senddice",
        "copymessage",
        "copymessages",
        "forwardmessage",
        "forwardmessages",
        "editmessagetext",
        "editmessagecaption",
        "editmessagemedia",
        "editmessagereplymarkup",
        "editmessagelivelocation",
    }
)
OUTAGE_MODES = ("500", "429", "timeout")
OUTAGE_HANG = 60.0  # seconds a "timeout" outage holds a request at most (aiogram's default)
