# Shared steps of the hostile tests; sourced, not run.
#
# A test calls hostile_setup NAME, then for each case: hostile_gen to write
# the capture, hostile_run to run mailtap on it under /usr/bin/time, and the
# expect_* helpers, then hostile_finish. Each failed check is printed and
# counted, and hostile_finish exits 1 when any check failed.
#
# ctest sets MAILTAP, MAILTAP_SOURCE_DIR and MAILTAP_BUILD_DIR.

set -u

hostile_setup() {
    test_name=$1
    source_dir=${MAILTAP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
    hostile_dir=$source_dir/tests/hostile
    python=${PYTHON:-python3}
    # The generator imports pcapgen.py; keep bytecode caches out of the source tree.
    export PYTHONDONTWRITEBYTECODE=1
    failures=0

    if [ -z "${MAILTAP:-}" ] || [ ! -x "$MAILTAP" ]; then
        echo "$test_name: MAILTAP=${MAILTAP:-} is not an executable file; run through ctest or set MAILTAP to the mailtap binary" >&2
        exit 1
    fi
    if [ ! -x /usr/bin/time ]; then
        echo "$test_name: /usr/bin/time is missing (Debian package time); it measures peak RSS" >&2
        exit 77
    fi

    # A sanitizer build is about 5 times slower and keeps freed memory in a
    # quarantine, so the large cases shrink and the quarantine is kept small
    # enough that peak RSS still follows what mailtap holds.
    sanitized=0
    if [ -n "${MAILTAP_BUILD_DIR:-}" ] && grep -q '^MAILTAP_SANITIZE:BOOL=ON' "$MAILTAP_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
        sanitized=1
    fi
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8

    work_dir=$(mktemp -d "${TMPDIR:-/tmp}/mailtap-$test_name.XXXXXX")
    trap 'rm -rf "$work_dir"' EXIT
}

# scaled FULL SANITIZED: prints FULL, or SANITIZED in a sanitizer build.
scaled() {
    if [ "$sanitized" = 1 ]; then echo "$2"; else echo "$1"; fi
}

fail() {
    echo "  FAILED: $*"
    failures=$((failures + 1))
}

# hostile_gen CASE FILE [generator options]: writes one capture.
hostile_gen() {
    local case_name=$1 file=$2
    shift 2
    if ! "$python" "$hostile_dir/hostile_gen.py" "$case_name" "$file" "$@"; then
        fail "generating $case_name failed"
        return 1
    fi
}

# hostile_run LABEL CAPTURE [mailtap options]: runs mailtap with JSON lines
# to $work_dir/LABEL.json and --stats, and sets run_status, run_rss_kb and
# run_json. The standard error goes to $work_dir/LABEL.err.
hostile_run() {
    local label=$1 capture=$2
    shift 2
    run_label=$label
    run_json=$work_dir/$label.json
    rm -f "$run_json"
    /usr/bin/time -f '%M' -o "$work_dir/$label.rss" \
        "$MAILTAP" -r "$capture" --json "$run_json" --stats --no-rules "$@" 2> "$work_dir/$label.err"
    run_status=$?
    hostile_after_run
}

# hostile_run_filtered LABEL CAPTURE PATTERN [mailtap options]: as
# hostile_run, but keeps only the JSON lines that match the extended regular
# expression PATTERN, for runs that write hundreds of MB of session records.
hostile_run_filtered() {
    local label=$1 capture=$2 pattern=$3
    shift 3
    run_label=$label
    run_json=$work_dir/$label.json
    /usr/bin/time -f '%M' -o "$work_dir/$label.rss" \
        "$MAILTAP" -r "$capture" --json - --stats --no-rules "$@" 2> "$work_dir/$label.err" \
        | grep -E "$pattern" > "$run_json"
    run_status=${PIPESTATUS[0]}
    hostile_after_run
}

hostile_after_run() {
    local label=$run_label
    run_rss_kb=$(tail -n 1 "$work_dir/$label.rss")
    case $run_rss_kb in
        '' | *[!0-9]*) run_rss_kb=0 ;;
    esac
    echo "$label: exit status $run_status, peak RSS $run_rss_kb KiB"
    if grep -q 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$work_dir/$label.err"; then
        fail "$label: sanitizer report:"
        sed -n '1,30p' "$work_dir/$label.err"
    fi
}

# expect_status ALLOWED...: the last run's exit status is one of ALLOWED.
expect_status() {
    local allowed
    for allowed in "$@"; do
        [ "$run_status" = "$allowed" ] && return 0
    done
    fail "exit status $run_status, expected one of: $*"
    sed -n '1,20p' "$work_dir/$run_label.err"
    return 1
}

# expect_rss_below KIB REASON: the last run's peak RSS is under KIB.
expect_rss_below() {
    if [ "$run_rss_kb" -gt "$1" ]; then
        fail "peak RSS $run_rss_kb KiB, expected under $1 KiB ($2)"
    else
        echo "  peak RSS $run_rss_kb KiB under $1 KiB ($2): ok"
    fi
}

# expect_json [hostile_check.py options]: checks the last run's JSON lines.
expect_json() {
    if ! "$python" "$hostile_dir/hostile_check.py" "$run_json" "$@"; then
        fail "checks of $run_json failed"
    fi
}

# expect_stderr_stat NAME=VALUE: the last run's --stats lines on stderr include NAME=VALUE.
expect_stderr_stat() {
    if grep -qx -- "$1" "$work_dir/$run_label.err"; then
        echo "  stderr stats line $1: ok"
    else
        fail "no line '$1' in the --stats output on stderr ($(grep -c '=' "$work_dir/$run_label.err") counter lines)"
    fi
}

# measure_baseline: peak RSS of mailtap on the prefix session alone, in baseline_rss_kb.
measure_baseline() {
    hostile_gen prefix "$work_dir/baseline.pcap" || return
    hostile_run baseline "$work_dir/baseline.pcap"
    baseline_rss_kb=$run_rss_kb
}

# measure_certificate_baseline: peak RSS of mailtap on a project capture whose
# handshake carries a certificate, in cert_baseline_rss_kb. The system trust
# store is loaded only when the first certificate is checked, so runs that
# parse certificates are measured against this one.
measure_certificate_baseline() {
    hostile_run cert_baseline "$MAILTAP_SOURCE_DIR/captures/smtp-starttls-tls12-ipv4.pcap"
    cert_baseline_rss_kb=$run_rss_kb
    if [ "$cert_baseline_rss_kb" -lt "$baseline_rss_kb" ]; then
        cert_baseline_rss_kb=$baseline_rss_kb
    fi
}

hostile_finish() {
    if [ "$failures" -gt 0 ]; then
        echo "$test_name: $failures check(s) failed"
        exit 1
    fi
    echo "$test_name: all checks passed"
    exit 0
}
