"""Names vulture cannot see used: Typer commands and options (called by the framework),
``io.RawIOBase`` hooks, and public API kept for library users (tested in tests/)."""

_root  # noqa: B018, F821 - Typer's app callback
format_options  # noqa: B018, F821 - click calls it (GroupedCommand)
on_start  # noqa: B018, F821 - numba's event listener (_jit)
on_end  # noqa: B018, F821
showwarning  # noqa: B018, F821 - the warnings module calls it (cli.app.warnings_said)
version  # noqa: B018, F821 - its --version option
compress  # noqa: B018, F821
info  # noqa: B018, F821
test_files  # noqa: B018, F821 - hippo test
readable  # noqa: B018, F821 - io.RawIOBase
readinto  # noqa: B018, F821
reconstruct_at  # noqa: B018, F821 - public: HiPPO.reconstruct_at
save  # noqa: B018, F821 - public: HiPPO.save
