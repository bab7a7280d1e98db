"""Write ``.env.example`` from the settings class (bot/settings.py).

    .venv/bin/python scripts/env_example.py           # write .env.example
    .venv/bin/python scripts/env_example.py --check   # exit 1 when .env.example is stale

Each setting's one-line meaning is its ``Field(description=...)``; a setting without one
stops the script (and fails tests/test_env_example.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.settings import env_example  # noqa: E402

TARGET = ROOT / ".env.example"


def main(argv: list[str]) -> int:
    text = env_example()
    if argv[1:] == ["--check"]:
        if not TARGET.is_file() or TARGET.read_text(encoding="utf-8") != text:
            print(
                f"{TARGET.name} is stale: run .venv/bin/python scripts/env_example.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
