#!/usr/bin/env bash
# bench_audit — how fast `enlace-audit verify` checks a log (DESIGN.md section 8).
#
# Targets: CRC + Merkle tree checks >= 500,000 records/s per core; sender signatures
# >= 90 % of the machine's ECDSA P-256 verify ceiling over all cores
# (`openssl speed -seconds 2 ecdsap256` verify/s x cores).
#
# Writes two logs with tests/integration/logwriter (real envelopes sealed and signed
# with the test PKI's P-256 keys, checkpoints every 10,000 records):
#   mixed: RECORDS records (default 200,000), one in PUBLISHED_EVERY (default 50) a
#          publication (4,000), the rest small delivered/denied/subscription records;
#   sigs:  SIGS publications only (default 20,000), for the signature rate.
# Then runs verify RUNS times each (default 5) and prints the best run, wall clock
# and CPU time (user + sys of the process, so other load on the machine shows as a
# gap between the two), next to `openssl speed` run in between (its figure is per
# CPU second). The signature efficiency is given both ways:
#   wall:  signatures/s / (openssl verify/s x cores)
#   cpu:   (CPU s per signature of openssl) / (CPU s per signature of verify, minus
#          the CPU time of the same log verified without --ca)
#
# Usage: tests/bench/bench_audit.sh [BUILD_DIR]   (default: $ENLACE_BUILD_DIR or build/)
# Environment: RECORDS, PUBLISHED_EVERY, SIGS, RUNS, KEEP=1 (keep the logs).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-${ENLACE_BUILD_DIR:-$SRC/build}}
B=$(cd "$B" && pwd)
AUDIT="$B/client/enlace-audit"
LW="$B/tests/logwriter"
PKI="${ENLACE_TEST_PKI:-$B/test-pki}"
RECORDS=${RECORDS:-200000}
PUBLISHED_EVERY=${PUBLISHED_EVERY:-50}
SIGS=${SIGS:-20000}
RUNS=${RUNS:-5}
for f in "$AUDIT" "$LW"; do [ -x "$f" ] || { echo "build $f first" >&2; exit 1; }; done
[ -f "$PKI/checkpoint.key" ] || bash "$SRC/certs/enlace-pki.sh" --out "$PKI" --quiet
W=$(mktemp -d /tmp/bench-audit.XXXXXX)
trap '[ -n "${KEEP:-}" ] && echo "(logs kept in $W)" || rm -rf "$W"' EXIT

echo "writing logs in $W ..."
"$LW" write --dir "$W/mixed" --pki "$PKI" --records "$RECORDS" --published-every "$PUBLISHED_EVERY" \
  --checkpoint-every 10000 --segment-size 67108864 --batch 1000 --no-fsync
"$LW" write --dir "$W/sigs" --pki "$PKI" --records "$SIGS" --published-every 1 \
  --checkpoint-every 10000 --segment-size 67108864 --batch 1000 --no-fsync

python3 - "$AUDIT" "$PKI" "$W" "$RUNS" <<'PY'
import json, os, re, resource, subprocess, sys, time
audit, pki, w, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cores = os.cpu_count()
key, ca = f"{pki}/checkpoint.pub", f"{pki}/ca.pem"

def run(args):
    """Run a command; return (stdout, wall s, cpu s of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    out = subprocess.run(args, check=False, capture_output=True, text=True)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, wall, cpu

def verify(log, *extra):
    out, wall, cpu = run([audit, "verify", "--log", f"{w}/{log}", "--key", key, "--json", *extra])
    s = json.loads(out.stdout)
    if not s["ok"]:
        sys.exit(f"verify failed: {s['first_error']}")
    return s, wall, cpu

def speed(multi=None):
    args = ["openssl", "speed", "-seconds", "2"] + (["-multi", str(multi)] if multi else []) + ["ecdsap256"]
    out, _, _ = run(args)
    line = [l for l in out.stdout.splitlines() if "nistp256" in l][-1]
    return float(line.split()[-1])   # verify/s

best = {}
def keep(name, value, better=max):
    best[name] = value if name not in best else better(best[name], value)

for r in range(runs):
    s, wall, cpu = verify("mixed")
    keep("mixed_rps", s["records"] / s["elapsed_s"])
    keep("mixed_cpu_per_rec", cpu / s["records"], min)
    records, published = s["records"], s["published"]
    s, wall, cpu = verify("mixed", "--ca", ca)
    keep("mixed_ca_rps", s["records"] / s["elapsed_s"])
    keep("mixed_ca_sps", s["signatures_checked"] / s["elapsed_s"])
    _, _, cpu_scan = verify("sigs")
    s, wall, cpu = verify("sigs", "--ca", ca)
    sigs = s["signatures_checked"]
    keep("sigs_sps", sigs / s["elapsed_s"])
    keep("sigs_cpu_per_sig", (cpu - cpu_scan) / sigs, min)
    keep("speed1", speed())
    if cores > 1:
        keep("speedN", speed(cores))

ceiling = best["speed1"] * cores
print()
print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.2f} (other work on the machine lowers every figure)")
print(f"openssl speed -seconds 2 ecdsap256: {best['speed1']:.0f} verify/s per core (per CPU second)"
      + (f"; -multi {cores}: {best['speedN']:.0f} verify/s" if cores > 1 else "")
      + f"; ceiling = {best['speed1']:.0f} x {cores} = {ceiling:.0f}/s")
print()
print(f"mixed log ({records} records, {published} published), best of {runs}:")
print(f"  verify (CRC, seqs, tree, checkpoints; one thread): {best['mixed_rps']:,.0f} records/s"
      f"  [{1 / best['mixed_cpu_per_rec']:,.0f} records per CPU second, whole process]"
      f"  target >= 500,000/s per core")
print(f"  verify --ca: {best['mixed_ca_rps']:,.0f} records/s, {best['mixed_ca_sps']:,.0f} signatures/s")
print(f"signature log ({sigs} published), best of {runs}:")
eff_wall = best["sigs_sps"] / ceiling
eff_cpu = (1 / best["speed1"]) / best["sigs_cpu_per_sig"]
print(f"  verify --ca: {best['sigs_sps']:,.0f} signatures/s on {cores} threads"
      f" = {100 * eff_wall:.0f} % of the ceiling (wall clock)  target >= 90 %"
      + (f"; {100 * best['sigs_sps'] / best['speedN']:.0f} % of openssl speed -multi {cores}"
         if cores > 1 else ""))
print(f"  CPU per signature: {1e6 * best['sigs_cpu_per_sig']:.1f} us vs openssl {1e6 / best['speed1']:.1f} us"
      f" = {100 * eff_cpu:.0f} % efficiency (CPU time)")
PY
