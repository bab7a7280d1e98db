"""The test driver of the fake Bot API: people who wait for the bot's messages and fail
the test (AssertionError, with the chat so far) when the bot does not answer as expected.

``fake_bot_api`` holds no assertions; here its :class:`~fake_bot_api.Person` and
:class:`~fake_bot_api.Message` get them. The ``fake_api`` fixture is a
:class:`DrivenBotAPI`, so ``fake_api.user(...)`` is a :class:`Phone`::

    sari = fake_api.user(2001, "Sari", language_code="en")
    await sari.send_text("/start")
    await sari.expect("I agree")
    await sari.press("✅ I agree")

A person the sandbox made (a plain ``Person``) is driven with :func:`driven`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fake_bot_api import FakeBotAPI, Message, NotInChat, Person


class ShownMessage(Message):
    """A stored message that names its buttons in an AssertionError."""

    def button(self, text: str) -> dict[str, Any]:
        """The inline button with exactly this text (AssertionError listing the others)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        for row in rows:
            for button in row:
                if button.get("text") == text:
                    return button
        raise AssertionError(
            f"message {self.message_id} in chat {self.chat_id} has no inline button {text!r}; "
            f"available: {self.buttons()!r} (text: {self.text!r})"
        )


class Phone(Person):
    """A :class:`~fake_bot_api.Person` with the test driver's waits and assertions.

    Reading is by cursor: ``next_message`` and ``expect`` consume the bot's messages in
    order; ``press`` fails the test when the button is not there."""

    async def press(
        self, button_text: str, message: Message | None = None, *, stale: bool = False
    ) -> str:
        try:
            return await super().press(button_text, message, stale=stale)
        except NotInChat as exc:
            raise AssertionError(str(exc)) from None

    async def press_data(self, data: str, message: Message | None = None) -> str:
        try:
            return await super().press_data(data, message)
        except NotInChat as exc:
            raise AssertionError(str(exc)) from None

    async def next_message(self, timeout: float = 5.0) -> Message:  # noqa: ASYNC109
        """The next new message the bot sent to this chat that was not consumed yet."""
        if not await self.api.wait_until(lambda: self.cursor < len(self.messages), timeout):
            raise AssertionError(
                f"{self!r}: no new message from the bot within {timeout}s. "
                f"Chat so far:\n{self.transcript()}"
            )
        msg = self.messages[self.cursor]
        self.cursor += 1
        return msg

    async def expect(self, contains: str, timeout: float = 5.0) -> Message:  # noqa: ASYNC109
        """Consume messages until one whose text (raw or visible) contains ``contains``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen: list[str | None] = []
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self.api.wait_until(
                lambda: self.cursor < len(self.messages), remaining
            ):
                raise AssertionError(
                    f"{self!r}: no message containing {contains!r} within {timeout}s; "
                    f"texts seen meanwhile: {seen!r}\nChat so far:\n{self.transcript()}"
                )
            msg = self.messages[self.cursor]
            self.cursor += 1
            if msg.shows(contains):
                return msg
            seen.append(msg.text)

    async def expect_no_message(self, within: float = 0.5) -> None:
        """Fail if the bot sends anything new to this chat within ``within`` seconds."""
        if await self.api.wait_until(lambda: self.cursor < len(self.messages), within):
            unexpected = self.messages[self.cursor :]
            self.cursor = len(self.messages)
            raise AssertionError(
                f"{self!r}: expected no message, got {[m.text for m in unexpected]!r}"
            )

    async def expect_edit(
        self,
        contains: str | None = None,
        *,
        message: Message | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Message:
        """Wait until a message is edited (and, if given, shows ``contains``).

        The default message is the one last pressed (it must get a new edit after the
        press), else the newest bot message (it must have been edited at least once).
        """
        target = message or self.last_pressed or (self.messages[-1] if self.messages else None)
        if target is None:
            raise AssertionError(f"{self!r}: no bot message to wait for an edit on")
        baseline = self.edits_when_pressed if target is self.last_pressed else 0

        def done() -> bool:
            return target.edited > baseline and (contains is None or target.shows(contains))

        if not await self.api.wait_until(done, timeout):
            raise AssertionError(
                f"{self!r}: message {target.message_id} was not edited"
                + (f" to contain {contains!r}" if contains else "")
                + f" within {timeout}s; it shows {target.text!r} "
                f"(edited {target.edited}x). Chat so far:\n{self.transcript()}"
            )
        return target

    async def wait_callback_answer(
        self,
        query_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The answerCallbackQuery params for ``query_id`` (default: the last press)."""
        query_id = query_id or self.last_query_id
        if query_id is None:
            raise AssertionError(f"{self!r} has not pressed any button")

        def find() -> dict[str, Any] | None:
            for answer in self.callback_answers:
                if answer["callback_query_id"] == query_id:
                    return answer
            return None

        if not await self.api.wait_until(lambda: find() is not None, timeout):
            raise AssertionError(
                f"{self!r}: callback query {query_id} was not answered within {timeout}s"
            )
        answer = find()
        assert answer is not None
        return answer

    def last(self) -> Message:
        """The newest message the bot sent to this chat (does not move the cursor)."""
        if not self.messages:
            raise AssertionError(f"{self!r}: the bot has not sent anything to this chat")
        return self.messages[-1]


class DrivenBotAPI(FakeBotAPI):
    """The fake Bot API whose people are :class:`Phone` s and messages :class:`ShownMessage` s."""

    person_class = Phone
    message_class = ShownMessage


def driven(person: Person) -> Phone:
    """``person`` (e.g. one of the sandbox's phones) as a :class:`Phone`: the same object,
    its class switched, so the driver's methods read the same chat and cursor."""
    if not isinstance(person, Phone):
        person.__class__ = Phone
    return person  # type: ignore[return-value]
