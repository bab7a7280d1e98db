"""The tests' shared helpers, in one place (no test module imports another).

* ``tests.driver`` (beside this package): the fake Bot API's test driver: people who
  ``expect`` the bot's messages and ``press`` its buttons, failing with the chat so far;
* ``chat``: the people of the chat tests (ids ``RT_ID``, ``SARI_ID``...), ``seed``,
  ``agree``, ``link``, ``open_bot``, ``reviewer``, ``linked_sari``, ``start_birth``,
  ``file_birth_en``, ``ago``;
* ``walk``: report forms as scripts of answers (``Op``, ``Act``, ``Script``, ``Walk``)
  and the world of the report-type walks (its own ids, ``seed``, ``report_numbered``);
* ``db``: test databases (``PG_ADMIN_URL``, templates, ``fresh_database``), ``in_db``,
  ``draft_answers``;
* ``world``: registry worlds for tests without a bot (``registry_world``, ``account``);
* ``processes``: ``lapor-warga run`` subprocesses for the production tests, their
  shared-database world, ``resident``, ``two_bots``, ``until``.

Fixtures (``database_url``, ``fake_api``, ``running_bot``, ``cli_db``...) are in
``tests/conftest.py``. What the benchmarks share with the tests is in ``testkit/``.
"""
