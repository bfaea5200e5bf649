"""Library walk-through: encode a signal online, reconstruct its history, check the error.

    python examples/quickstart.py
"""

import numpy as np

from hippo_cli import HiPPO

L = 8000
t = np.arange(L) / L
signal = 1.5 + 0.8 * np.sin(2 * np.pi * 2 * t) + 0.4 * np.cos(2 * np.pi * 3.3 * t + 0.4)

for measure, kw in [("legs", {}), ("legt", {"theta": 2000}), ("lagt", {"dt": 0.01})]:
    enc = HiPPO(measure, 64, **kw)
    for chunk in np.array_split(signal, 8):  # any chunking gives the same coefficients
        enc.update(chunk)
    samples = enc.default_samples(enc.steps - 1)
    if measure == "lagt":
        samples = samples[-200:]  # the recent past, where the fading measure weighs most
    approx = enc.reconstruct(enc.state, enc.steps - 1, samples)
    rmse = np.sqrt(np.mean((approx - signal[samples]) ** 2))
    print(f"{measure}: {enc.N} coefficients hold samples {samples[0]}..{samples[-1]}, "
          f"RMSE {rmse:.2e}")
