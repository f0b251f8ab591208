#!/usr/bin/env bash
# The project's test command (README and .ci/run both call it):
# formatting, lints, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# Engine tests need a running dockerd and the tiny busybox test image.
echo "== docker engine"
scripts/ensure-docker.sh
scripts/build-test-images.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --locked --all-targets 2>&1 | tee target/test-output.txt
# Doc tests run separately; keep them in the suite.
cargo test --locked --doc
