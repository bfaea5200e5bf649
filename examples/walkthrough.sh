#!/usr/bin/env bash
# The README walk-through: make a sensor CSV, compress it, inspect, reconstruct with a plot,
# and stream it line by line. Outputs go to examples/out/ (or the folder given as $1).
set -euo pipefail
out="${1:-$(dirname "$0")/out}"
mkdir -p "$out"
python "$(dirname "$0")/make_sensor_csv.py" "$out/sensor.csv" --rows 20000
hippo compress "$out/sensor.csv" --measure legs -N 64 --every 100
hippo info "$out/sensor.coeffs.npy"
hippo reconstruct "$out/sensor.coeffs.npy" --original "$out/sensor.csv" --plot --plot-coeffs
cut -d, -f2 "$out/sensor.csv" | hippo stream --measure legt --theta 500 -N 8 --every 5000 \
    --init steady
