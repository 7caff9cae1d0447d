#!/bin/sh
# make demo: a tuning study on Fashion-MNIST (the strongest tuner tunelab
# has), then the report.  Resumes if runs/demo.db exists; delete it to start over.
set -eu
cd "$(dirname "$0")/.."
mkdir -p runs reports
./tunelab run experiments/demo.ini "$@"
./tunelab report runs/demo.db -o reports/demo
echo "report: reports/demo/index.html"
