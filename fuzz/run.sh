#!/usr/bin/env bash
# Run fuzz targets one after another: fuzz/run.sh SECONDS [TARGET...]
# Stable toolchains need RUSTC_BOOTSTRAP=1 for the sanitizer flags cargo-fuzz passes.
# New inputs go to target/fuzz-work/<target>; crashes to fuzz/artifacts/<target>.
# Prints one line per target: name, total execs, execs/s, result.
set -u
cd "$(dirname "$0")"
secs=${1:-600}; shift || true
targets=${*:-"cab_header cab_extract decoder pe_version summary msi_open compound_read path_sanitizer kb_import manifest_yaml extract_to_disk sign_pkcs7 sign_verify package_description transform_roundtrip delta_create"}
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O >/dev/null 2>&1 || { echo "build failed"; exit 2; }
mkdir -p ../target/fuzz-logs
for t in $targets; do
  mkdir -p "../target/fuzz-work/$t" "regressions/$t"
  log="../target/fuzz-logs/$t.log"
  cargo fuzz run -O "$t" "../target/fuzz-work/$t" "seeds/$t" "regressions/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
  res=ok; [ $rc -ne 0 ] && res="FAILED (exit $rc, see $log)"
  echo "$t ${execs:-0} ${rate:-0} $res"
done
