"""Progress of a long command on stderr.

On a terminal: a tqdm bar (rows done, rate, time left when the total is known). When
stderr is a file or a pipe (cron, CI, a log): one plain line every ``every`` rows, and
a last line with the total, so a log shows the command advancing without a line per row
or terminal control characters. Short runs (under ``every`` rows) print nothing there.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from locales import _

PLAIN_EVERY = 100_000


class Progress:
    def __init__(
        self,
        description: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        every: int = PLAIN_EVERY,
    ) -> None:
        self.description = description
        self.total = total
        self.count = 0
        self._stream = stream or sys.stderr
        self._every = every
        self._next = every
        self._bar: Any = None
        if self._stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                desc=description,
                unit="rows",
                file=self._stream,
                mininterval=0.5,
                leave=True,
            )

    def update(self, n: int = 1) -> None:
        self.count += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.count >= self._next:
            self._line()
            self._next = (self.count // self._every + 1) * self._every

    def _line(self) -> None:
        if self.total:
            text = _("{what}: {n} of {total} rows").format(
                what=self.description, n=self.count, total=self.total
            )
        else:
            text = _("{what}: {n} rows").format(what=self.description, n=self.count)
        print(text, file=self._stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.count >= self._every and self.count % self._every:
            self._line()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
