#!/usr/bin/env bash
# Benchmark for the loader and budget (issue "Foundation"): prints figures,
# asserts nothing. Targets: `stackctl config` on a 1000-service file and
# `stackctl budget` on Extagram each under 50 ms. docker-compose 1.29.2's
# `config` on the same file is measured in the same run for a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-15}"
cargo build --release --quiet
BIN="$PWD/target/release/stackctl"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK/compose.yaml" <<'PY'
import sys
# 1000 services in 10 dependency levels, each with limits, ports, env,
# a healthcheck and a named volume: every stage of the pipeline has work.
# No top-level `name:`: docker-compose 1.29 does not know it.
lines = ["services:"]
for i in range(1000):
    level = i // 100
    lines += [
        f"  svc{i}:",
        f"    image: stackctl-test/busybox:latest",
        f"    command: [\"sleep\", \"3600\"]",
        f"    environment:",
        f"      INDEX: \"{i}\"",
        f"      LEVEL: \"${{LEVEL_PREFIX:-l}}{level}\"",
        f"    expose: [\"{8000 + i}\"]",
        f"    volumes: [\"data{i % 10}:/data\"]",
        f"    healthcheck:",
        f"      test: [\"CMD\", \"true\"]",
        f"      interval: 5s",
        f"    deploy:",
        f"      resources:",
        f"        limits: {{memory: 16M, cpus: \"0.01\"}}",
        f"        reservations: {{memory: 8M}}",
    ]
    if level > 0:
        dep = i - 100
        lines += [
            f"    depends_on:",
            f"      svc{dep}: {{condition: service_healthy}}",
        ]
lines.append("volumes:")
lines += [f"  data{j}:" for j in range(10)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY

python3 - "$BIN" "$WORK/compose.yaml" "$RUNS" <<'PY'
import os, statistics, subprocess, sys, time
bin_, compose, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
root = os.getcwd()

def median_ms(cmd, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)

extagram = ["-f", f"{root}/stacks/extagram/compose.yaml", "--env-file", f"{root}/stacks/extagram/.env.example"]
config_med, config_min = median_ms([bin_, "-p", "bench", "-f", compose, "config"], runs)
quiet_med, quiet_min = median_ms([bin_, "-p", "bench", "-f", compose, "config", "-q"], runs)
budget_med, budget_min = median_ms([bin_, *extagram, "budget", "--instance", "t3.micro"], runs)
print(f"stackctl config  (1000 services): median {config_med:7.1f} ms  min {config_min:7.1f} ms  (target < 50 ms)")
print(f"  of which loading (config -q)  : median {quiet_med:7.1f} ms  min {quiet_min:7.1f} ms")
print(f"stackctl budget  (Extagram)     : median {budget_med:7.1f} ms  min {budget_min:7.1f} ms  (target < 50 ms)")
try:
    dc_med, dc_min = median_ms(["docker-compose", "-f", compose, "config"], 3)
    print(f"docker-compose config (1000 services, 1.29.2): median {dc_med:7.1f} ms")
    print(f"ratio stackctl/docker-compose (config): {config_med / dc_med:.3f}")
except (FileNotFoundError, subprocess.CalledProcessError) as err:
    print(f"docker-compose config: not measured ({err})")
PY
