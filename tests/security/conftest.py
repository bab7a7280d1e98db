"""Security tests use the fixtures of tests/conftest.py (``running_bot``, ``fake_api``)."""
