"""Regenerate the compact golden copy in this folder from the full reference set.

    python tests/data/golden/make_golden.py /path/to/shared/golden [--out DIR]

Run by hand, never by the tests. It keeps only the files and keys the tests read, subsamples
the stored trajectory rows (see ``keep_rows``), copies every kept value bit for bit (no
rounding, no dtype change), writes with ``np.savez_compressed`` and checks the result against
the source. See README.md next to this script.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

EARLY = 32  # keep k = 0..EARLY-1: start-up convention, s4 HiPPOScale forward-Euler transient
STRIDE = {1000: 50, 4096: 256}  # then k = STRIDE-1, 2*STRIDE-1, ..., L-1 (all stored upstream)

RUN_KEYS = ["u", "steps", "coeffs"]
# test_measures.test_discretize_equals_published reads the matrices of these runs.
DISCRETIZE_RUNS = {f"s4_hippo_{k}_L1000.npz" for k in [
    "legt_bilinear_N64", "legt_zoh_N16", "lagt_forward_N64",
    "lagt_backward_N16", "legt_backward_N64", "lagt_zoh_N64"]}
# test_more_measures.test_published_legt_reconstruction reads their reconstruction.
LEGT_RECON_RUNS = {"s4_hippo_legt_bilinear_N16_L1000.npz", "s4_hippo_legt_bilinear_N64_L1000.npz"}

TRANSITION_KEYS = [f"s4vis__{m}__N{n}" for m in ("legt", "lagt", "legs") for n in (4, 16, 64)]
TRANSITION_KEYS += [f"{src}__N{n}" for src in (
    "hippocode__lmu", "s4lib__lmu", "hippocode__tlagt", "hippocode__glagt", "s4lib__glagt",
    "s4vis__fourier", "s4lib__fout", "s4lib__foud", "s4lib__legsd") for n in (4, 16, 64)]
BASES_KEYS = ["hippo__legt__N16__eval_matrix", "hippo__lagt__N16__eval_matrix"]


def keys_for(name: str) -> list[str] | None:
    """The keys the tests read from run file ``name``; None if no test reads the file."""
    if re.fullmatch(r"s4_hippo_(legt|lagt)_\w+_N\d+_L\d+\.npz", name):  # test_s4_hippo_lti
        keys = RUN_KEYS + ["final_coeffs", "measure", "N", "L", "discretization"]
        if name in DISCRETIZE_RUNS:
            keys += ["A", "B", "dt", "dA", "dB"]
        if name in LEGT_RECON_RUNS:
            keys += ["recon"]
        return keys
    if name.startswith("hippocode_cpp_legs_"):  # test_hippocode_cpp_legs
        return RUN_KEYS + ["final_coeffs", "N"]
    if name.startswith("s4_hipposcale_legs_"):  # test_s4_hipposcale_legs
        return RUN_KEYS + ["final_coeffs", "N", "discretization"]
    if name.startswith("s4_hippo_fourier_") or name.startswith("hippocode_legt_lmu_"):
        return RUN_KEYS + ["recon"]  # test_published_fourier_run / test_published_lmu_run
    return None


def keep_rows(steps: np.ndarray, L: int) -> np.ndarray:
    """Indices of the stored rows to keep: k < EARLY, every STRIDE-th step, and k = L-1."""
    keep = (steps < EARLY) | ((steps + 1) % STRIDE[L] == 0) | (steps == L - 1)
    return np.flatnonzero(keep)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="the full golden folder (shared/golden)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    plan: dict[str, tuple[Path, dict[str, np.ndarray]]] = {}
    for path in sorted(args.src.glob("*.npz")):
        z = np.load(path)
        if path.name == "transitions.npz":
            out = {f"{k}__{ab}": z[f"{k}__{ab}"] for k in TRANSITION_KEYS for ab in "AB"}
        elif path.name == "bases.npz":
            out = {k: z[k] for k in BASES_KEYS}
        else:
            keys = keys_for(path.name)
            if keys is None:
                continue
            out = {k: z[k] for k in keys}
            rows = keep_rows(out["steps"], int(z["L"]))
            assert out["steps"][rows[-1]] == int(z["L"]) - 1, path.name
            out["steps"], out["coeffs"] = out["steps"][rows], out["coeffs"][rows]
        plan[path.name] = (path, out)

    for name, (path, out) in plan.items():
        np.savez_compressed(args.out / name, **out)
        # Check: same keys, dtypes and bits as the source (rows of steps/coeffs as selected).
        src, got = np.load(path), np.load(args.out / name)
        assert sorted(got.files) == sorted(out), name
        for k in got.files:
            want = src[k]
            if k in ("steps", "coeffs"):
                want = want[np.searchsorted(src["steps"], got["steps"])]
                assert np.array_equal(src["steps"][np.searchsorted(src["steps"], got["steps"])],
                                      got["steps"]), name
            assert got[k].dtype == want.dtype and got[k].shape == want.shape, (name, k)
            assert want.tobytes() == got[k].tobytes(), (name, k)
        size = (args.out / name).stat().st_size
        print(f"{name:48s} {size / 1024:7.1f} KiB  {', '.join(got.files)}")
    total = sum((args.out / name).stat().st_size for name in plan)
    print(f"{len(plan)} files, {total / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
