"""Object storage: inputs and outputs given as fsspec URLs (``s3://``, ``gs://``,
``memory://``, ...), with the guarantees of local files where the store allows them.

* :func:`is_url` tells a URL from a local path: a scheme ``name://`` that fsspec knows (a
  Windows drive ``C:\\`` is not one). ``file://`` URLs are local paths (:func:`local_or_url`
  strips the scheme), so every local guarantee (locks, links, devices) holds for them.
* **Reading.** A CSV is streamed (:func:`open_url_input` with ``sequential``); any reader
  that seeks (``.hippo``, ``.npy``, Parquet) gets a local copy made by one GET into an
  anonymous temporary file: one consistent version of the object, as a local reader reads
  one file through one handle (ranged reads of an object replaced meanwhile would mix two
  versions).
* **Writing** (:class:`RemoteFile`, what :class:`~hippo_cli.atomic.AtomicFile` becomes for a
  URL): the bytes go to a local temporary and are uploaded in one ``put`` only when the output
  is complete, so an exception, Ctrl-C or SIGTERM before that leaves no object. A whole-object
  PUT is atomic on S3 (readers see the old or the new object); s3fs switches to a multipart
  upload beyond ~100 MB, aborted on failure (:func:`_abort_uploads` for an interruption).
* **Never replaced unless asked.** An existing object is refused (before any work) unless
  ``force``, whose default is :func:`replacing`'s scope (the CLI sets it from its flag). On
  S3 the upload is a conditional PUT (``If-None-Match: *``), so a writer that appeared
  between the check and the upload is refused too. An output that is one of the command's
  inputs (the same URL) is refused.
* Credentials and endpoints come only from fsspec's and botocore's own configuration
  (``FSSPEC_S3_ENDPOINT_URL``, ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, any
  ``FSSPEC_<PROTOCOL>_<OPTION>``, fsspec config files); a library caller may add fsspec
  options for a scope with :func:`options`.
* Errors of the store (no bucket, access denied, no such key, no credentials) are one
  :class:`~hippo_cli.errors.DataError` line naming the URL. fsspec's own instance cache is
  used (it is fsspec's); this module keeps no working object between calls.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from .errors import DataError, ParameterError

#: ``name://`` at the start of a text (a one-letter name is a Windows drive, never a scheme).
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
#: Schemes known without fsspec installed (to say which extra is missing).
_COMMON = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "http", "https",
                     "memory", "hdfs", "sftp", "ftp", "file"})
#: The package and the install hint of a scheme whose implementation is missing.
_EXTRA = {"s3": ("s3fs", "pip install 'hippo-cli[s3]'"),
          "s3a": ("s3fs", "pip install 'hippo-cli[s3]'"),
          "gs": ("gcsfs", "pip install gcsfs"), "gcs": ("gcsfs", "pip install gcsfs"),
          "az": ("adlfs", "pip install adlfs"), "abfs": ("adlfs", "pip install adlfs"),
          "abfss": ("adlfs", "pip install adlfs")}
#: Prefix of the local temporaries of outputs on their way to a store.
UPLOAD_MARK = "hippo-upload-"

#: Options passed to fsspec for every URL in this scope (:func:`options`).
_options: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "hippo_storage_options", default=None)
#: Whether existing objects may be replaced in this scope (the CLI's -f/--overwrite).
_replace: contextvars.ContextVar[bool] = contextvars.ContextVar("hippo_replace",
                                                                default=False)


# --------------------------------------------------------------------------- names
def scheme_of(text: object) -> str | None:
    """The lower-case scheme of a URL text (``s3``), None for anything else."""
    if isinstance(text, RemotePath):
        return text.scheme
    if not isinstance(text, str):
        return None
    m = _SCHEME.match(text)
    return m.group(1).lower() if m else None


def _known(scheme: str) -> bool:
    try:
        from fsspec.registry import known_implementations, registry
    except ImportError:
        return scheme in _COMMON
    return scheme in known_implementations or scheme in registry


def is_url(text: object) -> bool:
    """Whether ``text`` (a str, or a :class:`RemotePath`) is a URL of a store fsspec knows
    (``file://`` included: see :func:`local_or_url`). A ``pathlib.Path`` is never one."""
    scheme = scheme_of(text)
    return scheme is not None and _known(scheme)


def is_remote(text: object) -> bool:
    """Whether ``text`` is a URL that is not a local file (not ``file://``)."""
    return is_url(text) and scheme_of(text) not in ("file", "local")


def local_or_url(text: str) -> str:
    """``file:///data/x.csv`` -> ``/data/x.csv`` (local, with every local guarantee); any
    other text unchanged."""
    if is_url(text) and scheme_of(text) in ("file", "local"):
        from urllib.parse import unquote

        rest = text.split("://", 1)[1]
        return unquote(rest) or "."
    return text


class RemotePath(PurePosixPath):
    """An object URL with the name arithmetic of a path (``.name``, ``.suffix``,
    ``.with_name()``, ``/``, ``.parent``), so that the code that derives output names works
    on it unchanged. ``str()`` is the URL. It is no local path: ``os.fspath`` refuses it
    (a URL must never reach ``open``, where ``s3://b/k`` would be a local folder ``s3:``)."""

    def __new__(cls, url: str | RemotePath) -> RemotePath:
        text = str(url)
        scheme = scheme_of(text)
        if scheme is None:
            raise ValueError(f"not a URL: {text!r}")
        # kept as "s3:/bucket/key" (PurePosixPath collapses //); __str__ puts it back
        return super().__new__(cls, f"{scheme}:/{text.split('://', 1)[1].lstrip('/')}")

    def __str__(self) -> str:
        text = super().__str__()
        scheme, _, rest = text.partition(":/")
        return f"{scheme}://{rest}"

    def __repr__(self) -> str:
        return f"RemotePath({str(self)!r})"

    def __fspath__(self) -> str:
        raise TypeError(f"{self}: an object storage URL, not a local path")

    @property
    def scheme(self) -> str:
        return super().__str__().partition(":/")[0].lower()


def as_path(text: str | os.PathLike) -> Path | RemotePath:
    """A local path as a ``Path``; a URL (not ``file://``) as a :class:`RemotePath`."""
    if isinstance(text, RemotePath):
        return text
    if isinstance(text, str):
        text = local_or_url(text)
        if is_url(text):
            return RemotePath(text)
    return Path(text)


# --------------------------------------------------------------------------- scopes
@contextlib.contextmanager
def replacing(allowed: bool) -> Iterator[None]:
    """A scope in which existing objects may (or may not) be replaced by default."""
    token = _replace.set(bool(allowed))
    try:
        yield
    finally:
        _replace.reset(token)


@contextlib.contextmanager
def options(storage_options: dict[str, Any] | None) -> Iterator[None]:
    """A scope in which every URL is opened with these fsspec ``storage_options``."""
    token = _options.set(dict(storage_options or {}))
    try:
        yield
    finally:
        _options.reset(token)


# --------------------------------------------------------------------------- the store
def filesystem(url: str | RemotePath) -> tuple[Any, str]:
    """(fsspec file system, path inside it) of ``url``; a missing implementation is one
    ParameterError line saying what to install."""
    url = str(url)
    scheme = scheme_of(url) or ""
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise ParameterError(f"{scheme}:// needs fsspec: "
                             f"{_EXTRA.get(scheme, ('', 'pip install fsspec'))[1]}") from None
    try:
        return url_to_fs(url, **(_options.get() or {}))
    except ImportError:
        package, hint = _EXTRA.get(scheme, (scheme, "install its fsspec implementation"))
        if scheme in ("s3", "s3a"):
            raise ParameterError("s3:// needs the s3 extra: pip install 'hippo-cli[s3]'") \
                from None
        raise ParameterError(f"{scheme}:// needs {package}: {hint}") from None
    except (TypeError, ValueError) as err:  # a bad option (options(), FSSPEC_* variables)
        raise ParameterError(f"{url}: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def store_error(url: str | RemotePath, err: BaseException) -> DataError:
    """One line naming ``url`` for a failure of the store."""
    name = type(err).__name__
    text = _first_line(err)
    code = ""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    if isinstance(err, FileNotFoundError) or code in ("NoSuchKey", "404"):
        bucket_gone = "bucket" in text.lower() or code == "NoSuchBucket"
        return DataError(f"{url}: {'no such bucket' if bucket_gone else 'no such object'}")
    if code == "NoSuchBucket":
        return DataError(f"{url}: no such bucket")
    if isinstance(err, PermissionError) or code in ("AccessDenied", "403"):
        return DataError(f"{url}: access denied ({text})")
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return DataError(f"{url}: no credentials for the store ({text}); set them as for "
                         "any AWS tool (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...)")
    if name in ("EndpointConnectionError", "ClientConnectorError", "ConnectTimeoutError") \
            or isinstance(err, ConnectionError):
        return DataError(f"{url}: cannot reach the store ({text})")
    return DataError(f"{url}: {text}")


@contextlib.contextmanager
def store_errors(url: str | RemotePath) -> Iterator[None]:
    """Errors of the store inside the block become one DataError line naming ``url``
    (hippo's own errors, Ctrl-C and SIGTERM pass)."""
    from .errors import HippoError

    try:
        yield
    except HippoError:
        raise
    except Exception as err:  # botocore, aiohttp, fsspec: any failure of the store
        raise store_error(url, err) from None


def _no_bucket(fs: Any, path: str) -> bool:
    """Whether the bucket (first part of ``path``) is missing, on stores with buckets."""
    bucket = path.split("/", 1)[0]
    if not bucket or fs.protocol in ("memory",) or "memory" in (fs.protocol or ()):
        return False
    with contextlib.suppress(Exception):
        fs.invalidate_cache(bucket)
        return not fs.exists(bucket)
    return False


def _missing(fs: Any, path: str, what: str = "no such object") -> str:
    """What is missing at ``path``: its bucket, or (``what``) the object."""
    return "no such bucket" if _no_bucket(fs, path) else what


def exists(url: str | os.PathLike) -> bool:
    """Whether an object is at ``url`` now (listing caches dropped first); a local path:
    whether it exists."""
    if not is_remote(url):
        return os.path.exists(url)
    fs, path = filesystem(url)
    with store_errors(url):
        fs.invalidate_cache(path)
        return bool(fs.exists(path))


# --------------------------------------------------------------------------- reading
def open_url_input(url: str, what: str = "it", *, sequential: bool = False) -> IO[bytes]:
    """Open the object ``url`` to read once. ``sequential`` (a CSV): streamed, with
    ``peek`` (compression is told by the first bytes). Otherwise (a reader that seeks): a
    local copy by one GET, in an anonymous temporary file - a real file (``fileno``,
    memory maps) holding one version of the object. (The caller,
    :func:`~hippo_cli.atomic.open_input`, remembers it as an input.)"""
    fs, path = filesystem(url)
    with store_errors(url):
        fs.invalidate_cache(path)
        if fs.isdir(path) and not fs.isfile(path):
            raise DataError(f"{url}: is a folder (a prefix), not an object")
        if not fs.exists(path):
            raise DataError(f"{url}: {_missing(fs, path)}")
        if sequential:
            import io

            return io.BufferedReader(_Streamed(fs.open(path, "rb"), url), 1 << 20)
        return _download(fs, path, url)


def _download(fs: Any, path: str, url: str) -> IO[bytes]:
    fd, name = tempfile.mkstemp(prefix="hippo-download-")
    os.close(fd)
    try:
        fs.get_file(path, name)
        fh = open(name, "rb")
    finally:
        with contextlib.suppress(OSError):  # POSIX: the open file lives on, nameless
            os.unlink(name)
    return fh


class _Streamed:
    """An fsspec file as a raw stream for ``io.BufferedReader``, whose failures are one
    DataError line naming the URL (a connection lost in the middle of a CSV)."""

    def __init__(self, fh: Any, url: str) -> None:
        self._fh = fh
        self._url = url
        self.closed = False
        self.size = getattr(fh, "size", None)

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def readinto(self, buf: Any) -> int:
        with store_errors(self._url):
            data = self._fh.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self._fh.tell()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                self._fh.close()

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        import io

        raise io.UnsupportedOperation("an object in a store has no file descriptor")

    def isatty(self) -> bool:
        return False


def object_size(raw: Any) -> int | None:
    """The size in bytes of a streamed object (:func:`open_url_input`), None if unknown."""
    inner = getattr(raw, "raw", raw)
    return getattr(inner, "size", None)


# --------------------------------------------------------------------------- writing
def check_output_url(url: str | RemotePath, force: bool | None = None) -> RemotePath:
    """Fail early (before any work) when ``url`` must not be written: an existing object
    without ``force`` (default: :func:`replacing`'s scope), a prefix holding objects, a
    missing bucket. (That it is no input of the command is checked by the caller,
    :func:`~hippo_cli.atomic.check_output_path`.)"""
    target = RemotePath(url)
    force = _replace.get() if force is None else force
    fs, path = filesystem(target)
    with store_errors(target):
        fs.invalidate_cache(path)
        if fs.exists(path):
            if fs.isdir(path) and not fs.isfile(path):
                raise DataError(f"{target}: is a folder (a prefix holding objects); give an "
                                "object name")
            if not force:
                raise DataError(f"{target}: exists; hippo does not replace an object unless "
                                "asked (-f/--force), choose another output")
        elif _no_bucket(fs, path):
            raise DataError(f"{target}: no such bucket")
    return target


def _uploads_of(fs: Any, path: str) -> set[str]:
    """The ids of the multipart uploads of ``path`` in progress (none where unknown)."""
    bucket, _, key = path.partition("/")
    with contextlib.suppress(Exception):
        return {u["UploadId"] for u in fs.list_multipart_uploads(bucket) or []
                if u.get("Key") == key}
    return set()


def _abort_uploads(fs: Any, path: str, before: set[str]) -> None:
    """Abort the multipart uploads of ``path`` that were not in progress before ours began
    (``before``): an upload that an interruption cut short (s3fs aborts its own only on an
    Exception, not on Ctrl-C or SIGTERM). Told apart by id, not by time: stores' clocks
    (and moto's fixed dates) cannot be trusted."""
    if getattr(fs, "list_multipart_uploads", None) is None:
        return
    bucket, _, key = path.partition("/")
    for upload_id in _uploads_of(fs, path) - before:
        with contextlib.suppress(Exception):
            fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)


#: Outputs at least this large may go up in parts (s3fs: beyond twice its 50 MB chunks).
MULTIPART_FROM = 5 << 20


def upload(local: str | os.PathLike, url: str | RemotePath, force: bool | None = None) -> None:
    """Put the complete local file ``local`` at ``url`` in one upload: a whole-object PUT
    (S3: conditional on no object being there, unless ``force``), or a multipart upload
    aborted on any failure."""
    force = _replace.get() if force is None else force
    fs, path = filesystem(url)
    exclusive = not force and "s3" in _protocols(fs)
    parts = "s3" in _protocols(fs) and os.path.getsize(local) >= MULTIPART_FROM
    before = _uploads_of(fs, path) if parts else set()
    try:
        with store_errors(url):
            if not force:
                fs.invalidate_cache(path)
                if fs.exists(path):
                    raise DataError(f"{url}: exists; hippo does not replace an object unless "
                                    "asked (-f/--force), choose another output")
            if exclusive:
                fs.put_file(os.fspath(local), path, mode="create")
            else:
                fs.put_file(os.fspath(local), path)
            fs.invalidate_cache(path)
    except DataError as err:
        if exclusive and ("PreconditionFailed" in str(err) or "412" in str(err)):
            raise DataError(f"{url}: another writer created it meanwhile; hippo does not "
                            "replace an object unless asked (-f/--force)") from None
        raise
    except BaseException:  # Ctrl-C, SIGTERM while uploading: no part left behind
        if parts:
            _abort_uploads(fs, path, before)
        raise


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def remove(url: str | RemotePath) -> None:
    """Remove the object at ``url`` (best effort: for undoing this run's own uploads)."""
    with contextlib.suppress(Exception):
        fs, path = filesystem(url)
        fs.rm_file(path)
        fs.invalidate_cache(path)


class RemoteFile:
    """An object being written: to a local temporary (``fh``), uploaded by :meth:`rename`
    when complete; :meth:`abort` (or leaving the ``with`` block without a commit) removes
    the temporary and nothing reaches the store. The interface of
    :class:`~hippo_cli.atomic.AtomicFile` (``finish``, ``rename``, ``commit``, ``abort``);
    made by it (``AtomicFile(url)``), which checks first that the URL is no input and
    passes ``track``: (remember, forget) the temporary for an immediate exit's cleanup."""

    through = False

    def __init__(self, url: str | RemotePath, mode: str = "wb", *,
                 force: bool | None = None, track: tuple[Any, Any] | None = None) -> None:
        self._track = track
        self.force = _replace.get() if force is None else force
        self.path = self.real = check_output_url(url, self.force)
        self.committed = False
        text = {"encoding": "utf-8", "newline": "\n"} if "b" not in mode else {}
        fd, name = tempfile.mkstemp(prefix=UPLOAD_MARK, suffix=self.path.suffix)
        self.tmp = Path(name)
        if track is not None:
            track[0](self.tmp)
        try:
            self.fh: IO = os.fdopen(fd, mode.replace("x", "w"), **text)
        except BaseException:
            os.close(fd)
            self.abort()
            raise

    def finish(self) -> None:
        """Flush and close the temporary (the upload is :meth:`rename`)."""
        if not self.fh.closed:
            self.fh.flush()
            self.fh.close()

    def rename(self) -> None:
        """Upload the finished temporary (one PUT or an aborted-on-failure multipart), then
        remove it."""
        upload(self.tmp, self.path, self.force)
        self.committed = True
        self.abort()

    def commit(self) -> None:
        self.finish()
        self.rename()

    def publish(self) -> IO:
        raise ParameterError(f"{self.path}: an object cannot be written while it is read "
                             "(no appends in object storage); write a local file")

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.fh.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()
        if self._track is not None:
            self._track[1](self.tmp)

    def __enter__(self) -> RemoteFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def normal(url: str) -> str:
    """The normal text of a URL (for remembering inputs)."""
    return str(RemotePath(url))


# --------------------------------------------------------------------------- many series
def is_prefix(url: str) -> bool:
    """Whether ``url`` names several inputs: a glob, a trailing ``/``, or a prefix that
    holds objects (and is no object itself)."""
    if any(ch in url for ch in "*?[") or url.endswith("/"):
        return True
    fs, path = filesystem(url)
    with store_errors(url):
        fs.invalidate_cache(path)
        return bool(fs.isdir(path)) and not fs.isfile(path)


def _fetch_inputs(url: str, folder: Path, single: bool, note: Any) -> Path:
    """Copy the input objects of ``url`` (one object, or a glob or prefix: the ``.csv`` and
    ``.npy`` objects under it) into ``folder``, keeping their names relative to the fixed
    part of the URL (so series ids are as for a local folder); ``note(url)`` remembers
    each as an input. Returns the local input."""
    fs, path = filesystem(url)
    scheme = scheme_of(url)
    with store_errors(url):
        if single:
            local = folder / PurePosixPath(path).name
            fs.invalidate_cache(path)
            if not fs.exists(path):
                raise DataError(f"{url}: {_missing(fs, path)}")
            note(url)
            fs.get_file(path, str(local))
            return local
        if any(ch in path for ch in "*?["):
            fixed = []
            for part in path.split("/"):
                if any(ch in part for ch in "*?["):
                    break
                fixed.append(part)
            root = "/".join(fixed)
            fs.invalidate_cache(root)
            found = sorted(fs.glob(path))
        else:
            root = path.rstrip("/")
            fs.invalidate_cache(root)
            found = sorted(fs.find(root))
        found = [f for f in found if f.lower().endswith((".csv", ".npy"))
                 and not f.endswith(".coeffs.npy")]
        if not found:
            raise DataError(f"{url}: {_missing(fs, path, 'no input objects')}")
        for key in found:
            rel = key[len(root):].lstrip("/") if key.startswith(root) else key
            local = folder.joinpath(*rel.split("/"))
            local.parent.mkdir(parents=True, exist_ok=True)
            note(f"{scheme}://{key}")
            fs.get_file(key, str(local))
    return folder


def many_through_store(run: Any, input: str, output: str, *, single_input: bool,
                       overwrite: bool, note: Any) -> dict:
    """Many series with inputs or outputs in a store, through a local staging folder:
    remote inputs are copied there first; ``run(local_input, local_output)`` (the local
    many-series job, with all its checks) writes the series there; then each file becomes
    one object under the ``output`` prefix - every series first, ``manifest.json`` last, so a
    reader that finds the manifest finds every series it lists. A prefix that holds objects
    is refused unless ``overwrite`` (its objects of the same names are then replaced); a
    failure while uploading removes the objects this run put there (without
    ``overwrite``). The manifest returned names the URLs, not the staging folder (a local
    ``output``'s own ``manifest.json`` is the caller's to rewrite); ``note(url)``
    remembers each input object."""
    import json
    import shutil

    remote_out = is_remote(output)
    out_url = str(RemotePath(output)) if remote_out else output
    if remote_out:
        fs, prefix = filesystem(out_url)
        with store_errors(out_url):
            fs.invalidate_cache(prefix)
            if fs.isfile(prefix):
                raise DataError(f"{out_url}: is an object; many series need a folder (a "
                                "prefix): -o s3://bucket/folder/")
            held = fs.find(prefix) if fs.exists(prefix) else []
            if held and not overwrite:
                raise DataError(f"{out_url}/: holds {len(held)} object(s); hippo does not "
                                "replace them unless asked (--overwrite)")
            if not held and _no_bucket(fs, prefix):
                raise DataError(f"{out_url}: no such bucket")
    stage = Path(tempfile.mkdtemp(prefix=UPLOAD_MARK))
    try:
        local_in = input
        if is_remote(input):
            (stage / "in").mkdir()
            local_in = str(_fetch_inputs(input, stage / "in", single_input, note))
        local_out = stage / "out" if remote_out else Path(output)
        manifest = run(local_in, str(local_out))
        # the manifest names what the user named, not the staging folder
        text = json.dumps(manifest)
        if is_remote(input):
            text = text.replace(json.dumps(str(stage / "in"))[1:-1],
                                input.rstrip("/") if not single_input else
                                input.rsplit("/", 1)[0])
        manifest = json.loads(text)
        if not remote_out:
            return manifest
        (local_out / "manifest.json").write_text(
            json.dumps(manifest, separators=(",", ":"), allow_nan=False) + "\n",
            encoding="utf-8")
        files = sorted(p for p in local_out.rglob("*") if p.is_file()
                       and ".hippo-lock" not in p.name and ".hippo-tmp-" not in p.name)
        files.sort(key=lambda p: p.name == "manifest.json")  # the manifest last
        put: list[str] = []
        try:
            for p in files:
                url = f"{out_url}/{p.relative_to(local_out).as_posix()}"
                upload(p, url, force=overwrite)
                put.append(url)
        except BaseException:
            if not overwrite:
                for url in put:
                    remove(url)
            raise
        return manifest
    finally:
        shutil.rmtree(stage, ignore_errors=True)
