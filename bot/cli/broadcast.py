"""``lapor-warga broadcast``: an announcement to every linked resident of a region."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.core import EXIT_CONFIG, EXIT_OK, CliError, Handler, open_database, require_file
from locales import _
from registry.textfile import UnreadableFile, read_text

if TYPE_CHECKING:
    from bot.settings import Settings

NAME = "broadcast"

BROADCAST_POLL = 1.0  # seconds between looks at a broadcast's progress


def register(commands: argparse._SubParsersAction) -> None:
    broadcast_parser = commands.add_parser(
        NAME,
        help="announce a text to every linked resident of a region; the running bot "
        "(lapor-warga run) delivers it",
    )
    broadcast_parser.add_argument(
        "--region",
        required=True,
        metavar="CODE",
        help="region code of any level: 16 (provinsi), 16.71, 16.71.01, 16.71.01.1001",
    )
    broadcast_parser.add_argument(
        "--text-file",
        type=Path,
        required=True,
        metavar="FILE",
        help="UTF-8 text of the announcement (plain text, at most 3500 characters)",
    )
    broadcast_parser.add_argument(
        "--no-wait",
        action="store_true",
        help="only queue the messages; do not wait until every one has gone out",
    )


def _announcement(path: Path) -> str:
    from flows.broadcast import MAX_TEXT, text_length

    require_file(path)
    try:
        text = read_text(path).strip()
    except OSError as exc:
        raise CliError(
            _("Cannot read {file}: {error}").format(
                file=path, error=exc.strerror or exc.__class__.__name__
            ),
            EXIT_CONFIG,
        ) from None
    except UnreadableFile as exc:
        raise CliError(str(exc), EXIT_CONFIG) from None
    if not text:
        raise CliError(_("{file} is empty: nothing to announce.").format(file=path), EXIT_CONFIG)
    if text_length(text) > MAX_TEXT:
        raise CliError(
            _("{file}: the announcement has {n} characters; at most {max} fit.").format(
                file=path, n=text_length(text), max=MAX_TEXT
            ),
            EXIT_CONFIG,
        )
    return text


async def broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from flows.broadcast import announce, region_name
    from registry.broadcasts import tally
    from registry.regions import get_region, region_level
    from storage import db

    text = _announcement(args.text_file)
    code = args.region.strip()
    engine = await open_database(settings)
    try:
        sessionmaker = db.make_sessionmaker(engine)
        async with sessionmaker() as session:
            if region_level(code) is None or await get_region(session, code) is None:
                raise CliError(
                    _("Region {code} is not in the database.").format(code=code), EXIT_CONFIG
                )
            name = await region_name(session, code)
            broadcast = await announce(session, code, text)
            if broadcast is None:
                print(
                    _(
                        "No resident of {region} has linked their account yet: nothing was queued."
                    ).format(region=name)
                )
                return EXIT_OK
            await session.commit()
        print(
            _(
                "Queued {n} message(s) to the linked residents of {region} (broadcast {id}). "
                "The running bot (lapor-warga run) delivers them."
            ).format(n=broadcast.total, region=name, id=broadcast.id)
        )
        if args.no_wait:
            return EXIT_OK
        print(
            _("Waiting until every message has gone out (Ctrl+C stops waiting; they stay queued)."),
            file=sys.stderr,
        )
        shown = None
        while True:
            async with sessionmaker() as session:
                counts = await tally(session, broadcast.id)
            if counts != shown:
                print(
                    _("{done} of {total} done: {sent} delivered, {blocked} blocked, {failed} failed").format(
                        done=counts.total - counts.pending, total=counts.total, sent=counts.sent,
                        blocked=counts.undeliverable, failed=counts.failed,
                    ),
                    file=sys.stderr,
                )  # fmt: skip
                shown = counts
            if counts.done:
                break
            await asyncio.sleep(BROADCAST_POLL)
        summary = _("Broadcast {id}: {sent} delivered, {blocked} blocked the bot, {failed} failed.")
        print(
            summary.format(
                id=broadcast.id,
                sent=counts.sent,
                blocked=counts.undeliverable,
                failed=counts.failed,
            )
        )
        return EXIT_OK
    finally:
        await engine.dispose()


HANDLERS: dict[str | None, Handler] = {None: broadcast}
