#!/usr/bin/env bash
# Rebuild the embedded scoring models and their held-out benchmark reports (docs/benchmarks/giaa.md).
# Deterministic for a given machine and thread count. About 25 min (lite0) + 35 min (lite0+lite2) on a
# shared 2-core CPU; features come from the feature cache ($PIAA_CACHE) when present.
set -euo pipefail
cd "$(dirname "$0")/.."
PIAA=.venv/bin/piaa
ASSETS=src/piaa/assets/models

# default model: EfficientNet-Lite0 multilevel features, 3 heads averaged
$PIAA train default --output "$ASSETS/oasis-beauty-lite0.npz"
$PIAA bench giaa --head n_models=3 --output "$ASSETS/oasis-beauty-lite0.bench.json"

# more accurate, slower: Lite0 + Lite2 features concatenated
$PIAA train default --backbone efficientnet_lite0+efficientnet_lite2 --name oasis-beauty-lite0-lite2 \
    --output "$ASSETS/oasis-beauty-lite0-lite2.npz"
$PIAA bench giaa --backbone efficientnet_lite0,efficientnet_lite2 --head n_models=3 \
    --output "$ASSETS/oasis-beauty-lite0-lite2.bench.json"

# end-to-end throughput of the default model, eager torch vs ONNX Runtime
$PIAA bench speed --limit 300 --output docs/benchmarks/giaa_speed_lite0.json
