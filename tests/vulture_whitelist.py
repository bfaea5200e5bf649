"""Names vulture cannot see used: Typer commands and options (called by the framework),
``io.RawIOBase`` hooks, and public API kept for library users (tested in tests/)."""

_root  # noqa: B018, F821 - Typer's app callback
version  # noqa: B018, F821 - its --version option
compress  # noqa: B018, F821
info  # noqa: B018, F821
readable  # noqa: B018, F821 - io.RawIOBase
readinto  # noqa: B018, F821
reconstruct_at  # noqa: B018, F821 - public: HiPPO.reconstruct_at
save  # noqa: B018, F821 - public: HiPPO.save
