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
get_config  # noqa: B018, F821 - numcodecs calls it (HippoCodec; zarr stores the config)
is_fixed_size  # noqa: B018, F821 - zarr's codec interface (HippoZarr3)
from_dict  # noqa: B018, F821
to_dict  # noqa: B018, F821 - zarr's codec interface (HippoZarr3)
validate  # noqa: B018, F821
_decode_single  # noqa: B018, F821
_encode_single  # noqa: B018, F821
compute_encoded_size  # noqa: B018, F821
__getattr__  # noqa: B018, F821 - the package's lazy names (to_hippo, read_hippo; PEP 562)
replacing  # noqa: B018, F821 - public: storage.replacing (the scope -f/--force sets)
seekable  # noqa: B018, F821 - io.RawIOBase
