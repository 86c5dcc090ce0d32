#!/usr/bin/env bash
# Installs the build into a DESTDIR staging directory and checks the result.
# Every file must be at its configured path with a sane mode. The systemd
# units must name the installed paths and pass systemd-analyze verify. The
# configuration, the logrotate snippet and the sysusers and tmpfiles
# snippets must be accepted by the programs that read them. The installed
# binary must validate and find the installed default rules.
#
# Environment (set by ctest): MAILTAP_BUILD_DIR, the build tree to install;
# MAILTAP_SOURCE_DIR, the source tree with captures/. Nothing is written
# outside a temporary directory. The checks that need root (file owners from
# systemd-tmpfiles, the default-rules lookup in a private mount namespace)
# are left out otherwise, with a note.
set -euo pipefail

if [ -z "${MAILTAP_BUILD_DIR:-}" ] || [ ! -f "$MAILTAP_BUILD_DIR/dist/install-dirs.sh" ]; then
	echo "FAIL: MAILTAP_BUILD_DIR must name a configured build tree (got '${MAILTAP_BUILD_DIR:-}')"
	exit 1
fi
if [ -z "${MAILTAP_SOURCE_DIR:-}" ]; then
	echo "FAIL: MAILTAP_SOURCE_DIR is not set"
	exit 1
fi

# shellcheck source=/dev/null
. "$MAILTAP_BUILD_DIR/dist/install-dirs.sh"
work=$(mktemp -d /tmp/mailtap-install-XXXXXX)
stage=$work/stage
failures=0
priv_ns=

cleanup() {
	if [ -n "$priv_ns" ]; then ip netns del "$priv_ns" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# Checks that the staged PATH is a regular file with octal mode MODE.
check_file() {
	local path=$1 mode=$2
	local staged=$stage$path

	if [ ! -f "$staged" ]; then
		fail "$path is not installed"
		return
	fi
	local actual
	actual=$(stat -c %a "$staged")
	if [ "$actual" != "$mode" ]; then
		fail "$path has mode $actual, expected $mode"
	fi
}

if ! DESTDIR=$stage cmake --install "$MAILTAP_BUILD_DIR" >"$work/install.log" 2>&1; then
	cat "$work/install.log"
	echo "FAIL: cmake --install into a DESTDIR failed"
	exit 1
fi

# Every installed file and its mode.
check_file "$sbindir/mailtap" 755
check_file "$rulesdir/default.yaml" 644
check_file "$mandir/man8/mailtap.8" 644
check_file "$unitdir/mailtap@.service" 644
check_file "$unitdir/mailtap-fanout@.service" 644
check_file "$helperdir/mailtap-fanout-worker" 755
check_file "$confdir/mailtap.yaml" 644
check_file "$sysconfdir/logrotate.d/mailtap" 644
check_file "$libdir/sysusers.d/mailtap.conf" 644
check_file "$libdir/tmpfiles.d/mailtap.conf" 644
check_file "$docdir/service.md" 644

# No staged file may be writable by group or others.
writable=$(find "$stage" -type f -perm /022)
if [ -n "$writable" ]; then
	fail "group- or world-writable files installed: $writable"
fi

# A second install keeps the edited configuration and puts the new one beside it.
echo "# edited by the operator" >>"$stage$confdir/mailtap.yaml"
DESTDIR=$stage cmake --install "$MAILTAP_BUILD_DIR" >"$work/install2.log" 2>&1
if ! grep -q "edited by the operator" "$stage$confdir/mailtap.yaml"; then
	fail "a second install overwrote the edited $confdir/mailtap.yaml"
fi
check_file "$confdir/mailtap.yaml.default" 644

# The units start the installed binary with the installed configuration.
unit=$stage$unitdir/mailtap@.service
expected_exec="ExecStart=$sbindir/mailtap --config $confdir/mailtap.yaml -i %I -Z mailtap"
if ! grep -qxF "$expected_exec" "$unit"; then
	fail "mailtap@.service does not contain '$expected_exec'"
fi
if ! grep -qxF "ExecStart=$helperdir/mailtap-fanout-worker %I" "$stage$unitdir/mailtap-fanout@.service"; then
	fail "mailtap-fanout@.service does not start $helperdir/mailtap-fanout-worker"
fi
if grep -q "@[A-Z_]*@" "$unit" "$stage$unitdir/mailtap-fanout@.service" "$stage$confdir/mailtap.yaml" \
	"$stage$helperdir/mailtap-fanout-worker"; then
	fail "a configured file still holds an @VARIABLE@"
fi
if ! grep -q "^exec $sbindir/mailtap --config $confdir/mailtap.yaml" "$stage$helperdir/mailtap-fanout-worker"; then
	fail "mailtap-fanout-worker does not exec the installed mailtap"
fi
if ! sh -n "$stage$helperdir/mailtap-fanout-worker"; then
	fail "mailtap-fanout-worker is not valid sh"
fi

# systemd-analyze checks the units offline. The copies point into the
# staging directory so that their programs exist.
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$work/units"
	sed "s|$prefix/|$stage$prefix/|g" "$unit" >"$work/units/mailtap@eth0.service"
	sed "s|$prefix/|$stage$prefix/|g" "$stage$unitdir/mailtap-fanout@.service" \
		>"$work/units/mailtap-fanout@eth0.service"
	for u in "$work/units/mailtap@eth0.service" "$work/units/mailtap-fanout@eth0.service"; do
		if ! systemd-analyze verify --man=no "$u" >"$work/verify.log" 2>&1 || [ -s "$work/verify.log" ]; then
			cat "$work/verify.log"
			fail "systemd-analyze verify reports problems in $(basename "$u")"
		fi
		# The hardening scores 2.5 with systemd 252. A score over 3.0 means a setting was lost.
		score=$(systemd-analyze security --offline=true "$u" 2>/dev/null |
			sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		if [ -z "$score" ]; then
			echo "note: systemd-analyze security gave no score for $(basename "$u")"
		elif awk -v s="$score" 'BEGIN { exit !(s > 3.0) }'; then
			fail "systemd-analyze security rates $(basename "$u") $score, expected 3.0 or less"
		fi
	done
else
	echo "note: systemd-analyze not installed; the units were not verified"
fi

# The configuration names the installed rules and the service's log directory.
config=$stage$confdir/mailtap.yaml
if ! grep -qxF "rules: $rulesdir/default.yaml" "$config"; then
	fail "mailtap.yaml does not load $rulesdir/default.yaml"
fi
if ! grep -qxF "json: /var/log/mailtap/eve.json" "$config"; then
	fail "mailtap.yaml does not write /var/log/mailtap/eve.json"
fi

# The installed binary runs and accepts the installed rules.
mailtap=$stage$sbindir/mailtap
if ! "$mailtap" --version | grep -q "^mailtap "; then
	fail "the installed mailtap does not run"
fi
if ! "$mailtap" --check-rules "$stage$rulesdir/default.yaml" >"$work/check.log" 2>&1; then
	cat "$work/check.log"
	fail "the installed default rules do not pass --check-rules"
fi

# The installed configuration is accepted, every key of it.
capture=$MAILTAP_SOURCE_DIR/captures/smtp-auth-plain-ipv4.pcap
sed "s|^rules: .*|rules: $stage$rulesdir/default.yaml|" "$config" >"$work/config.yaml"
if ! "$mailtap" --config "$work/config.yaml" -r "$capture" --json "$work/config.json" 2>"$work/config.log"; then
	cat "$work/config.log"
	fail "the installed mailtap.yaml is rejected"
elif ! grep -q '"event_type":"alert"' "$work/config.json"; then
	fail "with the installed mailtap.yaml no rule fired on $capture"
fi

# logrotate parses the snippet (debug mode rotates nothing). Where the user
# mailtap does not exist yet, a copy names the current user instead.
if command -v logrotate >/dev/null 2>&1; then
	snippet=$stage$sysconfdir/logrotate.d/mailtap
	if ! getent passwd mailtap >/dev/null || ! getent group mailtap >/dev/null; then
		sed "s|^\(\s*create [0-7]*\) mailtap mailtap$|\1 $(id -un) $(id -gn)|" "$snippet" >"$work/logrotate.conf"
		snippet=$work/logrotate.conf
	fi
	if ! logrotate -d -s "$work/logrotate.state" "$snippet" \
		>"$work/logrotate.log" 2>&1 || grep -qi "error" "$work/logrotate.log"; then
		cat "$work/logrotate.log"
		fail "logrotate rejects the installed snippet"
	fi
else
	echo "note: logrotate not installed; the snippet was not parsed"
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "note: not root; skipped the tmpfiles owners and the default-rules lookup"
	[ "$failures" -eq 0 ] && echo "install: all checks passed"
	exit $((failures > 0))
fi

# The sysusers and tmpfiles snippets, applied to a scratch root.
if command -v systemd-sysusers >/dev/null 2>&1 && command -v systemd-tmpfiles >/dev/null 2>&1; then
	root=$work/sysroot
	mkdir -p "$root/etc" "$root/var/log" "$root/var/lib"
	systemd-sysusers --root="$root" "$stage$libdir/sysusers.d/mailtap.conf" >"$work/sysusers.log" 2>&1 || cat "$work/sysusers.log"
	uid=$(awk -F: '$1 == "mailtap" { print $3 }' "$root/etc/passwd")
	gid=$(awk -F: '$1 == "mailtap" { print $3 }' "$root/etc/group")
	if [ -z "$uid" ] || [ -z "$gid" ]; then
		fail "systemd-sysusers did not create the user and group mailtap"
	else
		systemd-tmpfiles --root="$root" --create "$stage$libdir/tmpfiles.d/mailtap.conf"
		for entry in "var/log/mailtap 2770" "var/lib/mailtap 750" "var/log/mailtap/eve.json 660"; do
			path=${entry% *}
			expected="${entry#* } $uid:$gid"
			actual=$(stat -c "%a %u:%g" "$root/$path" 2>/dev/null || echo missing)
			if [ "$actual" != "$expected" ]; then
				fail "/$path is '$actual' after systemd-tmpfiles, expected '$expected'"
			fi
		done
	fi
else
	echo "note: systemd-sysusers or systemd-tmpfiles missing; the snippets were not applied"
fi

# The installed binary finds the installed default rules by itself. A
# private mount namespace shows the staged data directory at the installed
# path, and only this test's processes see that mount.
share=$prefix/share
if [ "$prefix" = "/usr" ] || [ "$prefix" = "/" ] || [ ! -d "$share" ] || ! command -v unshare >/dev/null 2>&1; then
	echo "note: skipped the default-rules lookup: needs unshare and an existing $share other than /usr/share"
elif ! unshare --mount --propagation private true 2>/dev/null; then
	echo "note: skipped the default-rules lookup: cannot create a mount namespace here"
else
	# mailtap also tries rules/default.yaml in the working directory, which must not have one.
	unshare --mount --propagation private bash -c '
		mount --bind "$1" "$2" || exit 3
		cd "$6" && "$3" -r "$4" --json "$5"' lookup "$stage$share" "$share" "$mailtap" "$capture" \
		"$work/default.json" "$work" 2>"$work/default.log" || true
	if grep -q "event=no_default_rules" "$work/default.log"; then
		fail "the installed mailtap does not find $rulesdir/default.yaml"
	fi
	if ! grep -q '"event_type":"alert"' "$work/default.json" 2>/dev/null; then
		cat "$work/default.log"
		fail "the installed mailtap raised no alert on $capture with its default rules"
	fi
fi

# The unit's privileges, emulated with setpriv: root with only the unit's
# capability bounding set and the supplementary group of the log directory.
# nobody and nogroup stand in for mailtap, which this host may not have, and
# a network namespace made here gives an idle interface (its loopback).
check_service_privileges() {
	local caps logdir pid uid
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr '[:upper:]' '[:lower:]' | sed 's/cap_/+/g; s/ /,/g')
	logdir=$work/log

	# nobody must reach the log directory to reopen the file in it.
	chmod 0711 "$work"
	mkdir "$logdir"
	chown nobody:nogroup "$logdir"
	chmod 2770 "$logdir"
	# As tmpfiles.d creates the default JSON file, and logrotate its successors.
	install -m 0660 -o nobody -g nogroup /dev/null "$logdir/eve.json"

	if ! ip netns add "mi$$-priv" 2>/dev/null; then
		echo "note: skipped the privileges check: cannot create a network namespace here"
		return
	fi
	priv_ns=mi$$-priv
	ip netns exec "$priv_ns" ip link set lo up
	ip netns exec "$priv_ns" setpriv --bounding-set="-all,$caps" --groups="0,$(getent group nogroup | cut -d: -f3)" \
		"$mailtap" -i lo -Z nobody --no-rules --json "$logdir/eve.json" 2>"$work/priv.log" &
	pid=$!
	for _ in $(seq 1 50); do
		grep -q "event=privileges_dropped" "$work/priv.log" 2>/dev/null && break
		sleep 0.1
	done
	uid=$(ps -o uid= -p "$pid" | tr -d ' ' || true)
	if [ "$uid" != "$(id -u nobody)" ]; then
		fail "with the unit's capabilities mailtap did not start and drop to nobody (uid '$uid')"
	elif ! grep -q "^CapEff:[[:space:]]*0*$" "/proc/$pid/status"; then
		fail "mailtap keeps capabilities after -Z: $(grep CapEff "/proc/$pid/status")"
	fi
	# A rotation as logrotate does it, then the reload that reopens the file.
	mv "$logdir/eve.json" "$logdir/eve.json.1"
	install -m 0660 -o nobody -g nogroup /dev/null "$logdir/eve.json"
	kill -HUP "$pid" 2>/dev/null || true
	sleep 0.5
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || true
	ip netns del "$priv_ns"
	priv_ns=
	if grep -q "error" "$work/priv.log"; then
		cat "$work/priv.log"
		fail "mailtap logged an error under the unit's privileges"
	fi
	if ! grep -q "event=stop" "$work/priv.log"; then
		cat "$work/priv.log"
		fail "mailtap did not run under the unit's privileges"
	fi
}

# The fanout helper: two workers of one interface (the loopback of a
# network namespace made here) join the same group and write their own
# files. The copy points into this test's directories and drops to nobody.
check_fanout_helper() {
	local helper=$work/mailtap-fanout-worker
	local pids=() pid worker
	sed -e "s|$sbindir/mailtap|$mailtap|; s|$confdir/mailtap.yaml|$work/config.yaml|" \
		-e "s|/var/log/mailtap|$work/log|; s|-Z mailtap|-Z nobody|" \
		"$stage$helperdir/mailtap-fanout-worker" >"$helper"

	if sh "$helper" eth0 2>"$work/helper.log" || ! grep -q "expected IFACE:N" "$work/helper.log"; then
		fail "mailtap-fanout-worker accepted the instance 'eth0' without a worker number"
	fi

	if ! ip netns add "mi$$-fan" 2>/dev/null; then
		echo "note: skipped the fanout helper check: cannot create a network namespace here"
		return
	fi
	priv_ns=mi$$-fan
	ip netns exec "$priv_ns" ip link set lo up
	for worker in 1 2; do
		ip netns exec "$priv_ns" sh "$helper" "lo:$worker" 2>"$work/helper$worker.log" &
		pids+=($!)
	done
	for worker in 1 2; do
		for _ in $(seq 1 50); do
			grep -q "event=privileges_dropped" "$work/helper$worker.log" 2>/dev/null && break
			sleep 0.1
		done
	done
	# The loopback's index is 1, so the default group is 19712 + 1.
	for pid in "${pids[@]}"; do
		if ! ps -o args= -p "$pid" | grep -q -- "--fanout 19713 "; then
			fail "fanout worker $pid does not run with --fanout 19713: $(ps -o args= -p "$pid" || true)"
		fi
	done
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" || true
	ip netns del "$priv_ns"
	priv_ns=
	for worker in 1 2; do
		if ! grep -q "event=stop" "$work/helper$worker.log"; then
			cat "$work/helper$worker.log"
			fail "fanout worker lo:$worker did not run"
		fi
		if [ "$(stat -c %a "$work/log/eve-lo-$worker.json" 2>/dev/null)" != 660 ]; then
			fail "fanout worker lo:$worker did not create $work/log/eve-lo-$worker.json with mode 660"
		fi
	done
}

if command -v setpriv >/dev/null 2>&1 && command -v ip >/dev/null 2>&1; then
	check_service_privileges
	check_fanout_helper
else
	echo "note: skipped the privileges and fanout helper checks: need setpriv and ip"
fi

if [ "$failures" -ne 0 ]; then
	echo "install: $failures checks failed"
	exit 1
fi
echo "install: all checks passed"
