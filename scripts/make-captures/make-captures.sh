#!/bin/bash
# Record mailtap's regression captures from real mail servers on loopback.
#
# Run as root on Debian 12. The script installs Postfix, Dovecot and the
# clients with apt-get and configures them in a throwaway directory, so
# nothing under /etc changes. It starts them on 127.0.0.1 and ::1 only and
# records one small pcap per scenario with tcpdump on lo. At the end it stops
# every process it started and writes captures/NAME.expected.json from
# tshark's reading of each capture (expect.py).
#
# Usage: make-captures.sh [OUTPUT_DIR] [SCENARIO_NAME ...]
#   OUTPUT_DIR defaults to the repository's captures/ directory. With
#   scenario names, only those captures are recorded again.
#
# All traffic goes to 127.0.0.1, 127.0.0.2, 127.0.0.3 or ::1. Every user name,
# password and token below is made up; docs/captures.md lists them.

set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo_dir=$(cd "$script_dir/../.." && pwd)
out_dir=${1:-$repo_dir/captures}
shift || true
only_scenarios=("$@")

if [ "$(id -u)" -ne 0 ]; then
    echo "make-captures.sh: must run as root (it installs packages and starts servers)" >&2
    exit 2
fi

# Made-up accounts. The passwords are listed in docs/captures.md so that the
# privacy test can grep mailtap's output for them.
ALICE_PASSWORD='Wonderland-42'
BOB_PASSWORD='b0b"s\secret'
CAROL_PASSWORD='carol-pass-7'
WRONG_PASSWORD='not-the-password-9'
OAUTH_TOKEN='ya29.mailtap-made-up-token-0001'

PYTHON=/usr/bin/python3

install_packages() {
    local packages=(postfix dovecot-core dovecot-imapd dovecot-pop3d swaks tcpdump openssl
                    python3 curl tshark ca-certificates libnet-ssleay-perl libio-socket-ssl-perl
                    libauthen-sasl-perl libdigest-hmac-perl iproute2)
    local missing=()
    local package
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$package")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi

    # "No configuration" keeps the package from writing /etc/postfix/main.cf:
    # this script runs Postfix from its own configuration directory.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# Throwaway directory and the processes this script started.
work_dir=
tcpdump_pid=
helper_pids=()
servers_left=

stop_everything() {
    set +e
    if [ -n "$tcpdump_pid" ]; then
        kill -INT "$tcpdump_pid" 2>/dev/null
        wait "$tcpdump_pid" 2>/dev/null
    fi
    local pid
    for pid in "${helper_pids[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ -n "$work_dir" ] && [ -f "$work_dir/postfix/main.cf" ]; then
        postfix -c "$work_dir/postfix" stop >/dev/null 2>&1
    fi
    if [ -n "$work_dir" ] && [ -f "$work_dir/dovecot.conf" ]; then
        doveadm -c "$work_dir/dovecot.conf" stop >/dev/null 2>&1
    fi
    sleep 1
    if ! servers_stopped; then
        echo "make-captures.sh: Postfix or Dovecot did not stop; see the pid files in $work_dir" >&2
        servers_left=1
        return
    fi
    if [ -n "$work_dir" ] && [ -z "${KEEP_WORK_DIR:-}" ]; then
        rm -rf "$work_dir"
    fi
}
trap stop_everything EXIT

# servers_stopped: true when the master processes named in this run's pid
# files (Postfix, Dovecot) are gone.
servers_stopped() {
    local pid_file pid
    for pid_file in "$work_dir/postfix-queue/pid/master.pid" "$work_dir/dovecot-run/master.pid"; do
        [ -f "$pid_file" ] || continue
        pid=$(tr -d ' \n' < "$pid_file")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
    done
    return 0
}

make_certificate() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -subj "/CN=mail.example.test" \
        -addext "subjectAltName=DNS:mail.example.test" \
        -keyout "$work_dir/key.pem" -out "$work_dir/cert.pem" 2>/dev/null
    chmod 0644 "$work_dir/cert.pem"
    chmod 0640 "$work_dir/key.pem"
}

write_postfix_config() {
    local dir=$work_dir/postfix
    local queue=$work_dir/postfix-queue
    mkdir -p "$dir" "$queue" "$work_dir/postfix-data"
    chown postfix:postfix "$work_dir/postfix-data"

    # TLS 1.0 and 1.1 need OpenSSL security level 0 on Debian 12, on the
    # server as well as on the client, so the server cipher lists set it.
    cat > "$dir/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $queue
data_directory = $work_dir/postfix-data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test
inet_interfaces = loopback-only
inet_protocols = all
mynetworks = 127.0.0.0/8 [::1]/128
maillog_file = $work_dir/postfix.log
maillog_file_prefixes = $work_dir
smtputf8_enable = no
biff = no
local_transport = discard:
default_transport = discard:
relay_transport = discard:
local_recipient_maps =
alias_maps =
alias_database =
smtpd_banner = \$myhostname ESMTP
smtpd_tls_cert_file = $work_dir/cert.pem
smtpd_tls_key_file = $work_dir/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtpd_tls_protocols = >=TLSv1
smtpd_tls_mandatory_protocols = >=TLSv1
tls_medium_cipherlist = DEFAULT:@SECLEVEL=0
tls_high_cipherlist = DEFAULT:@SECLEVEL=0
smtpd_tls_loglevel = 1
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
EOF

    cat > "$dir/master.cf" <<'EOF'
smtp       inet  n - n - - smtpd
submission inet  n - n - - smtpd
smtps      inet  n - n - - smtpd -o smtpd_tls_wrappermode=yes
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n - 0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n - - trivial-rewrite
bounce     unix  - - n - 0 bounce
defer      unix  - - n - 0 bounce
trace      unix  - - n - 0 bounce
verify     unix  - - n - 1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n - - proxymap
proxywrite unix  - - n - 1 proxymap
smtp       unix  - - n - - smtp
relay      unix  - - n - - smtp
showq      unix  n - n - - showq
error      unix  - - n - - error
retry      unix  - - n - - error
discard    unix  - - n - - discard
local      unix  - n n - - local
virtual    unix  - n n - - virtual
lmtp       unix  - - n - - lmtp
anvil      unix  - - n - 1 anvil
scache     unix  - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
}

write_dovecot_config() {
    mkdir -p "$work_dir/dovecot-run" "$work_dir/dovecot-state" "$work_dir/mail"
    chown nobody:nogroup "$work_dir/mail"

    # passwd-file userdb: user:{scheme}password:uid:gid::home. Plain-text
    # storage lets every challenge-response mechanism work (CRAM-MD5,
    # DIGEST-MD5, APOP, SCRAM).
    local uid gid
    uid=$(id -u nobody)
    gid=$(id -g nobody)
    {
        printf 'alice:{PLAIN}%s:%s:%s::%s/mail/alice\n' "$ALICE_PASSWORD" "$uid" "$gid" "$work_dir"
        printf 'bob:{PLAIN}%s:%s:%s::%s/mail/bob\n' "$BOB_PASSWORD" "$uid" "$gid" "$work_dir"
        printf 'carol:{PLAIN}%s:%s:%s::%s/mail/carol\n' "$CAROL_PASSWORD" "$uid" "$gid" "$work_dir"
    } > "$work_dir/users"
    chmod 0644 "$work_dir/users"

    cat > "$work_dir/dovecot.conf" <<EOF
base_dir = $work_dir/dovecot-run
state_dir = $work_dir/dovecot-state
log_path = $work_dir/dovecot.log
protocols = imap pop3
listen = 127.0.0.1, ::1
ssl = yes
ssl_cert = <$work_dir/cert.pem
ssl_key = <$work_dir/key.pem
ssl_min_protocol = TLSv1
ssl_cipher_list = DEFAULT:@SECLEVEL=0
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 digest-md5 apop scram-sha-1 scram-sha-256
auth_realms = example.test
auth_default_realm = example.test
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $work_dir/users
}
userdb {
  driver = passwd-file
  args = username_format=%n $work_dir/users
}
service auth {
  unix_listener $work_dir/postfix-queue/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 993
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 110
  }
  inet_listener pop3s {
    port = 995
    ssl = yes
  }
}
EOF
}

start_servers() {
    postfix -c "$work_dir/postfix" set-permissions >/dev/null 2>&1 || true
    postfix -c "$work_dir/postfix" check
    postfix -c "$work_dir/postfix" start
    dovecot -c "$work_dir/dovecot.conf"
    wait_for_port 127.0.0.1 25
    wait_for_port ::1 25
    wait_for_port 127.0.0.1 587
    wait_for_port 127.0.0.1 465
    wait_for_port 127.0.0.1 143
    wait_for_port ::1 993
    wait_for_port 127.0.0.1 110
    wait_for_port 127.0.0.1 995
}

# wait_for_port HOST PORT: wait up to 10 s until something listens there.
wait_for_port() {
    local host=$1 port=$2 try
    for try in $(seq 1 50); do
        if "$PYTHON" - "$host" "$port" <<'EOF' 2>/dev/null
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
EOF
        then
            return 0
        fi
        sleep 0.2
    done
    echo "make-captures.sh: nothing listens on [$host]:$port after 10 s" >&2
    return 1
}

# start_helper MIDDLEBOX_ARGS...: start a middlebox or mock server of our own
# (middlebox.py) and remember its process id so that stop_everything ends it.
start_helper() {
    "$PYTHON" "$script_dir/middlebox.py" "$@" &
    helper_pids+=("$!")
}

stop_helpers() {
    local pid
    for pid in "${helper_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    helper_pids=()
}

is_selected() {
    local name=$1 wanted
    if [ ${#only_scenarios[@]} -eq 0 ]; then
        return 0
    fi
    for wanted in "${only_scenarios[@]}"; do
        [ "$wanted" = "$name" ] && return 0
    done
    return 1
}

# record_once FILE FILTER NAME COMMAND...: record FILTER on lo into FILE
# while COMMAND runs, and return COMMAND's status. tcpdump runs with -U
# (packet-buffered) and snaplen 0 (whole packets), and with --immediate-mode
# so that the kernel ring hands over every packet before the SIGINT that
# stops it (without it, the last second of packets is lost).
record_once() {
    local file=$1 filter=$2 name=$3
    shift 3
    local log=$work_dir/tcpdump-$name.log
    rm -f "$file"

    # Other programs on this machine may use lo too (test servers on other
    # loopback-bound addresses), so only this script's addresses are kept.
    tcpdump -i lo -U --immediate-mode -s 0 -w "$file" \
        "($filter) and (net 127.0.0.0/8 or ip6 host ::1)" 2>"$log" &
    tcpdump_pid=$!
    local try
    for try in $(seq 1 50); do
        grep -qs 'listening on' "$log" && break
        sleep 0.1
    done

    local status=0
    "$@" > "$work_dir/client-$name.log" 2>&1 || status=$?

    # Let the last FIN/ACK reach tcpdump before it stops.
    sleep 0.5
    kill -INT "$tcpdump_pid"
    wait "$tcpdump_pid" || true
    tcpdump_pid=
    chmod 0644 "$file"
    return "$status"
}

# capture NAME FILTER COMMAND...: record one scenario into NAME.pcap. On a
# busy machine tcpdump can miss a packet on lo, so a capture in which tshark
# finds a lost segment is recorded again, up to three times.
capture() {
    local name=$1 filter=$2
    shift 2
    if ! is_selected "$name"; then
        return 0
    fi
    local file=$out_dir/$name.pcap
    echo "== $name"
    local attempt status lost
    for attempt in 1 2 3; do
        status=0
        record_once "$file" "$filter" "$name" "$@" || status=$?
        lost=$(tshark -r "$file" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' \
               2>/dev/null | wc -l)
        [ "$lost" -eq 0 ] && break
        echo "   tshark finds $lost packets after a lost segment (attempt $attempt of 3)" >&2
    done
    if [ "$status" -ne 0 ]; then
        echo "   client exited with status $status; the capture is kept for inspection" >&2
        tail -5 "$work_dir/client-$name.log" >&2
        failed_scenarios+=("$name")
    fi
}

failed_scenarios=()

# --- Clients -----------------------------------------------------------------

swaks_common=(--from alice@example.test --to bob@example.test --helo client.example.test
              --header 'Subject: mailtap capture' --body 'Made-up test message.' --timeout 10)

swaks_send() {
    swaks "${swaks_common[@]}" "$@"
}

clients() {
    "$PYTHON" "$script_dir/clients.py" "$@"
}

# expect_failure COMMAND...: run a client whose login must be rejected.
expect_failure() {
    ! "$@"
}

# s_client_session COMMANDS ARGS...: feed a short command list to openssl
# s_client. The commands run inside TLS, so only the handshake is visible in
# the capture. Write COMMANDS with \n only: -crlf turns each LF into CRLF.
s_client_session() {
    local commands=$1
    shift
    printf '%b' "$commands" | timeout 15 openssl s_client -quiet -servername mail.example.test \
        -ign_eof "$@"
}

# --- Scenarios ---------------------------------------------------------------

record_smtp() {
    local tls12_cipher=(--tls-cipher 'DEFAULT:@SECLEVEL=0')

    capture smtp-auth-plain-ipv4 'tcp port 25' \
        swaks_send --server 127.0.0.1 --port 25 --auth PLAIN --auth-user alice --auth-password "$ALICE_PASSWORD"
    capture smtp-auth-plain-ipv6 'tcp port 25' \
        swaks_send --server ::1 --port 25 -6 --auth PLAIN --auth-user alice --auth-password "$ALICE_PASSWORD"
    capture smtp-auth-login-ipv4 'tcp port 25' \
        swaks_send --server 127.0.0.1 --port 25 --auth LOGIN --auth-user carol --auth-password "$CAROL_PASSWORD"
    capture smtp-auth-login-failure-ipv4 'tcp port 25' \
        expect_failure swaks_send --server 127.0.0.1 --port 25 --auth LOGIN --auth-user alice --auth-password "$WRONG_PASSWORD" \
        --quit-after AUTH
    capture smtp-auth-cram-md5-ipv4 'tcp port 25' \
        swaks_send --server 127.0.0.1 --port 25 --auth CRAM-MD5 --auth-user alice --auth-password "$ALICE_PASSWORD"
    capture smtp-auth-digest-md5-ipv4 'tcp port 25' \
        swaks_send --server 127.0.0.1 --port 25 --auth DIGEST-MD5 --auth-user alice --auth-password "$ALICE_PASSWORD"
    capture smtp-lowercase-pipelining-ipv4 'tcp port 25' \
        clients smtp-lowercase --host 127.0.0.1 --user alice --password "$ALICE_PASSWORD"
    capture smtp-auth-plain-continuation-ipv4 'tcp port 25' \
        clients smtp-auth-continuation --host 127.0.0.1 --user alice --password "$ALICE_PASSWORD"
    capture smtp-auth-cancel-ipv4 'tcp port 25' \
        clients smtp-auth-cancel --host 127.0.0.1 --user alice --password "$ALICE_PASSWORD"
    capture smtp-bdat-ipv4 'tcp port 25' \
        clients smtp-bdat --host 127.0.0.1

    capture smtp-starttls-tls13-ipv4 'tcp port 25' \
        swaks_send --server 127.0.0.1 --port 25 -tls --tls-protocol tlsv1_3 --tls-sni mail.example.test
    capture smtp-starttls-tls13-ipv6 'tcp port 25' \
        swaks_send --server ::1 --port 25 -6 -tls --tls-protocol tlsv1_3 --tls-sni mail.example.test
    capture smtp-starttls-tls12-ipv4 'tcp port 25' \
        swaks_send --server 127.0.0.1 --port 25 -tls --tls-protocol tlsv1_2 --tls-sni mail.example.test
    capture smtp-starttls-tls12-ipv6 'tcp port 25' \
        swaks_send --server ::1 --port 25 -6 -tls --tls-protocol tlsv1_2 --tls-sni mail.example.test
    capture smtp-starttls-tls11-ipv4 'tcp port 25' \
        swaks_send --server 127.0.0.1 --port 25 -tls --tls-protocol tlsv1_1 "${tls12_cipher[@]}" \
        --tls-sni mail.example.test
    capture smtp-starttls-tls10-ipv4 'tcp port 25' \
        swaks_send --server 127.0.0.1 --port 25 -tls --tls-protocol tlsv1 "${tls12_cipher[@]}" \
        --tls-sni mail.example.test
    capture smtp-starttls-tls10-ipv6 'tcp port 25' \
        swaks_send --server ::1 --port 25 -6 -tls --tls-protocol tlsv1 "${tls12_cipher[@]}" \
        --tls-sni mail.example.test
    capture smtp-starttls-openssl-ipv4 'tcp port 25' \
        s_client_session 'EHLO client.example.test\nQUIT\n' -connect 127.0.0.1:25 -starttls smtp -crlf
    capture smtp-starttls-curl-ipv4 'tcp port 25' \
        curl --silent --show-error --ssl-reqd --insecure --max-time 15 smtp://127.0.0.1:25 \
        --mail-from alice@example.test --mail-rcpt bob@example.test --upload-file "$work_dir/message.txt"

    capture submission-starttls-auth-ipv4 'tcp port 587' \
        swaks_send --server 127.0.0.1 --port 587 -tls --auth PLAIN --auth-user alice \
        --auth-password "$ALICE_PASSWORD" --tls-sni mail.example.test
    capture submission-starttls-auth-ipv6 'tcp port 587' \
        swaks_send --server ::1 --port 587 -6 -tls --auth PLAIN --auth-user alice \
        --auth-password "$ALICE_PASSWORD" --tls-sni mail.example.test
    capture submission-auth-login-curl-ipv4 'tcp port 587' \
        curl --silent --show-error --max-time 15 smtp://127.0.0.1:587 --login-options AUTH=LOGIN \
        --user "carol:$CAROL_PASSWORD" --mail-from carol@example.test --mail-rcpt bob@example.test \
        --upload-file "$work_dir/message.txt"

    capture smtps-tls13-ipv4 'tcp port 465' \
        swaks_send --server 127.0.0.1 --port 465 --tls-on-connect --tls-sni mail.example.test
    capture smtps-tls13-ipv6 'tcp port 465' \
        swaks_send --server ::1 --port 465 -6 --tls-on-connect --tls-sni mail.example.test
    capture smtps-tls10-ipv4 'tcp port 465' \
        s_client_session 'EHLO client.example.test\nQUIT\n' -connect 127.0.0.1:465 -tls1 \
        -cipher 'DEFAULT:@SECLEVEL=0' -crlf
}

record_imap() {
    capture imap-login-ipv4 'tcp port 143' \
        clients imap-login --host 127.0.0.1 --user alice --password "$ALICE_PASSWORD" --form atom
    capture imap-login-ipv6 'tcp port 143' \
        clients imap-login --host ::1 --user alice --password "$ALICE_PASSWORD" --form atom
    capture imap-login-quoted-ipv4 'tcp port 143' \
        clients imap-login --host 127.0.0.1 --user bob --password "$BOB_PASSWORD" --form quoted
    capture imap-login-literal-ipv4 'tcp port 143' \
        clients imap-login --host 127.0.0.1 --user bob --password "$BOB_PASSWORD" --form literal
    capture imap-login-literal-plus-ipv4 'tcp port 143' \
        clients imap-login --host 127.0.0.1 --user bob --password "$BOB_PASSWORD" --form literal-plus
    capture imap-login-failure-ipv4 'tcp port 143' \
        clients imap-login --host 127.0.0.1 --user alice --password "$WRONG_PASSWORD" --form atom \
        --expect-failure
    capture imap-authenticate-plain-ir-ipv4 'tcp port 143' \
        clients imap-authenticate --host 127.0.0.1 --mechanism PLAIN --initial-response \
        --user alice --password "$ALICE_PASSWORD"
    capture imap-authenticate-plain-ipv4 'tcp port 143' \
        clients imap-authenticate --host 127.0.0.1 --mechanism PLAIN --user alice --password "$ALICE_PASSWORD"
    capture imap-authenticate-login-ipv4 'tcp port 143' \
        clients imap-authenticate --host 127.0.0.1 --mechanism LOGIN --user carol --password "$CAROL_PASSWORD"
    capture imap-authenticate-cram-md5-ipv4 'tcp port 143' \
        clients imap-authenticate --host 127.0.0.1 --mechanism CRAM-MD5 --user alice --password "$ALICE_PASSWORD"
    capture imap-authenticate-scram-sha-256-ipv4 'tcp port 143' \
        clients imap-authenticate --host 127.0.0.1 --mechanism SCRAM-SHA-256 --user alice \
        --password "$ALICE_PASSWORD"
    # curl 7.88 rejects AUTH=+LOGIN (the LOGIN command) for IMAP, and left to
    # itself it starts DIGEST-MD5, cancels it and falls back to CRAM-MD5, so
    # the mechanism is named: AUTHENTICATE PLAIN with an initial response.
    capture imap-authenticate-plain-curl-ipv4 'tcp port 143' \
        curl --silent --show-error --max-time 15 --login-options 'AUTH=PLAIN' \
        --user "carol:$CAROL_PASSWORD" 'imap://127.0.0.1:143/'

    capture imap-starttls-tls13-ipv4 'tcp port 143' \
        s_client_session 'a1 CAPABILITY\na2 LOGOUT\n' -connect 127.0.0.1:143 -starttls imap -crlf
    capture imap-starttls-tls13-ipv6 'tcp port 143' \
        s_client_session 'a1 CAPABILITY\na2 LOGOUT\n' -connect '[::1]:143' -starttls imap -crlf
    capture imap-starttls-tls12-curl-ipv4 'tcp port 143' \
        curl --silent --show-error --max-time 15 --ssl-reqd --insecure --tls-max 1.2 \
        --user "alice:$ALICE_PASSWORD" 'imap://127.0.0.1:143/'

    capture imaps-tls13-ipv4 'tcp port 993' \
        curl --silent --show-error --max-time 15 --insecure --user "alice:$ALICE_PASSWORD" \
        'imaps://127.0.0.1:993/'
    capture imaps-tls13-ipv6 'tcp port 993' \
        curl --silent --show-error --max-time 15 --insecure --user "alice:$ALICE_PASSWORD" \
        'imaps://[::1]:993/'
    capture imaps-tls11-ipv4 'tcp port 993' \
        s_client_session 'a1 LOGOUT\n' -connect 127.0.0.1:993 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' -crlf
}

record_pop3() {
    capture pop3-user-pass-ipv4 'tcp port 110' \
        clients pop3-user --host 127.0.0.1 --user alice --password "$ALICE_PASSWORD"
    capture pop3-user-pass-ipv6 'tcp port 110' \
        clients pop3-user --host ::1 --user alice --password "$ALICE_PASSWORD"
    capture pop3-apop-curl-ipv4 'tcp port 110' \
        curl --silent --show-error --max-time 15 --login-options 'AUTH=+APOP' \
        --user "carol:$CAROL_PASSWORD" 'pop3://127.0.0.1:110/'
    capture pop3-apop-ipv4 'tcp port 110' \
        clients pop3-apop --host 127.0.0.1 --user alice --password "$ALICE_PASSWORD"
    capture pop3-auth-plain-ipv4 'tcp port 110' \
        clients pop3-auth --host 127.0.0.1 --mechanism PLAIN --user alice --password "$ALICE_PASSWORD"
    capture pop3-auth-cram-md5-ipv4 'tcp port 110' \
        clients pop3-auth --host 127.0.0.1 --mechanism CRAM-MD5 --user alice --password "$ALICE_PASSWORD"
    capture pop3-auth-failure-ipv4 'tcp port 110' \
        clients pop3-auth --host 127.0.0.1 --mechanism PLAIN --user alice --password "$WRONG_PASSWORD" \
        --expect-failure

    capture pop3-stls-tls13-ipv4 'tcp port 110' \
        s_client_session 'CAPA\nQUIT\n' -connect 127.0.0.1:110 -starttls pop3 -crlf
    capture pop3-stls-tls13-ipv6 'tcp port 110' \
        s_client_session 'CAPA\nQUIT\n' -connect '[::1]:110' -starttls pop3 -crlf
    capture pop3s-tls12-ipv4 'tcp port 995' \
        curl --silent --show-error --max-time 15 --insecure --tls-max 1.2 --user "alice:$ALICE_PASSWORD" \
        'pop3s://127.0.0.1:995/'
    capture pop3s-tls10-ipv4 'tcp port 995' \
        s_client_session 'QUIT\n' -connect 127.0.0.1:995 -tls1 -cipher 'DEFAULT:@SECLEVEL=0' -crlf
    capture pop3s-tls13-ipv6 'tcp port 995' \
        curl --silent --show-error --max-time 15 --insecure --user "alice:$ALICE_PASSWORD" \
        'pop3s://[::1]:995/'
}

# Middleboxes listen on 127.0.0.3 and forward to the real server on
# 127.0.0.1; the capture filter keeps only the client's leg.
record_middleboxes() {
    local leg='host 127.0.0.3 and tcp port'

    start_helper strip --listen 127.0.0.3 --port 25 --upstream 127.0.0.1 --protocol smtp
    start_helper strip --listen 127.0.0.3 --port 143 --upstream 127.0.0.1 --protocol imap
    start_helper strip --listen 127.0.0.3 --port 110 --upstream 127.0.0.1 --protocol pop3
    wait_for_port 127.0.0.3 25
    wait_for_port 127.0.0.3 143
    wait_for_port 127.0.0.3 110
    capture smtp-starttls-stripped "$leg 25" \
        clients smtp-opportunistic --host 127.0.0.3 --user alice --password "$ALICE_PASSWORD"
    capture imap-starttls-stripped "$leg 143" \
        clients imap-opportunistic --host 127.0.0.3 --user alice --password "$ALICE_PASSWORD"
    capture pop3-stls-stripped "$leg 110" \
        clients pop3-opportunistic --host 127.0.0.3 --user alice --password "$ALICE_PASSWORD"
    stop_helpers

    start_helper refuse --listen 127.0.0.3 --port 25 --upstream 127.0.0.1 --protocol smtp
    start_helper refuse --listen 127.0.0.3 --port 143 --upstream 127.0.0.1 --protocol imap
    start_helper refuse --listen 127.0.0.3 --port 110 --upstream 127.0.0.1 --protocol pop3
    wait_for_port 127.0.0.3 25
    wait_for_port 127.0.0.3 143
    wait_for_port 127.0.0.3 110
    capture smtp-starttls-refused "$leg 25" \
        clients smtp-opportunistic --host 127.0.0.3 --user alice --password "$ALICE_PASSWORD"
    capture imap-starttls-refused "$leg 143" \
        clients imap-opportunistic --host 127.0.0.3 --user alice --password "$ALICE_PASSWORD"
    capture pop3-stls-refused "$leg 110" \
        clients pop3-opportunistic --host 127.0.0.3 --user alice --password "$ALICE_PASSWORD"
    stop_helpers

    start_helper inject-response --listen 127.0.0.3 --port 25 --upstream 127.0.0.1 --protocol smtp
    start_helper inject-response --listen 127.0.0.3 --port 143 --upstream 127.0.0.1 --protocol imap
    wait_for_port 127.0.0.3 25
    wait_for_port 127.0.0.3 143
    capture smtp-starttls-response-injection "$leg 25" \
        clients smtp-opportunistic --host 127.0.0.3 --user alice --password "$ALICE_PASSWORD"
    capture imap-starttls-response-injection "$leg 143" \
        clients imap-opportunistic --host 127.0.0.3 --user alice --password "$ALICE_PASSWORD"
    stop_helpers

    # Mock servers for what Postfix and Dovecot cannot do offline: bearer
    # tokens need a token validation service, and a plain-text greeting on
    # an implicit-TLS port needs a server that is not Dovecot.
    start_helper mock-smtp --listen 127.0.0.2 --port 25
    start_helper mock-imap --listen 127.0.0.2 --port 143
    start_helper mock-imap --listen 127.0.0.2 --port 993
    start_helper mock-pop3 --listen 127.0.0.2 --port 995
    wait_for_port 127.0.0.2 25
    wait_for_port 127.0.0.2 143
    wait_for_port 127.0.0.2 993
    wait_for_port 127.0.0.2 995
    capture smtp-auth-xoauth2-ipv4 'host 127.0.0.2 and tcp port 25' \
        clients smtp-bearer --host 127.0.0.2 --mechanism XOAUTH2 --user alice@example.test --token "$OAUTH_TOKEN"
    capture smtp-auth-oauthbearer-ipv4 'host 127.0.0.2 and tcp port 25' \
        clients smtp-bearer --host 127.0.0.2 --mechanism OAUTHBEARER --user alice@example.test \
        --token "$OAUTH_TOKEN"
    capture imap-authenticate-xoauth2-ipv4 'host 127.0.0.2 and tcp port 143' \
        clients imap-bearer --host 127.0.0.2 --mechanism XOAUTH2 --user alice@example.test --token "$OAUTH_TOKEN"
    capture imaps-plaintext-ipv4 'host 127.0.0.2 and tcp port 993' \
        clients imap-login --host 127.0.0.2 --port 993 --user alice --password "$ALICE_PASSWORD" --form atom
    capture pop3s-plaintext-ipv4 'host 127.0.0.2 and tcp port 995' \
        clients pop3-user --host 127.0.0.2 --port 995 --user alice --password "$ALICE_PASSWORD"
    stop_helpers
}

record_injection() {
    capture smtp-starttls-command-injection-ipv4 'tcp port 25' \
        clients smtp-command-injection --host 127.0.0.1
    capture smtp-starttls-command-injection-ipv6 'tcp port 25' \
        clients smtp-command-injection --host ::1
    capture imap-starttls-command-injection-ipv4 'tcp port 143' \
        clients imap-command-injection --host 127.0.0.1
    capture smtp-starttls-no-handshake-ipv4 'tcp port 25' \
        clients smtp-no-handshake --host 127.0.0.1
    capture smtp-starttls-no-handshake-ipv6 'tcp port 25' \
        clients smtp-no-handshake --host ::1
    capture pop3-stls-no-handshake-ipv4 'tcp port 110' \
        clients pop3-no-handshake --host 127.0.0.1
}

main() {
    install_packages
    mkdir -p "$out_dir"
    work_dir=$(mktemp -d /tmp/mailtap-captures.XXXXXX)
    chmod 0755 "$work_dir"
    printf 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: mailtap capture\r\n\r\nMade-up test message.\r\n' \
        > "$work_dir/message.txt"

    make_certificate
    write_postfix_config
    write_dovecot_config
    start_servers

    record_smtp
    record_imap
    record_pop3
    record_middleboxes
    record_injection

    stop_everything
    if [ -n "$servers_left" ]; then
        exit 1
    fi
    work_dir=
    trap - EXIT

    if [ ${#failed_scenarios[@]} -gt 0 ]; then
        echo "make-captures.sh: clients failed in: ${failed_scenarios[*]}" >&2
    fi
    if ! "$PYTHON" "$script_dir/expect.py" "$out_dir" "${only_scenarios[@]}"; then
        exit 1
    fi
    [ ${#failed_scenarios[@]} -eq 0 ]
}

main
