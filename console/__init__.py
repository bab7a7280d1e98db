"""The web console for village operators and Dinas Sosial officers: an adapter on top of
the same flows/ and registry/ functions as the chat (see docs/console.md)."""
