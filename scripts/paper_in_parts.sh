#!/usr/bin/env bash
# Run suites/paper.yaml one grammar at a time and keep each part's results, so that a session that
# ends (and takes the cache with it) loses at most the grammar it was on. Merge the parts with
#   python -m bench report PARTS/GRAMMAR ... --out reports/paper   (the committed parts: reports/paper_parts/)
# Usage: scripts/paper_in_parts.sh PARTS_DIR MODELS METHODS SIMULATION...
set -euo pipefail
parts=$1 models=$2 methods=$3
shift 3
mkdir -p "$parts"
for sim in "$@"; do
  if [[ -f "$parts/$sim/results.parquet" ]]; then
    echo "== $sim: part already kept in $parts/$sim"; continue
  fi
  echo "== $sim: $(date -u +%FT%TZ)"
  python -m bench run suites/paper.yaml --simulations "$sim" --models "$models" --methods "$methods"
  mkdir -p "$parts/$sim.tmp"
  cp runs/paper/results.parquet runs/paper/results.csv runs/paper/provenance.json "$parts/$sim.tmp/"
  mv "$parts/$sim.tmp" "$parts/$sim"
done
