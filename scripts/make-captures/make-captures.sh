#!/bin/bash
# Record mailtap's regression captures from real mail servers on loopback.
#
# Run as root on Debian 12. The script installs Postfix, Dovecot and the
# clients with apt-get and configures them in a throwaway directory, so
# nothing under /etc changes. It starts them, and a Kerberos KDC, on loopback
# addresses only and records one small pcap per scenario with tcpdump on lo. At the end it stops
# every process it started and writes captures/NAME.expected.json from
# tshark's reading of each capture (expect.py).
#
# Usage: make-captures.sh [OUTPUT_DIR] [SCENARIO_NAME ...]
#   OUTPUT_DIR defaults to the repository's captures/ directory. With
#   scenario names, only those captures are recorded again.
#
# All traffic goes to 127.0.0.1 to 127.0.0.6 or ::1. Every user name,
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
DAVE_PASSWORD='dave-kerberos-5'
KDC_MASTER_PASSWORD='kdc-master-made-up-1'
NTLM_PASSWORD='nobody-ntlm-8'

PYTHON=/usr/bin/python3

install_packages() {
    local packages=(postfix dovecot-core dovecot-imapd dovecot-pop3d swaks tcpdump openssl
                    python3 curl tshark ca-certificates libnet-ssleay-perl libio-socket-ssl-perl
                    libauthen-sasl-perl libdigest-hmac-perl iproute2 dnsmasq-base bind9-dnsutils
                    socat krb5-kdc krb5-admin-server krb5-user dovecot-gssapi winbind
                    libio-socket-inet6-perl)
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

# The clear-text port of each protocol, where the relays listen.
declare -A relay_ports=([smtp]=25 [imap]=143 [pop3]=110)

# start_relays LISTEN MODE PROTOCOL...: a middlebox.py relay in MODE on
# LISTEN for each protocol, forwarding to the real server on 127.0.0.1.
start_relays() {
    local listen=$1 mode=$2 protocol
    shift 2
    for protocol in "$@"; do
        start_helper "$mode" --listen "$listen" --port "${relay_ports[$protocol]}" --upstream 127.0.0.1 \
            --protocol "$protocol"
        wait_for_listener "$listen" "${relay_ports[$protocol]}"
    done
}

# capture_relayed OUTCOME SUFFIX HOST LEG PROTOCOL...: one capture per
# protocol of a client that uses STARTTLS when offered, through the relay on
# HOST, named after the outcome the relay causes (smtp-starttls-OUTCOME...).
capture_relayed() {
    local outcome=$1 suffix=$2 host=$3 leg=$4 protocol
    shift 4
    declare -A names=([smtp]=smtp-starttls [imap]=imap-starttls [pop3]=pop3-stls)
    for protocol in "$@"; do
        capture "${names[$protocol]}-$outcome$suffix" "$leg ${relay_ports[$protocol]}" \
            clients "$protocol-opportunistic" --host "$host" --user alice --password "$ALICE_PASSWORD"
    done
}

# Middleboxes listen on 127.0.0.3 and forward to the real server on
# 127.0.0.1; the capture filter keeps only the client's leg.
record_middleboxes() {
    local leg='host 127.0.0.3 and tcp port'

    start_relays 127.0.0.3 strip smtp imap pop3
    capture_relayed stripped "" 127.0.0.3 "$leg" smtp imap pop3
    stop_helpers

    start_relays 127.0.0.3 refuse smtp imap pop3
    capture_relayed refused "" 127.0.0.3 "$leg" smtp imap pop3
    stop_helpers

    start_relays 127.0.0.3 inject-response smtp imap
    capture_relayed response-injection "" 127.0.0.3 "$leg" smtp imap
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

# --- Kerberos, Samba winbind, a second Dovecot and a PREAUTH server -------------
#
# PREAUTH, LOGINDISABLED, GSSAPI and NTLM need Dovecot settings that would
# change every other capture, so a second Dovecot instance serves IMAP and
# POP3 on EXTRA_ADDRESS: disable_plaintext_auth = yes, and clients connect
# from 127.0.0.1, which Dovecot does not treat as a secured connection
# because the remote address differs from the local one. It offers PLAIN,
# LOGIN, GSSAPI and NTLM, and a second Postfix submission service, on
# EXTRA_ADDRESS:587, uses it for SASL.
#
# A throwaway MIT Kerberos KDC on 127.0.0.1:88 issues the GSSAPI tickets,
# with its database and configuration under the work directory (KRB5_CONFIG,
# KRB5_KDC_PROFILE). Debian 12's Dovecot 2.3.19.1 has no NTLM code of its own
# ("Unknown authentication mechanism 'NTLM'"), only Samba's ntlm_auth helper
# (auth_use_winbind), so a standalone winbindd checks NTLM responses against
# a Samba password database under the work directory. PREAUTH comes from
# Dovecot's imap binary, started per connection by socat on PREAUTH_ADDRESS
# with the user already chosen.

EXTRA_ADDRESS=127.0.0.4
PREAUTH_ADDRESS=127.0.0.5
KERBEROS_REALM=MAILTAP.TEST
KERBEROS_HOST=mail.mailtap.test

extra_server_scenarios=(imap-preauth-ipv4 imap-logindisabled-starttls-ipv4 imap-logindisabled-login-ipv4
                        imap-authenticate-gssapi-ipv4 imap-authenticate-ntlm-ipv4 pop3-auth-ntlm-ipv4
                        submission-auth-ntlm-ipv4)

# Samba's NetBIOS name, which is also the domain of its local accounts: an
# NTLM client must name it, or winbindd looks for a domain controller.
SAMBA_DOMAIN=MAILTAP

# Samba accounts must be Unix accounts, and "nobody" is the one that exists
# on every Debian system, so the NTLM user is "nobody" (with a made-up Samba
# password) rather than alice.
NTLM_USER=nobody

# any_selected NAME...: true when at least one of the scenarios is to be recorded.
any_selected() {
    local name
    for name in "$@"; do
        is_selected "$name" && return 0
    done
    return 1
}

# kerberos COMMAND...: run COMMAND with this run's Kerberos configuration and
# ticket cache, never the system's /etc/krb5.conf.
kerberos() {
    env KRB5_CONFIG="$work_dir/kerberos/krb5.conf" KRB5_KDC_PROFILE="$work_dir/kerberos/kdc.conf" \
        KRB5CCNAME="FILE:$work_dir/kerberos/ccache" "$@"
}

write_kerberos_config() {
    local dir=$work_dir/kerberos
    mkdir -p "$dir"

    # No DNS lookups: the realm and the KDC are named here, and the host name
    # is used as given (curl resolves it to EXTRA_ADDRESS with --resolve).
    cat > "$dir/krb5.conf" <<EOF
[libdefaults]
    default_realm = $KERBEROS_REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
[realms]
    $KERBEROS_REALM = {
        kdc = 127.0.0.1:88
    }
[domain_realm]
    $KERBEROS_HOST = $KERBEROS_REALM
EOF
    cat > "$dir/kdc.conf" <<EOF
[kdcdefaults]
    kdc_listen = 127.0.0.1:88
    kdc_tcp_listen = 127.0.0.1:88
[realms]
    $KERBEROS_REALM = {
        database_name = $dir/principal
        key_stash_file = $dir/stash
        acl_file = $dir/kadm5.acl
    }
[logging]
    kdc = FILE:$dir/kdc.log
EOF
    kerberos kdb5_util create -s -r "$KERBEROS_REALM" -P "$KDC_MASTER_PASSWORD" >/dev/null
    kerberos kadmin.local -r "$KERBEROS_REALM" -q "addprinc -pw $DAVE_PASSWORD dave" >/dev/null
    kerberos kadmin.local -r "$KERBEROS_REALM" -q "addprinc -randkey imap/$KERBEROS_HOST" >/dev/null
    kerberos kadmin.local -r "$KERBEROS_REALM" -q "ktadd -k $dir/imap.keytab imap/$KERBEROS_HOST" >/dev/null

    # Dovecot's auth process runs as the dovecot user and reads the keytab.
    chown dovecot "$dir/imap.keytab"
    chmod 0600 "$dir/imap.keytab"
}

# write_samba_config: a standalone Samba configuration for winbindd and
# ntlm_auth, and the NTLM account in its password database.
write_samba_config() {
    local dir=$work_dir/samba
    mkdir -p "$dir/private" "$dir/lock" "$dir/state" "$dir/cache" "$dir/run" "$dir/ncalrpc"

    # libwbclient in Samba 4.17 finds winbindd only at the compiled-in
    # /run/samba/winbindd because it ignores WINBINDD_SOCKET_DIR, so the
    # socket goes there. Everything else stays in the work directory.
    # "rpc start on demand helpers = no" keeps winbindd from starting
    # samba-dcerpcd, which would outlive it.
    cat > "$dir/smb.conf" <<EOF
[global]
  workgroup = EXAMPLE
  netbios name = $SAMBA_DOMAIN
  server role = standalone server
  passdb backend = tdbsam:$dir/private/passdb.tdb
  private dir = $dir/private
  lock directory = $dir/lock
  state directory = $dir/state
  cache directory = $dir/cache
  pid directory = $dir/run
  ncalrpc dir = $dir/ncalrpc
  winbindd socket directory = /run/samba/winbindd
  log file = $dir/log.%m
  interfaces = lo
  bind interfaces only = yes
  disable netbios = yes
  rpc start on demand helpers = no
EOF
    printf '%s\n%s\n' "$NTLM_PASSWORD" "$NTLM_PASSWORD" \
        | smbpasswd -c "$dir/smb.conf" -a -s "$NTLM_USER" >/dev/null

    # Dovecot starts the helper without options, and ntlm_auth would read
    # /etc/samba/smb.conf.
    printf '#!/bin/sh\nexec /usr/bin/ntlm_auth --configfile=%s "$@"\n' "$dir/smb.conf" > "$dir/ntlm_auth"
    chmod 0755 "$dir/ntlm_auth"
}

write_extra_dovecot_config() {
    local dir=$work_dir/dovecot-extra
    mkdir -p "$dir/run" "$dir/state" "$dir/mail"
    chown nobody:nogroup "$dir/mail"

    local uid gid
    uid=$(id -u nobody)
    gid=$(id -g nobody)
    {
        printf 'alice:{PLAIN}%s:%s:%s::%s/mail/alice\n' "$ALICE_PASSWORD" "$uid" "$gid" "$dir"
        printf 'dave:{PLAIN}%s:%s:%s::%s/mail/dave\n' "$DAVE_PASSWORD" "$uid" "$gid" "$dir"
        printf '%s:{PLAIN}%s:%s:%s::%s/mail/%s\n' "$NTLM_USER" "$NTLM_PASSWORD" "$uid" "$gid" "$dir" "$NTLM_USER"
    } > "$dir/users"
    chmod 0644 "$dir/users"

    # GSSAPI logins arrive as dave@MAILTAP.TEST and NTLM logins as
    # nobody@MAILTAP; username_format=%n keeps the user for the passwd-file
    # lookups. The auth process runs as root because ntlm_auth needs
    # winbindd's privileged pipe.
    cat > "$dir/dovecot.conf" <<EOF
instance_name = dovecot-extra
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = imap pop3
listen = $EXTRA_ADDRESS
ssl = yes
ssl_cert = <$work_dir/cert.pem
ssl_key = <$work_dir/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login gssapi ntlm
auth_gssapi_hostname = $KERBEROS_HOST
auth_krb5_keytab = $work_dir/kerberos/imap.keytab
import_environment = KRB5_CONFIG=$work_dir/kerberos/krb5.conf
auth_use_winbind = yes
auth_winbind_helper_path = $work_dir/samba/ntlm_auth
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $dir/users
}
userdb {
  driver = passwd-file
  args = username_format=%n $dir/users
}
service auth {
  user = root
  unix_listener $work_dir/postfix-queue/private/auth-extra {
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
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 110
  }
  inet_listener pop3s {
    port = 0
  }
}
EOF
}

# add_extra_submission: a Postfix submission service on EXTRA_ADDRESS whose
# SASL goes to the second Dovecot.
add_extra_submission() {
    if ! grep -q "^$EXTRA_ADDRESS:submission " "$work_dir/postfix/master.cf"; then
        printf '%s:submission inet n - n - - smtpd -o smtpd_sasl_path=private/auth-extra\n' \
            "$EXTRA_ADDRESS" >> "$work_dir/postfix/master.cf"
    fi
    postfix -c "$work_dir/postfix" reload >/dev/null 2>&1
    wait_for_listener "$EXTRA_ADDRESS" 587
}

# start_extra_servers: start the KDC, the second Dovecot and the PREAUTH
# listener as helpers, so that stop_helpers and stop_everything end them.
start_extra_servers() {
    # env, not the kerberos function: a function in the background runs in
    # a subshell, and its process id would not be the KDC's.
    env KRB5_CONFIG="$work_dir/kerberos/krb5.conf" KRB5_KDC_PROFILE="$work_dir/kerberos/kdc.conf" \
        krb5kdc -n -P "$work_dir/kerberos/kdc.pid" &
    helper_pids+=("$!")
    # A winbindd that already responds would be the system's, with other
    # accounts, and the NTLM captures need this run's.
    if wbinfo -p >/dev/null 2>&1; then
        echo "make-captures.sh: a winbindd already listens on /run/samba/winbindd; stop it first" >&2
        return 1
    fi
    mkdir -p /run/samba
    winbindd -s "$work_dir/samba/smb.conf" -F --no-process-group &
    helper_pids+=("$!")
    dovecot -F -c "$work_dir/dovecot-extra/dovecot.conf" &
    helper_pids+=("$!")

    # The imap binary refuses to run as root on a socket ("must not be
    # started from inetd"), so socat hands it pipes. It looks up alice in
    # the second Dovecot's userdb and runs as her uid.
    socat "TCP-LISTEN:143,bind=$PREAUTH_ADDRESS,reuseaddr,fork" \
        "EXEC:/usr/lib/dovecot/imap -c $work_dir/dovecot-extra/dovecot.conf -u alice,pipes" \
        2>>"$work_dir/preauth.log" &
    helper_pids+=("$!")

    wait_for_listener 127.0.0.1 88
    wait_for_listener "$EXTRA_ADDRESS" 143
    wait_for_listener "$EXTRA_ADDRESS" 110
    wait_for_listener "$PREAUTH_ADDRESS" 143
    wait_for_winbindd
}

wait_for_winbindd() {
    local try
    for try in $(seq 1 50); do
        wbinfo -p >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "make-captures.sh: winbindd does not respond after 10 s; see $work_dir/samba/log.winbindd" >&2
    return 1
}

# wait_for_listener HOST PORT: wait up to 10 s until a TCP socket listens
# there. Unlike wait_for_port it makes no connection, so a relay that counts
# its connections is not disturbed.
wait_for_listener() {
    local host=$1 port=$2 address=$1 try
    case $host in
        *:*) address="[$host]" ;;
    esac
    for try in $(seq 1 50); do
        if ss -Hltn "src $address and sport = :$port" | grep -q .; then
            return 0
        fi
        sleep 0.2
    done
    echo "make-captures.sh: nothing listens on [$host]:$port after 10 s" >&2
    return 1
}

record_extra_servers() {
    if ! any_selected "${extra_server_scenarios[@]}"; then
        return 0
    fi
    write_kerberos_config
    write_samba_config
    write_extra_dovecot_config
    start_extra_servers
    add_extra_submission

    capture imap-preauth-ipv4 "host $PREAUTH_ADDRESS and tcp port 143" \
        clients imap-preauth --host "$PREAUTH_ADDRESS"
    capture imap-logindisabled-starttls-ipv4 "host $EXTRA_ADDRESS and tcp port 143" \
        clients imap-opportunistic --host "$EXTRA_ADDRESS" --user alice --password "$ALICE_PASSWORD"
    capture imap-logindisabled-login-ipv4 "host $EXTRA_ADDRESS and tcp port 143" \
        clients imap-login --host "$EXTRA_ADDRESS" --user alice --password "$ALICE_PASSWORD" --form atom \
        --expect-failure

    # curl names the principal in --user and takes the ticket from the cache.
    printf '%s\n' "$DAVE_PASSWORD" | kerberos kinit dave >/dev/null
    capture imap-authenticate-gssapi-ipv4 "host $EXTRA_ADDRESS and tcp port 143" \
        kerberos curl --silent --show-error --max-time 15 --login-options AUTH=GSSAPI \
        --user "dave@$KERBEROS_REALM:" --resolve "$KERBEROS_HOST:143:$EXTRA_ADDRESS" "imap://$KERBEROS_HOST/"

    local ntlm_user="$SAMBA_DOMAIN\\$NTLM_USER:$NTLM_PASSWORD"
    capture imap-authenticate-ntlm-ipv4 "host $EXTRA_ADDRESS and tcp port 143" \
        curl --silent --show-error --max-time 15 --login-options AUTH=NTLM --user "$ntlm_user" \
        "imap://$EXTRA_ADDRESS/"
    capture pop3-auth-ntlm-ipv4 "host $EXTRA_ADDRESS and tcp port 110" \
        curl --silent --show-error --max-time 15 --login-options AUTH=NTLM --user "$ntlm_user" \
        "pop3://$EXTRA_ADDRESS/"
    capture submission-auth-ntlm-ipv4 "host $EXTRA_ADDRESS and tcp port 587" \
        curl --silent --show-error --max-time 15 "smtp://$EXTRA_ADDRESS:587" --login-options AUTH=NTLM \
        --user "$ntlm_user" --mail-from nobody@example.test --mail-rcpt bob@example.test \
        --upload-file "$work_dir/message.txt"
    stop_helpers
}

# pop3_apop_twice HOST: two logins by a client that prefers APOP and falls
# back to USER/PASS when the greeting has no timestamp.
pop3_apop_twice() {
    clients pop3-apop-or-user --host "$1" --user alice --password "$ALICE_PASSWORD" &&
        clients pop3-apop-or-user --host "$1" --user alice --password "$ALICE_PASSWORD"
}

# The first session passes the relay unchanged and logs in with APOP; the
# relay removes the timestamp from the second greeting.
record_apop_strip() {
    if ! is_selected pop3-apop-timestamp-stripped; then
        return 0
    fi
    start_helper strip-apop --listen 127.0.0.3 --port 110 --upstream 127.0.0.1 --protocol pop3 --pass-first 1
    wait_for_listener 127.0.0.3 110
    capture pop3-apop-timestamp-stripped 'host 127.0.0.3 and tcp port 110' pop3_apop_twice 127.0.0.3
    stop_helpers
}

# --- IPv6 middleboxes ------------------------------------------------------------
#
# IPv6 has one loopback address, so a relay on [::1] can use the standard
# ports only while Postfix and Dovecot listen on 127.0.0.1 alone. The servers
# are restarted IPv4-only for these captures, the relays forward to
# 127.0.0.1, the filter keeps the IPv6 leg, and the servers are restarted
# with IPv6 afterwards.

ipv6_middlebox_scenarios=(smtp-starttls-stripped-ipv6 imap-starttls-stripped-ipv6 pop3-stls-stripped-ipv6
                          smtp-starttls-refused-ipv6 imap-starttls-refused-ipv6 pop3-stls-refused-ipv6
                          smtp-starttls-response-injection-ipv6 imap-starttls-response-injection-ipv6
                          pop3-stls-response-injection-ipv6)

# restart_servers ipv4|all: stop Postfix and Dovecot, set their listening
# protocols and start them again.
restart_servers() {
    local protocols=$1 listen try
    postfix -c "$work_dir/postfix" stop >/dev/null 2>&1
    doveadm -c "$work_dir/dovecot.conf" stop >/dev/null 2>&1
    for try in $(seq 1 50); do
        servers_stopped && break
        sleep 0.2
    done
    if ! servers_stopped; then
        echo "make-captures.sh: Postfix or Dovecot did not stop for the restart" >&2
        return 1
    fi

    listen='127.0.0.1, ::1'
    if [ "$protocols" = ipv4 ]; then
        listen=127.0.0.1
    fi
    postconf -c "$work_dir/postfix" -e "inet_protocols = $protocols"
    sed -i "s/^listen = .*/listen = $listen/" "$work_dir/dovecot.conf"
    postfix -c "$work_dir/postfix" start >/dev/null 2>&1
    dovecot -c "$work_dir/dovecot.conf"
    wait_for_port 127.0.0.1 25
    wait_for_port 127.0.0.1 143
    wait_for_port 127.0.0.1 110
}

record_middleboxes_ipv6() {
    if ! any_selected "${ipv6_middlebox_scenarios[@]}"; then
        return 0
    fi
    restart_servers ipv4
    local leg='ip6 and tcp port'

    start_relays ::1 strip smtp imap pop3
    capture_relayed stripped -ipv6 ::1 "$leg" smtp imap pop3
    stop_helpers

    start_relays ::1 refuse smtp imap pop3
    capture_relayed refused -ipv6 ::1 "$leg" smtp imap pop3
    stop_helpers

    start_relays ::1 inject-response smtp imap pop3
    capture_relayed response-injection -ipv6 ::1 "$leg" smtp imap pop3
    stop_helpers

    restart_servers all
}

# --- MTA-STS learning and server history ----------------------------------------
#
# mailtap learns that a domain publishes an MTA-STS policy from a DNS answer
# with a "v=STSv1" TXT record for _mta-sts.<domain>, and from a TLS
# ClientHello to mta-sts.<domain> on port 443 (RFC 8461 sections 3.1 and
# 3.3). dnsmasq answers DNS and openssl s_server serves the policy over
# HTTPS, both on POLICY_ADDRESS only. Each capture then sends a message to
# example.test in clear, which the learnt policy does not allow.

POLICY_ADDRESS=127.0.0.6
POLICY_ID=20261205T000000

policy_scenarios=(smtp-mta-sts-learnt-dns-ipv4 smtp-mta-sts-learnt-https-ipv4)
history_scenarios=(smtp-history-starttls-stripped-ipv4 smtp-history-tls-regression-ipv4
                   smtp-history-certificate-changed-ipv4)

start_policy_servers() {
    local dir=$work_dir/mta-sts
    mkdir -p "$dir/.well-known"
    printf 'version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\nmax_age: 86400\r\n' \
        > "$dir/.well-known/mta-sts.txt"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mta-sts.example.test" \
        -addext "subjectAltName=DNS:mta-sts.example.test" \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null

    # -C /dev/null keeps dnsmasq from reading /etc/dnsmasq.conf, and
    # --no-resolv from forwarding anything: it answers only its own record.
    dnsmasq -C /dev/null --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
        --listen-address="$POLICY_ADDRESS" --port=53 --pid-file="$dir/dnsmasq.pid" \
        --txt-record="_mta-sts.example.test,v=STSv1; id=$POLICY_ID" 2>>"$dir/dnsmasq.log" &
    helper_pids+=("$!")

    # s_server -WWW answers "GET /path" with the file ./path.
    (cd "$dir" && exec openssl s_server -quiet -accept "$POLICY_ADDRESS:443" -cert cert.pem -key key.pem -WWW) \
        >>"$dir/s_server.log" 2>&1 &
    helper_pids+=("$!")
    wait_for_port "$POLICY_ADDRESS" 443
    wait_for_dns
}

# wait_for_dns: wait up to 10 s until dnsmasq answers the policy record.
wait_for_dns() {
    local try
    for try in $(seq 1 50); do
        if dig +short +tries=1 +time=1 @"$POLICY_ADDRESS" TXT _mta-sts.example.test 2>/dev/null | grep -q STSv1; then
            return 0
        fi
        sleep 0.2
    done
    echo "make-captures.sh: no TXT record from dnsmasq on $POLICY_ADDRESS after 10 s; see $work_dir/mta-sts/dnsmasq.log" >&2
    return 1
}

# The clients of the two learning captures: the policy lookup, then a
# message to bob@example.test without STARTTLS.
policy_dns_then_smtp() {
    dig +tries=1 +time=5 @"$POLICY_ADDRESS" TXT _mta-sts.example.test &&
        swaks_send --server 127.0.0.1 --port 25
}

policy_https_then_smtp() {
    curl --silent --show-error --max-time 15 --insecure \
        --resolve "mta-sts.example.test:443:$POLICY_ADDRESS" https://mta-sts.example.test/.well-known/mta-sts.txt &&
        swaks_send --server 127.0.0.1 --port 25
}

record_policy() {
    local scenario selected=
    for scenario in "${policy_scenarios[@]}"; do
        is_selected "$scenario" && selected=1
    done
    [ -n "$selected" ] || return 0
    start_policy_servers
    capture smtp-mta-sts-learnt-dns-ipv4 "host $POLICY_ADDRESS and udp port 53 or tcp port 25" policy_dns_then_smtp
    capture smtp-mta-sts-learnt-https-ipv4 "host $POLICY_ADDRESS and tcp port 443 or tcp port 25" \
        policy_https_then_smtp
    stop_helpers
}

# Postfix changes between the two sessions of a history capture: one
# postconf setting, then a reload, which new connections see at once.
postfix_set() {
    postconf -c "$work_dir/postfix" -e "$@"
    postfix -c "$work_dir/postfix" reload >/dev/null 2>&1
    sleep 2
}

postfix_restore_tls() {
    postconf -c "$work_dir/postfix" -e smtpd_tls_security_level=may \
        "smtpd_tls_cert_file=$work_dir/cert.pem" "smtpd_tls_key_file=$work_dir/key.pem"
    postfix -c "$work_dir/postfix" reload >/dev/null 2>&1
    sleep 2
}

# The same server offers STARTTLS, then (TLS switched off) does not.
history_stripped_sessions() {
    swaks_send --server 127.0.0.1 --port 25 -tls --tls-sni mail.example.test &&
        postfix_set smtpd_tls_security_level=none &&
        swaks_send --server 127.0.0.1 --port 25
}

# The same client and server negotiate TLS 1.3, then TLS 1.0.
history_regression_sessions() {
    swaks_send --server 127.0.0.1 --port 25 -tls --tls-protocol tlsv1_3 --tls-sni mail.example.test &&
        swaks_send --server 127.0.0.1 --port 25 -tls --tls-protocol tlsv1 --tls-cipher 'DEFAULT:@SECLEVEL=0' \
            --tls-sni mail.example.test
}

# The server presents one certificate, then another (TLS 1.2 shows both in clear).
history_certificate_sessions() {
    swaks_send --server 127.0.0.1 --port 25 -tls --tls-protocol tlsv1_2 --tls-sni mail.example.test &&
        postfix_set "smtpd_tls_cert_file=$work_dir/cert2.pem" "smtpd_tls_key_file=$work_dir/key2.pem" &&
        swaks_send --server 127.0.0.1 --port 25 -tls --tls-protocol tlsv1_2 --tls-sni mail.example.test
}

record_history() {
    local scenario selected=
    for scenario in "${history_scenarios[@]}"; do
        is_selected "$scenario" && selected=1
    done
    [ -n "$selected" ] || return 0
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mail.example.test" \
        -addext "subjectAltName=DNS:mail.example.test" \
        -keyout "$work_dir/key2.pem" -out "$work_dir/cert2.pem" 2>/dev/null
    chmod 0644 "$work_dir/cert2.pem"
    chmod 0640 "$work_dir/key2.pem"

    capture smtp-history-starttls-stripped-ipv4 'tcp port 25' history_stripped_sessions
    postfix_restore_tls
    capture smtp-history-tls-regression-ipv4 'tcp port 25' history_regression_sessions
    capture smtp-history-certificate-changed-ipv4 'tcp port 25' history_certificate_sessions
    postfix_restore_tls
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
    record_extra_servers
    record_apop_strip
    record_middleboxes_ipv6
    record_policy
    record_history

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
