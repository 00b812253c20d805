#!/usr/bin/env bash
# zocket side by side with a raw axum WebSocket server: builds in release
# mode, runs every scenario against both servers and prints the table.
#
#   bash bench/run.sh                 # everything, once
#   ROUNDS=3 bash bench/run.sh        # scenarios a, b, c three times (medians)
#   SCENARIOS="a b" bash bench/run.sh # some scenarios only
#   SCENARIOS=hostile bash bench/run.sh # hostile clients (about 50 s)
#
# Settings (environment): ROUNDS (default 1), BENCH_SECONDS (measured
# seconds of a and b, default 5), SCENARIOS (default "a b c d10k d50k e";
# add "a256 b256 a1000 b1000" for scenarios a and b with 256 and 1000
# connections (the tail latency under many connections), "hostile" for
# the hostile clients, "scale" for how cost grows with calls in flight
# and members (zocket and the minimal server), "ac" for the cost of declared
# input constraints, "s1 s64" for streams beside jsonrpsee's
# subscriptions, "x" for fan-out across two nodes on Redis beside
# socketioxide's Redis adapter (needs redis-server), and "x1" for the same
# fan-out on one node beside socketioxide's rooms, "ir" for the
# instructions each server spends per call of scenario a, counted by
# callgrind (needs valgrind), "pair" for scenarios a and c with zocket and
# the minimal server head to head on one core, none in the default set),
# BENCH_RUNTIME (the servers' tokio runtime: current, the default, for
# the current-thread scheduler, or multi for the multi-thread one),
# HEADER_TIMEOUT (the zocket server's header timeout in seconds during
# hostile, default 2), BENCH_OUT (results folder, default
# target/bench-results), CARGO_TARGET_DIR.
#
# hostile runs three parts, each against a fresh server: slowloris
# (zocket, then raw for comparison), room flooding and reply-cache
# amplification (zocket only: they measure zocket's limits).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-1}
BENCH_SECONDS=${BENCH_SECONDS:-5}
SCENARIOS=${SCENARIOS:-a b c d10k d50k e}
HEADER_TIMEOUT=${HEADER_TIMEOUT:-2}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT=${BENCH_OUT:-$TARGET_DIR/bench-results}
BIN=$TARGET_DIR/release

echo "== building (release)"
cargo build --release --quiet -p zocket-bench
mkdir -p "$OUT"
RESULTS=$OUT/results-$(date +%Y%m%d-%H%M%S).jsonl
: >"$RESULTS"

# Scenario d at 50k needs 50k sockets in each process: raise the open
# files limit as far as the hard limit allows (the load generator skips
# what does not fit and says so).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Server on core 0, load generator on core 1, when there are two cores.
SERVER_PIN=()
LOAD_PIN=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  SERVER_PIN=(taskset -c 0)
  LOAD_PIN=(taskset -c 1)
  pinning="server on core 0, load generator on core 1"
else
  pinning="not pinned (no taskset or one core)"
fi

echo "== machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -h | awk '/^Mem:/ {print $2}') memory, kernel $(uname -r)"
echo "== open files limit: $(ulimit -n); $pinning"
export BENCH_RUNTIME=${BENCH_RUNTIME:-current}
echo "== servers' runtime: tokio $BENCH_RUNTIME-thread scheduler (BENCH_RUNTIME)"
echo "== results: $RESULTS"

# Below the ephemeral port range, so no client socket holds the port.
PORT=${BENCH_PORT:-21000}
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
# Each kill may find its process gone already: not a failure of the run.
PAIR_PIDS=()
trap 'stop_server; for pid in "${PAIR_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; if [ -n "${NODE2_PID:-}" ]; then kill "$NODE2_PID" 2>/dev/null || true; fi; if [ -n "${REDIS_PID:-}" ]; then kill "$REDIS_PID" 2>/dev/null || true; fi' EXIT

# run SERVER SCENARIO: a fresh server process for each scenario.
run() {
  local server=$1 scenario=$2
  local args=(--scenario "$scenario")
  local server_args=()
  case $scenario in
    d10k) args=(--scenario d --conns 10000) ;;
    d50k) args=(--scenario d --conns 50000) ;;
    a | ac | b) args+=(--seconds "$BENCH_SECONDS") ;;
    x1) args=(--scenario x) ;;
    a256 | b256 | a1000 | b1000)
      args=(--scenario "${scenario:0:1}" --conns "${scenario:1}" --seconds "$BENCH_SECONDS") ;;
    b16x*) args=(--scenario b --conns 16 --in-flight "${scenario#b16x}" --seconds 3) ;;
    c10000) args=(--scenario c --conns 10000 --events 100) ;;
    c10 | c100) args=(--scenario c --conns "${scenario#c}") ;;
    hostile-*)
      args=(--scenario hostile --part "${scenario#hostile-}" --header-timeout "$HEADER_TIMEOUT")
      # The raw server has no header timeout to set.
      if [ "$server" = zocket ]; then server_args=(--header-timeout "$HEADER_TIMEOUT"); fi
      ;;
  esac
  PORT=$((PORT + 1))
  # x1: both "nodes" of scenario x are this one server.
  if [ "$scenario" = x1 ]; then args+=(--addr2 "127.0.0.1:$PORT"); fi
  local log=$OUT/server-$server.log
  "${SERVER_PIN[@]}" "$BIN/bench-$server" --port "$PORT" "${server_args[@]}" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1200); do
    grep -q listening "$log" && break
    sleep 0.05
  done
  if ! grep -q listening "$log"; then
    echo "   $server did not start:" >&2
    cat "$log" >&2
    stop_server
    return 1
  fi
  printf '   %-6s %-5s ' "$server" "$scenario"
  local line
  if line=$(timeout 360 "${LOAD_PIN[@]}" "$BIN/bench-load" run --addr "127.0.0.1:$PORT" \
    --server "$server" --pid "$SERVER_PID" "${args[@]}" 2>"$OUT/load.err"); then
    echo "$line" >>"$RESULTS"
    echo "$line" | sed 's/.*"metrics":\(.*\),"scenario".*/\1/'
  else
    echo "FAILED: $(tail -n 3 "$OUT/load.err")"
  fi
  stop_server
  # Let sockets of the last scenario finish closing.
  sleep 1
}

# run_x SERVER: scenario x, two nodes of SERVER on the Redis at $REDIS_PORT.
NODE2_PID=
stop_nodes() {
  stop_server
  if [ -n "$NODE2_PID" ]; then
    kill "$NODE2_PID" 2>/dev/null || true
    wait "$NODE2_PID" 2>/dev/null || true
    NODE2_PID=
  fi
}
run_x() {
  local server=$1
  local url="redis://127.0.0.1:$REDIS_PORT"
  PORT=$((PORT + 2))
  "${SERVER_PIN[@]}" "$BIN/bench-$server" --port "$PORT" --redis "$url" >"$OUT/node1-$server.log" 2>&1 &
  SERVER_PID=$!
  "${SERVER_PIN[@]}" "$BIN/bench-$server" --port "$((PORT + 1))" --redis "$url" >"$OUT/node2-$server.log" 2>&1 &
  NODE2_PID=$!
  for _ in $(seq 1200); do
    grep -q listening "$OUT/node1-$server.log" && grep -q listening "$OUT/node2-$server.log" && break
    sleep 0.05
  done
  printf '   %-12s %-5s ' "$server" x
  local line
  if line=$(timeout 360 "${LOAD_PIN[@]}" "$BIN/bench-load" run --addr "127.0.0.1:$PORT" \
    --addr2 "127.0.0.1:$((PORT + 1))" --server "$server" --pid "$SERVER_PID" --scenario x 2>"$OUT/load.err"); then
    echo "$line" >>"$RESULTS"
    echo "$line" | sed 's/.*"metrics":\(.*\),"scenario".*/\1/'
  else
    echo "FAILED: $(tail -n 3 "$OUT/load.err")"
  fi
  stop_nodes
  sleep 1
}

# run_ir SERVER: scenario a under callgrind, twice (2 and 6 measured
# seconds); the difference of the two instruction counts over the
# difference of their replies is what one call costs in user space,
# startup and handshakes cancelled out. Counted, not timed: the same on a
# busy machine as on an idle one.
run_ir() {
  local server=$1 secs counts=()
  for secs in 2 6; do
    PORT=$((PORT + 1))
    local out=$OUT/callgrind-$server-$secs.out log=$OUT/server-$server.log
    valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN/bench-$server" --port "$PORT" >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1200); do
      grep -q listening "$log" && break
      sleep 0.05
    done
    local line replies
    line=$(timeout 360 "$BIN/bench-load" run --addr "127.0.0.1:$PORT" --server "$server" \
      --scenario a --seconds "$secs" 2>"$OUT/load.err") || line=
    stop_server
    replies=$(echo "$line" | sed -n 's/.*"replies_total":\([0-9]*\).*/\1/p')
    if [ -z "$replies" ] || [ ! -s "$out" ]; then
      echo "   $server: FAILED: $(tail -n 3 "$OUT/load.err")"
      return 1
    fi
    counts+=("$(awk '/^(summary|totals):/ {print $2; exit}' "$out") $replies")
  done
  local ir
  ir=$(printf '%s\n' "${counts[@]}" | awk 'NR == 1 {i = $1; r = $2} NR == 2 {printf "%.0f", ($1 - i) / ($2 - r)}')
  printf '   %-12s %s instructions per call\n' "$server" "$ir"
  echo "{\"server\":\"$server\",\"scenario\":\"ir\",\"metrics\":{\"instructions_per_call\":$ir}}" >>"$RESULTS"
}

# pair SCENARIO ROUND: zocket and the minimal server at once, both on
# core 0, each driven by a load generator of its own on core 1. What the
# machine does meanwhile it does to both: the figure is each server's
# calls (or deliveries) per second of its own CPU time, whose ratio moves
# far less from round to round than that of servers run one after the
# other. The rounds alternate which server starts first.
pair() {
  local scenario=$1 round=$2
  local args=(--scenario "$scenario" --label "$scenario-pair")
  case $scenario in
    a) args+=(--seconds "$BENCH_SECONDS") ;;
    # Five times (c)'s events: the two runs overlap for most of their time.
    c) args+=(--events 5000) ;;
  esac
  local servers=(zocket minimal)
  if [ $((round % 2)) -eq 0 ]; then servers=(minimal zocket); fi
  local ports=() loads=() i
  PAIR_PIDS=()
  for i in 0 1; do
    PORT=$((PORT + 1))
    ports+=("$PORT")
    "${SERVER_PIN[@]}" "$BIN/bench-${servers[$i]}" --port "$PORT" >"$OUT/server-pair-$i.log" 2>&1 &
    PAIR_PIDS+=($!)
  done
  for _ in $(seq 1200); do
    grep -q listening "$OUT/server-pair-0.log" && grep -q listening "$OUT/server-pair-1.log" && break
    sleep 0.05
  done
  for i in 0 1; do
    timeout 360 "${LOAD_PIN[@]}" "$BIN/bench-load" run --addr "127.0.0.1:${ports[$i]}" \
      --server "${servers[$i]}" --pid "${PAIR_PIDS[$i]}" "${args[@]}" \
      >"$OUT/pair-$i.json" 2>"$OUT/pair-$i.err" &
    loads+=($!)
  done
  for i in 0 1; do
    printf '   %-7s %-7s ' "${servers[$i]}" "$scenario-pair"
    if wait "${loads[$i]}"; then
      cat "$OUT/pair-$i.json" >>"$RESULTS"
      sed 's/.*"metrics":\(.*\),"scenario".*/\1/' "$OUT/pair-$i.json"
    else
      echo "FAILED: $(tail -n 3 "$OUT/pair-$i.err")"
    fi
  done
  for pid in "${PAIR_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PAIR_PIDS=()
  sleep 1
}

# two SCENARIO A B: ROUNDS rounds of SCENARIO on servers A and B, which
# goes first alternating, so that drift hits both alike.
two() {
  local scenario=$1 first=$2 second=$3
  for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 0 ]; then
      run "$second" "$scenario" || true
      run "$first" "$scenario" || true
    else
      run "$first" "$scenario" || true
      run "$second" "$scenario" || true
    fi
  done
}

for scenario in $SCENARIOS; do
  if [ "$scenario" = x ]; then
    # Cross-node fan-out: a redis-server of its own, two nodes per server.
    if ! command -v redis-server >/dev/null 2>&1; then
      echo "== scenario x skipped: no redis-server (apt-get install redis-server)"
      continue
    fi
    REDIS_PORT=$((PORT + 500))
    REDIS_DIR=$(mktemp -d)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$REDIS_DIR" >"$OUT/redis.log" 2>&1 &
    REDIS_PID=$!
    sleep 0.5
    echo "== scenario x (two nodes on one Redis: zocket-redis and socketioxide-redis)"
    for round in $(seq "$ROUNDS"); do
      if [ $((round % 2)) -eq 1 ]; then order="zocket socketioxide"; else order="socketioxide zocket"; fi
      for server in $order; do
        run_x "$server" || true
      done
    done
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    rm -rf "$REDIS_DIR"
    continue
  fi
  if [ "$scenario" = x1 ]; then
    # Fan-out on one node: zocket beside socketioxide's rooms.
    echo "== scenario x1 (fan-out on one node: zocket and socketioxide)"
    two x1 zocket socketioxide
    continue
  fi
  if [ "$scenario" = s1 ] || [ "$scenario" = s64 ]; then
    # Streams: zocket beside jsonrpsee's subscriptions.
    echo "== scenario $scenario (zocket and jsonrpsee)"
    two "$scenario" zocket jsonrpsee
    continue
  fi
  if [ "$scenario" = hostile ]; then
    echo "== scenario hostile (zocket header timeout ${HEADER_TIMEOUT} s)"
    run zocket hostile-slowloris || true
    run raw hostile-slowloris || true
    run zocket hostile-rooms || true
    run zocket hostile-replies || true
    continue
  fi
  if [ "$scenario" = pair ]; then
    echo "== scenario pair (a and c, zocket and the minimal server head to head on core 0)"
    for point in a c; do
      for round in $(seq "$ROUNDS"); do pair "$point" "$round"; done
    done
    continue
  fi
  if [ "$scenario" = ir ]; then
    if ! command -v valgrind >/dev/null 2>&1; then
      echo "== scenario ir skipped: no valgrind (apt-get install valgrind)"
      continue
    fi
    echo "== scenario ir (user-space instructions per call of scenario a, counted by callgrind)"
    for server in zocket minimal raw jsonrpsee socketioxide; do
      run_ir "$server" || true
    done
    continue
  fi
  if [ "$scenario" = scale ]; then
    # How cost grows: calls in flight on 16 connections, members of one
    # room; zocket beside the minimal server.
    echo "== scenario scale (calls in flight 1 to 256, members 10 to 10 000)"
    for point in b16x1 b16x8 b16x64 b16x256 c10 c100 c c10000; do
      two "$point" zocket minimal
    done
    continue
  fi
  rounds=1
  case $scenario in a | ac | b | c | a256 | b256 | a1000 | b1000) rounds=$ROUNDS ;; esac
  if [ "$scenario" = ac ]; then
    # zocket only: the raw server declares no constraints.
    echo "== scenario ac (a, with declared input constraints checked)"
    for round in $(seq "$rounds"); do run zocket ac || true; done
    continue
  fi
  echo "== scenario $scenario"
  for round in $(seq "$rounds"); do
    # Alternate which server goes first, so drift hits both alike.
    if [ $((round % 2)) -eq 1 ]; then order="zocket minimal raw"; else order="raw minimal zocket"; fi
    # The peers on their own protocols, for the calls.
    case $scenario in a | b) order="$order jsonrpsee socketioxide" ;; esac
    for server in $order; do
      run "$server" "$scenario" || true
    done
  done
done

echo
"$BIN/bench-load" table "$RESULTS"
