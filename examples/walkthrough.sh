#!/usr/bin/env bash
# The README walk-through: make a sensor CSV with timestamps, compress it with a guaranteed
# bound, inspect it, decode it with a plot, stream into a live file, then the HiPPO
# coefficients of the same data. Outputs go to examples/out/ (or the folder given as $1).
set -euo pipefail
out="${1:-$(dirname "$0")/out}"
mkdir -p "$out"
rm -f "$out/live.hippo"  # a live file is appended to: start this demo afresh
# -f: a second run of this demo replaces what the first one wrote
python "$(dirname "$0")/make_sensor_csv.py" "$out/sensor.csv" --rows 20000
hippo compress "$out/sensor.csv" --max-error 0.5% --time-column time -f
hippo info "$out/sensor.hippo"
hippo reconstruct "$out/sensor.hippo" --original "$out/sensor.csv" --plot -f \
    -o "$out/restored.csv"
head -3 "$out/restored.csv"
cut -d, -f2 "$out/sensor.csv" | hippo stream --max-error 0.05 -o "$out/live.hippo"
hippo info "$out/live.hippo" --json
hippo compress "$out/sensor.csv" --measure legs --method exact -N 64 --every 100 --time-column time \
    -o "$out/sensor.coeffs.npy" -f
hippo reconstruct "$out/sensor.coeffs.npy" --original "$out/sensor.csv" --plot --plot-coeffs -f
hippo reconstruct "$out/sensor.coeffs.npy" --all -o "$out/smooth.csv" -f
head -2 "$out/smooth.csv"
