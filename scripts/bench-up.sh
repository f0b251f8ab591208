#!/usr/bin/env bash
# Benchmark for `stackctl up` / `down` against docker-compose 1.29.2 on the
# same engine, in one run: prints figures, asserts nothing.
#
#   scripts/bench-up.sh            # 5 rounds
#   ROUNDS=9 scripts/bench-up.sh
#
# Stacks (busybox httpd, `init: true` so both tools stop them at once):
#   extagram  7 services shaped like Extagram's graph:
#             proxy -> app1, app2, upload, static1, static2; app1, app2, upload -> db
#   deep40    40 services, 8 levels x 5; each depends on two of the level below
#   single    1 service: one container's create+start, for the lower bound
# Files are compose v2.4 (docker-compose 1.29 reads them; stackctl warns that
# `version` is obsolete). Dependencies are plain `depends_on` lists, so neither
# tool waits for health: both do the same work.
#
# Goals: stackctl/docker-compose <= 0.5 for up; stackctl up <= 1.3 x the
# critical-path bound (longest chain x single-container up); peak RSS of
# `stackctl up` on deep40 < 30 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-5}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
COMPOSE="${DOCKER_COMPOSE:-docker-compose}"
IMAGE="stackctl-test/busybox:latest"

command -v "$COMPOSE" >/dev/null || { echo "bench-up: $COMPOSE not found" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-up: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
scripts/ensure-docker.sh >/dev/null
scripts/build-test-images.sh
cargo build --release --quiet
BIN="$TARGET/release/stackctl"

WORK="$(mktemp -d)"
# Project names: lowercase alphanumerics, which both tools keep as they are.
TAG="bench$$"
PROJECTS=()
for stack in extagram deep40 single; do
    PROJECTS+=("${TAG}s${stack}" "${TAG}c${stack}")
done

cleanup() {
    local project filter
    for project in "${PROJECTS[@]}"; do
        filter="label=com.docker.compose.project=$project"
        ids="$(docker ps -aq --filter "$filter")"
        [ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1 || true
        ids="$(docker network ls -q --filter "$filter")"
        [ -z "$ids" ] || docker network rm $ids >/dev/null 2>&1 || true
        ids="$(docker volume ls -q --filter "$filter")"
        [ -z "$ids" ] || docker volume rm -f $ids >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 - "$WORK" "$IMAGE" <<'PY'
import sys
work, image = sys.argv[1], sys.argv[2]

def service(name, deps):
    lines = [
        f"  {name}:",
        f"    image: {image}",
        f"    command: [\"sh\", \"-c\", \"mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -p 8080 -h /www\"]",
        f"    init: true",
        f"    mem_limit: 16m",
        f"    mem_reservation: 8m",
        f"    healthcheck:",
        f"      test: [\"CMD\", \"wget\", \"-q\", \"-O-\", \"http://127.0.0.1:8080/\"]",
        f"      interval: 10s",
        f"      timeout: 3s",
        f"      retries: 3",
    ]
    if deps:
        lines.append("    depends_on:")
        lines += [f"      - {d}" for d in deps]
    return lines

def write(name, services):
    lines = ['version: "2.4"', "services:"]
    for svc, deps in services:
        lines += service(svc, deps)
    open(f"{work}/{name}.yaml", "w").write("\n".join(lines) + "\n")

write("extagram", [
    ("proxy", ["app1", "app2", "upload", "static1", "static2"]),
    ("app1", ["db"]), ("app2", ["db"]), ("upload", ["db"]),
    ("static1", []), ("static2", []),
    ("db", []),
])
LEVELS, WIDTH = 8, 5
deep = []
for level in range(LEVELS):
    for i in range(WIDTH):
        deps = [] if level == 0 else [f"l{level-1}s{i}", f"l{level-1}s{(i+1) % WIDTH}"]
        deep.append((f"l{level}s{i}", deps))
write("deep40", deep)
write("single", [("only", [])])
PY

python3 - "$BIN" "$COMPOSE" "$WORK" "$TAG" "$ROUNDS" <<'PY'
import os, statistics, subprocess, sys, time
bin_, compose, work, tag, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
CHAIN = {"extagram": 3, "deep40": 8, "single": 1}   # longest dependency chain (containers)
COUNT = {"extagram": 7, "deep40": 40, "single": 1}

def stackctl(stack, *args):
    return [bin_, "-f", f"{work}/{stack}.yaml", "-p", f"{tag}s{stack}", *args]

def dcompose(stack, *args):
    return [compose, "-p", f"{tag}c{stack}", "-f", f"{work}/{stack}.yaml", *args]

UP = {"stackctl": lambda s: stackctl(s, "up", "-d"), "docker-compose": lambda s: dcompose(s, "up", "-d")}
DOWN = {"stackctl": lambda s: stackctl(s, "down"), "docker-compose": lambda s: dcompose(s, "down")}

def timed(cmd):
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench-up: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed

def running(project):
    out = subprocess.run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return len(out.split())

times = {}   # (tool, stack, phase) -> [seconds]
def record(tool, stack, phase, seconds):
    times.setdefault((tool, stack, phase), []).append(seconds)

tools = ["stackctl", "docker-compose"]
stacks = ["single", "extagram", "deep40"]
# Warm-up: one untimed round each (page cache, docker-compose's Python imports).
for tool in tools:
    for stack in stacks:
        timed(UP[tool](stack)); timed(DOWN[tool](stack))

for r in range(rounds):
    order = tools if r % 2 == 0 else tools[::-1]   # alternate who goes first
    for stack in stacks:
        for tool in order:
            if stack == "single" and tool == "docker-compose":
                continue
            record(tool, stack, "up", timed(UP[tool](stack)))
            project = f"{tag}{'s' if tool == 'stackctl' else 'c'}{stack}"
            n = running(project)
            if n != COUNT[stack]:
                sys.exit(f"bench-up: {tool} up {stack}: {n} of {COUNT[stack]} containers running")
            record(tool, stack, "down", timed(DOWN[tool](stack)))

def med(tool, stack, phase):
    return statistics.median(times[(tool, stack, phase)])

print(f"bench-up: {rounds} rounds, alternating tools; docker-compose = {compose}; medians")
print(f"{'stack':10} {'phase':5} {'stackctl':>10} {'compose':>10} {'ratio':>7}   (goal up <= 0.50)")
for stack in ["extagram", "deep40"]:
    for phase in ["up", "down"]:
        s, c = med("stackctl", stack, phase), med("docker-compose", stack, phase)
        print(f"{stack:10} {phase:5} {s*1000:8.0f}ms {c*1000:8.0f}ms {s/c:7.2f}")

single = med("stackctl", "single", "up")
print()
print(f"one container (stackctl up of a 1-service stack): {single*1000:.0f} ms "
      f"(min {min(times[('stackctl', 'single', 'up')])*1000:.0f} ms)")
print(f"{'stack':10} {'chain':>5} {'bound':>9} {'stackctl up':>12} {'ratio':>7}   (goal <= 1.30)")
for stack in ["extagram", "deep40"]:
    bound = CHAIN[stack] * single
    s = med("stackctl", stack, "up")
    print(f"{stack:10} {CHAIN[stack]:5d} {bound*1000:7.0f}ms {s*1000:10.0f}ms {s/bound:7.2f}")

# Peak RSS of `stackctl up` on deep40 (GNU time's %M is in KiB).
peaks = []
for _ in range(3):
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *stackctl("deep40", "up", "-d")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"bench-up: stackctl up deep40 failed:\n{done.stderr}")
    peaks.append(int(done.stderr.strip().splitlines()[-1]))
    timed(DOWN["stackctl"]("deep40"))
print()
print(f"stackctl peak RSS, up of deep40 (3 runs): max {max(peaks)/1024:.1f} MiB "
      f"({', '.join(f'{p/1024:.1f}' for p in peaks)})   (goal < 30 MB)")
PY
