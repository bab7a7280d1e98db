"""What the tests and the benchmarks share (not shipped in the wheel).

* ``factories``: two invented families (SARI, HARTONO) of the village the tests use,
  as registry rows and CSV files;
* ``synthetic``: any number of synthetic registry rows;
* ``pgcluster``: a throwaway PostgreSQL 15 cluster in a temporary directory;
* ``harness``: the real bot (``BotRunner``) pointed at a ``fake_bot_api.FakeBotAPI``;
* ``botenv``: the environment of a ``lapor-warga run`` subprocess pointed at one.

Nothing here asserts: the tests' own helpers and driver live in ``tests/``.
"""
