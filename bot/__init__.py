"""Lapor Warga: the bot, its command line and the sandbox.

``__version__`` is the one place the version is written: ``pyproject.toml`` reads it
(``[tool.setuptools.dynamic]``) and ``lapor-warga --version`` prints it.
"""

__version__ = "0.1.0"
