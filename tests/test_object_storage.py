"""Object storage: ``s3://`` inputs and outputs against a real S3 API server (moto's server
mode on a free localhost port, started here), compared with the same commands on local
files. The endpoint and credentials reach hippo only through the standard configuration
(``AWS_ENDPOINT_URL``, ``FSSPEC_S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from helpers import wait_for, waits_on_a_pipe

pytest.importorskip("s3fs")
pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

#: A real S3 server and a process per command: about a minute in all, so out of the quick
#: subset (``-m "not slow"``); the whole suite and CI run them.
pytestmark = pytest.mark.slow

HIPPO = [sys.executable, "-m", "hippo_cli"]
BUCKET = "hippo-test"


@pytest.fixture(scope="session")
def s3_env():
    """A moto S3 server on a free port; the environment that points AWS tools at it."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "FSSPEC_S3_ENDPOINT_URL": endpoint,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_PROFILE", None)
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield env, client
    server.stop()


@pytest.fixture
def s3(s3_env):
    """(environment, boto3 client, a fresh key prefix) for one test."""
    env, client = s3_env
    return env, client, f"t-{uuid.uuid4().hex[:10]}"


def hippo(env, *args, input=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*HIPPO, *map(str, args)], env=env, capture_output=True,
                          input=input, cwd=cwd, timeout=120)


def put(client, key: str, data: bytes) -> str:
    client.put_object(Bucket=BUCKET, Key=key, Body=data)
    return f"s3://{BUCKET}/{key}"


def get(client, key: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def keys(client, prefix: str) -> list[str]:
    got = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in got.get("Contents", []))


def uploads(client, prefix: str) -> list[str]:
    got = client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix)
    return [u["Key"] for u in got.get("Uploads", [])]


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("hippo: error: "), err
    assert "Traceback" not in err
    return lines[0]


def signal_csv(path: Path, L: int = 3000) -> bytes:
    t = np.arange(L) * 0.01
    data = np.c_[np.sin(t), 0.5 * np.cos(3 * t) + 0.1 * t]
    text = "a,b\n" + "".join(f"{float(x)!r},{float(y)!r}\n" for x, y in data)
    path.write_text(text)
    return text.encode()


# --------------------------------------------------------------------------- compress
def test_compress_s3_to_s3_equals_local(s3, tmp_path):
    env, client, pre = s3
    raw = signal_csv(tmp_path / "sig.csv")
    src = put(client, f"{pre}/in/sig.csv", raw)
    out = f"s3://{BUCKET}/{pre}/out/sig.hippo"
    got = hippo(env, "compress", src, "-E", "0.001", "-o", out, "-q")
    assert got.returncode == 0, got.stderr
    want = hippo(env, "compress", "sig.csv", "-E", "0.001", "-o", "sig.hippo", "-q",
                 cwd=tmp_path)
    assert want.returncode == 0, want.stderr
    assert get(client, f"{pre}/out/sig.hippo") == (tmp_path / "sig.hippo").read_bytes()
    assert list(tmp_path.glob(".*hippo-tmp*")) == []


@pytest.mark.parametrize("kind", ["csv.gz", "npy", "parquet"])
def test_compress_each_input_format_from_s3(s3, tmp_path, kind):
    """Compressed CSV (streamed), .npy and Parquet (seekable: one GET to a local copy)."""
    env, client, pre = s3
    raw = signal_csv(tmp_path / "sig.csv")
    if kind == "csv.gz":
        (tmp_path / "sig.csv.gz").write_bytes(gzip.compress(raw))
    elif kind == "npy":
        np.save(tmp_path / "sig.npy", np.loadtxt(tmp_path / "sig.csv", delimiter=",",
                                                  skiprows=1))
    else:
        pytest.importorskip("pyarrow")
        import pandas as pd

        pd.read_csv(tmp_path / "sig.csv").to_parquet(tmp_path / "sig.parquet")
    local = tmp_path / f"sig.{kind}"
    src = put(client, f"{pre}/sig.{kind}", local.read_bytes())
    got = hippo(env, "compress", src, "-E", "0.001", "-o", f"s3://{BUCKET}/{pre}/o.hippo", "-q")
    assert got.returncode == 0, got.stderr
    want = hippo(env, "compress", local, "-E", "0.001", "-o", tmp_path / "o.hippo", "-q")
    assert want.returncode == 0, want.stderr
    assert get(client, f"{pre}/o.hippo") == (tmp_path / "o.hippo").read_bytes()


def test_coefficients_to_s3_equal_local_and_reconstruct(s3, tmp_path):
    env, client, pre = s3
    signal_csv(tmp_path / "sig.csv")
    src = put(client, f"{pre}/sig.csv", (tmp_path / "sig.csv").read_bytes())
    out = f"s3://{BUCKET}/{pre}/sig.coeffs.npy"
    got = hippo(env, "compress", src, "-N", "16", "--every", "50", "-o", out, "-q")
    assert got.returncode == 0, got.stderr
    want = hippo(env, "compress", "sig.csv", "-N", "16", "--every", "50", "-q", cwd=tmp_path)
    assert want.returncode == 0, want.stderr
    assert get(client, f"{pre}/sig.coeffs.npy") == (tmp_path / "sig.coeffs.npy").read_bytes()
    remote_meta = json.loads(get(client, f"{pre}/sig.coeffs.npy.json"))
    local_meta = json.loads((tmp_path / "sig.coeffs.npy.json").read_text())
    assert remote_meta.pop("input") == src and local_meta.pop("input") == "sig.csv"
    assert remote_meta == local_meta
    # reconstruct from the store, to the store and to a local file
    rec = hippo(env, "reconstruct", out, "--all", "-o", f"s3://{BUCKET}/{pre}/r.csv")
    assert rec.returncode == 0, rec.stderr
    loc = hippo(env, "reconstruct", "sig.coeffs.npy", "--all", "-o", "r.csv", cwd=tmp_path)
    assert loc.returncode == 0, loc.stderr
    assert get(client, f"{pre}/r.csv") == (tmp_path / "r.csv").read_bytes()


def test_reconstruct_and_info_of_a_hippo_object(s3, tmp_path):
    env, client, pre = s3
    signal_csv(tmp_path / "sig.csv")
    assert hippo(env, "compress", "sig.csv", "-E", "1e-4", "-q", cwd=tmp_path).returncode == 0
    url = put(client, f"{pre}/sig.hippo", (tmp_path / "sig.hippo").read_bytes())
    rec = hippo(env, "reconstruct", url, "-o", "-")
    assert rec.returncode == 0, rec.stderr
    loc = hippo(env, "reconstruct", "sig.hippo", "-o", "-", cwd=tmp_path)
    assert rec.stdout == loc.stdout and len(rec.stdout) > 1000
    info = hippo(env, "info", url)
    assert info.returncode == 0, info.stderr
    local_info = hippo(env, "info", "sig.hippo", cwd=tmp_path).stdout.decode()
    remote_lines = info.stdout.decode().splitlines()[1:]  # the first names the file
    assert remote_lines == local_info.splitlines()[1:]


def test_open_hippo_reads_a_url_in_process(s3, tmp_path, monkeypatch):
    env, client, pre = s3
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, env[name])
    from hippo_cli.codec import open_hippo

    signal_csv(tmp_path / "sig.csv")
    assert hippo(env, "compress", "sig.csv", "-E", "1e-4", "-q", cwd=tmp_path).returncode == 0
    url = put(client, f"{pre}/sig.hippo", (tmp_path / "sig.hippo").read_bytes())
    with open_hippo(url) as remote, open_hippo(tmp_path / "sig.hippo") as local:
        got, want = remote.read(), local.read()
    np.testing.assert_array_equal(np.asarray(got[0]), np.asarray(want[0]))


# --------------------------------------------------------------------------- many series
def test_many_series_to_an_s3_prefix(s3, tmp_path):
    env, client, pre = s3
    (tmp_path / "in").mkdir()
    for name in ("a", "b", "c"):
        signal_csv(tmp_path / "in" / f"{name}.csv", L=500 + 100 * ord(name))
    out = f"s3://{BUCKET}/{pre}/many/"
    got = hippo(env, "compress", tmp_path / "in", "-E", "0.01", "-o", out, "-q")
    assert got.returncode == 0, got.stderr
    want = hippo(env, "compress", tmp_path / "in", "-E", "0.01", "-o", tmp_path / "out", "-q")
    assert want.returncode == 0, want.stderr
    assert keys(client, f"{pre}/many/") == [f"{pre}/many/{n}" for n in
                                            ("a.hippo", "b.hippo", "c.hippo",
                                             "manifest.json")]
    for n in ("a", "b", "c"):
        local = (tmp_path / "out" / f"{n}.hippo").read_bytes()
        assert get(client, f"{pre}/many/{n}.hippo") == local
    manifest = json.loads(get(client, f"{pre}/many/manifest.json"))
    assert [s["id"] for s in manifest["series"]] == ["a", "b", "c"]
    # the inputs from the store too (a prefix), into another prefix: the same series
    for n in ("a", "b", "c"):
        put(client, f"{pre}/in/{n}.csv", (tmp_path / "in" / f"{n}.csv").read_bytes())
    again = hippo(env, "compress", f"s3://{BUCKET}/{pre}/in/", "-E", "0.01",
                  "-o", f"s3://{BUCKET}/{pre}/many2/", "-q")
    assert again.returncode == 0, again.stderr
    for n in ("a", "b", "c"):
        assert get(client, f"{pre}/many2/{n}.hippo") == get(client, f"{pre}/many/{n}.hippo")
    assert json.loads(get(client, f"{pre}/many2/manifest.json"))["series"][0]["input"] == \
        f"s3://{BUCKET}/{pre}/in/a.csv"
    # a prefix that holds objects is refused, unless --overwrite
    refused = hippo(env, "compress", tmp_path / "in", "-E", "0.01", "-o", out, "-q")
    assert refused.returncode == 1 and "--overwrite" in one_error_line(refused)
    forced = hippo(env, "compress", tmp_path / "in", "-E", "0.01", "-o", out, "-q",
                   "--overwrite")
    assert forced.returncode == 0, forced.stderr


# --------------------------------------------------------------------------- refusals
def test_an_existing_object_is_refused_and_kept(s3, tmp_path):
    env, client, pre = s3
    signal_csv(tmp_path / "sig.csv")
    url = put(client, f"{pre}/sig.hippo", b"precious")
    got = hippo(env, "compress", tmp_path / "sig.csv", "-E", "0.01", "-o", url)
    assert got.returncode == 1
    assert "exists" in one_error_line(got)
    assert get(client, f"{pre}/sig.hippo") == b"precious"


def test_the_input_url_is_never_the_output(s3, tmp_path):
    env, client, pre = s3
    url = put(client, f"{pre}/sig.csv", signal_csv(tmp_path / "sig.csv"))
    got = hippo(env, "compress", url, "-E", "0.01", "-o", url.replace("s3://", "S3://"))
    assert got.returncode == 2, got.stderr
    assert "inputs" in one_error_line(got)
    assert get(client, f"{pre}/sig.csv") == (tmp_path / "sig.csv").read_bytes()


def test_a_failure_mid_write_leaves_no_object(s3, tmp_path):
    """Damage after many rows: the run fails (exit 1), and nothing reaches the store."""
    env, client, pre = s3
    raw = signal_csv(tmp_path / "sig.csv", L=200_000)
    damaged = raw[: len(raw) * 3 // 4] + b"oops,1\n" + raw[len(raw) * 3 // 4:]
    url = put(client, f"{pre}/bad.csv", damaged)
    for out in (f"{pre}/bad.hippo", f"{pre}/bad.coeffs.npy"):
        args = ["-E", "0.01"] if out.endswith(".hippo") else ["-N", "8"]
        got = hippo(env, "compress", url, *args, "-o", f"s3://{BUCKET}/{out}",
                    input=None)
        assert got.returncode == 1, got.stderr
        assert "line" in one_error_line(got)
    assert keys(client, f"{pre}/") == [f"{pre}/bad.csv"]
    assert uploads(client, pre) == []


def test_sigterm_while_writing_leaves_no_object_and_no_temporary(s3, tmp_path):
    env, client, pre = s3
    env = {**env, "TMPDIR": str(tmp_path)}
    out = f"s3://{BUCKET}/{pre}/live.hippo"
    proc = subprocess.Popen([*HIPPO, "compress", "-", "-E", "0.01", "-o", out, "-q"],
                            env=env, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(b"a\n" + b"".join(b"%d\n" % i for i in range(5000)))
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("hippo-upload-*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # the local temporary exists: the run is writing
    assert list(tmp_path.glob("hippo-upload-*")), "the run never started writing"
    # it has taken every line written and waits for more (not compiling, not starting)
    wait_for(lambda: waits_on_a_pipe(proc), proc, fallback=1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert keys(client, f"{pre}/") == []
    assert uploads(client, pre) == []
    assert list(tmp_path.glob("hippo-upload-*")) == []


def test_replacing_is_asked_for_in_the_library(s3, monkeypatch):
    """An object is replaced only inside ``storage.replacing(True)`` (what -f sets) or
    with ``force=True``; the upload happens at the commit, never before."""
    env, client, pre = s3
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, env[name])
    from hippo_cli import storage
    from hippo_cli.atomic import atomic_output
    from hippo_cli.errors import DataError

    url = put(client, f"{pre}/x.bin", b"old")
    with pytest.raises(DataError, match="exists"):
        with atomic_output(url) as fh:
            fh.write(b"new")
    with storage.replacing(True), atomic_output(url) as fh:
        fh.write(b"new")
        assert get(client, f"{pre}/x.bin") == b"old"  # nothing uploaded before the end
    assert get(client, f"{pre}/x.bin") == b"new"
    with pytest.raises(RuntimeError), storage.replacing(True), atomic_output(url) as fh:
        fh.write(b"newer")
        raise RuntimeError("a failure before the commit")
    assert get(client, f"{pre}/x.bin") == b"new"


def test_a_coefficient_pair_goes_up_whole_or_not_at_all(s3, tmp_path, monkeypatch):
    """The .npy and its sidecar are two objects: when the sidecar's upload fails, the
    array this run put there is taken back (no array without its settings)."""
    env, client, pre = s3
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, env[name])
    from hippo_cli import HiPPO, storage
    from hippo_cli.atomic import guarded
    from hippo_cli.pipelines.compress import compress_file

    signal_csv(tmp_path / "sig.csv", L=400)
    real_upload = storage.upload

    def failing(local, url, force=None):
        if str(url).endswith(".json"):
            raise ConnectionError("the network went away")
        real_upload(local, url, force)

    monkeypatch.setattr(storage, "upload", failing)
    with guarded(), pytest.raises(ConnectionError):
        compress_file(str(tmp_path / "sig.csv"), f"s3://{BUCKET}/{pre}/sig.coeffs.npy",
                      HiPPO("legs", N=8))
    assert keys(client, f"{pre}/") == []


def test_an_interrupted_multipart_upload_is_aborted(s3, monkeypatch):
    """s3fs aborts its multipart upload on an Exception; an interruption (Ctrl-C, SIGTERM:
    BaseExceptions) is aborted by hippo: no part of the object stays billed."""
    env, client, pre = s3
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, env[name])
    from hippo_cli import storage

    key = f"{pre}/big.hippo"
    other = f"{pre}/other.hippo"
    fs, path = storage.filesystem(f"s3://{BUCKET}/{key}")
    client.create_multipart_upload(Bucket=BUCKET, Key=key)  # begun before ours: kept
    before = storage._uploads_of(fs, path)
    assert len(before) == 1
    client.create_multipart_upload(Bucket=BUCKET, Key=key)  # "ours", cut short
    client.create_multipart_upload(Bucket=BUCKET, Key=other)  # another object's: kept
    storage._abort_uploads(fs, path, before)
    assert sorted(uploads(client, pre)) == [key, other]
    assert storage._uploads_of(fs, path) == before


def test_no_bucket_is_one_line(s3, tmp_path):
    env, client, pre = s3
    signal_csv(tmp_path / "sig.csv")
    got = hippo(env, "compress", "s3://no-such-bucket-hippo/x.csv", "-E", "0.01",
                "-o", tmp_path / "x.hippo")
    assert got.returncode == 1 and "no such bucket" in one_error_line(got)
    got = hippo(env, "compress", tmp_path / "sig.csv", "-E", "0.01",
                "-o", "s3://no-such-bucket-hippo/x.hippo")
    assert got.returncode == 1 and "no such bucket" in one_error_line(got)
    got = hippo(env, "info", f"s3://{BUCKET}/{pre}/missing.hippo")
    assert got.returncode == 1 and "no such object" in one_error_line(got)
    assert not (tmp_path / "x.hippo").exists()


def test_stream_to_a_url_is_refused(s3):
    env, client, pre = s3
    got = hippo(env, "stream", "-E", "0.1", "-o", f"s3://{BUCKET}/{pre}/s.hippo",
                input=b"a\n1\n2\n")
    assert got.returncode == 2 and "appended" in one_error_line(got)
    assert keys(client, f"{pre}/") == []


def test_file_urls_are_local_paths(tmp_path):
    env = dict(os.environ)
    signal_csv(tmp_path / "sig.csv")
    src, out = (tmp_path / "sig.csv").as_uri(), (tmp_path / "u.hippo").as_uri()
    got = hippo(env, "compress", src, "-E", "0.01", "-o", out, "-q")
    assert got.returncode == 0, got.stderr
    want = hippo(env, "compress", tmp_path / "sig.csv", "-E", "0.01", "-o", tmp_path / "p.hippo",
                 "-q")
    assert want.returncode == 0
    assert (tmp_path / "u.hippo").read_bytes() == (tmp_path / "p.hippo").read_bytes()
    same = hippo(env, "compress", src, "-E", "0.01", "-o", tmp_path / "sig.csv")
    assert same.returncode == 2 and "inputs" in one_error_line(same)
    assert hippo(env, "info", out).returncode == 0


def test_without_s3fs_the_extra_is_named(tmp_path):
    code = ("import sys; sys.modules['s3fs'] = None; sys.argv = ['hippo', 'info', "
            "'s3://bucket/x.hippo']; from hippo_cli.cli import main; main()")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert got.returncode == 2
    assert one_error_line(got) == ("hippo: error: s3:// needs the s3 extra: "
                                   "pip install 'hippo-cli[s3]'")


def test_is_url_tells_urls_from_paths():
    from hippo_cli.storage import RemotePath, as_path, is_url, local_or_url

    assert is_url("s3://b/k") and is_url("memory://x") and is_url("file:///tmp/x")
    assert not is_url("C://data/x.csv") and not is_url("data.csv") and not is_url("-")
    assert not is_url("nosuchscheme://x") and not is_url(Path("s3://b/k"))
    assert local_or_url("file:///tmp/a%20b.csv") == "/tmp/a b.csv"
    p = as_path("s3://b/dir/sig.csv")
    assert isinstance(p, RemotePath) and str(p.with_suffix(".hippo")) == "s3://b/dir/sig.hippo"
    assert str(p.parent / "x.npy") == "s3://b/dir/x.npy"
    with pytest.raises(TypeError):
        os.fspath(p)  # never a local path by accident
