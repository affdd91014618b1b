#!/usr/bin/env bash
# pg-bench.sh — the PostgreSQL measurements of docs/PERFORMANCE.md, all in one
# run against one throwaway server:
#
#   go build -o bin/ora2gcs ./cmd/ora2gcs
#   scripts/with-postgres.sh benchmarks/pg-bench.sh [ROWS] [RUNS]
#
# Loads VBRP (synthetic SAP-like rows, see pgtest.CreateSynthVBRP; -data md5 in
# LOAD_ARGS for pgtest's md5 rows), then times COPY vbrp TO STDOUT, ora2gcs bench
# (target null) and row_to_json | gzip -1, each with the CPU seconds the
# server spent (postmaster + all backends, from /proc, including exited
# backends through the postmaster's cutime/cstime).
set -euo pipefail
ROWS=${1:-250000}
RUNS=${2:-3}
DSN=${ORA2GCS_TEST_POSTGRES_DSN:?run me under scripts/with-postgres.sh}
cd "$(dirname "$0")/.."
TCK=$(getconf CLK_TCK)

go run ./benchmarks/loadvbrp -rows "$ROWS" ${LOAD_ARGS:-}
DATADIR=$(psql "$DSN" -Atc "show data_directory")
PM=$(head -1 "$DATADIR/postmaster.pid")

# server_cpu prints the CPU seconds of the cluster so far.
server_cpu() {
	local t=0 f
	read -r -a f < <(sed 's/^.*) //' "/proc/$PM/stat")
	# after "pid (comm) ": field 3 is index 0; utime=14 stime=15 cutime=16 cstime=17
	t=$((f[11] + f[12] + f[13] + f[14]))
	for p in $(pgrep -P "$PM"); do
		if read -r -a f < <(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null); then
			t=$((t + f[11] + f[12]))
		fi
	done
	python3 -c "print($t/$TCK)"
}
now() { date +%s.%N; }

echo "uptime: $(uptime)"
psql "$DSN" -qc "COPY vbrp TO STDOUT" >/dev/null # warm the cache

for i in $(seq 1 "$RUNS"); do
	c0=$(server_cpu); t0=$(now)
	psql "$DSN" -qc "COPY vbrp TO STDOUT" >/dev/null
	t1=$(now); c1=$(server_cpu)
	python3 -c "s=$t1-$t0; print('copy run $i: %.2f s, %.0f rows/s, server CPU %.2f s' % (s, $ROWS/s, $c1-$c0))"
done

# one bench run at a time, so the server CPU of each run is its own
for i in $(seq 1 "$RUNS"); do
	c0=$(server_cpu)
	./bin/ora2gcs bench --source "$DSN" --tables vbrp --target null --runs 1 --json --quiet ${BENCH_ARGS:-} >"/tmp/pg-bench-$i.json"
	sleep 1 # let the backends of the pool exit and be reaped
	c1=$(server_cpu)
	python3 - "$i" "$c0" "$c1" <<'PY'
import json, sys
i, c0, c1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
r = json.load(open('/tmp/pg-bench-%s.json' % i))['runs'][0]
srv = c1 - c0
print('ora2gcs run %s: %.2f s, %.0f rows/s, ora2gcs CPU %.2f s (%.1f us/row), server CPU %.2f s (%.1f us/row), peak RSS %.0f MiB, raw %.0f MB, gz %.0f MB'
      % (i, r['seconds'], r['rows_per_second'], r['cpu_seconds'], r['cpu_seconds'] / r['rows'] * 1e6,
         srv, srv / r['rows'] * 1e6, r['peak_rss_mib'], r['raw_bytes'] / 1e6, r['compressed_bytes'] / 1e6))
PY
done

c0=$(server_cpu); t0=$(now)
psql "$DSN" -qc "COPY (SELECT row_to_json(t) FROM vbrp t) TO STDOUT" | gzip -1 >/dev/null
t1=$(now); c1=$(server_cpu)
python3 -c "s=$t1-$t0; print('row_to_json|gzip -1: %.2f s, %.0f rows/s, server CPU %.2f s' % (s, $ROWS/s, $c1-$c0))"
echo "uptime: $(uptime)"
