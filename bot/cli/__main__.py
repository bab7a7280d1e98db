"""``python -m bot.cli``: the same as the ``lapor-warga`` console script."""

import sys

from bot.cli import main

sys.exit(main())
