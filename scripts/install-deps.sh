#!/usr/bin/env bash
# Installs the Debian 12 packages that building, running and testing mailtap
# need. Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(
	build-essential cmake pkg-config clang
	libpcap-dev libndpi-dev libyaml-dev libssl-dev libsqlite3-dev ca-certificates
	python3 tshark libndpi-bin
	rsyslog iproute2 tcpdump
	chromium
	time valgrind
)

missing=()
for pkg in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$pkg")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
	sudo_cmd=(sudo)
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
