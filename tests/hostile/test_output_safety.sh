#!/bin/bash
# Output safety. User names with CR, LF, NUL, a fake JSON object, terminal
# escapes and invalid UTF-8 (SMTP AUTH PLAIN, SMTP AUTH LOGIN, IMAP LOGIN)
# cannot forge a JSON field, a syslog message or a terminal control
# sequence. Passwords appear only with --reveal-credentials.
# output_safety.py lists the checks; its syslog collector is a UDP socket
# on 127.0.0.1 that it opens itself.

source "$(dirname "$0")/lib.sh"
hostile_setup test_output_safety

rules=$source_dir/rules/default.yaml
if [ ! -f "$rules" ]; then
    echo "test_output_safety: $rules is missing; the alerts that reach syslog come from it" >&2
    exit 1
fi
if ! "$python" "$hostile_dir/output_safety.py" "$MAILTAP" "$rules" "$work_dir"; then
    fail "output safety checks"
fi
hostile_finish
