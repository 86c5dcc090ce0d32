/*
 * Every resource cap in one place, each with the reason for its default.
 * Caps that an operator may change are copied into struct mailtap_config
 * at start-up; the rest are fixed properties of the parsers.
 */
#ifndef MAILTAP_LIMITS_H
#define MAILTAP_LIMITS_H

/*
 * Flow table cap. A half-open flow uses about 470 bytes (470 MB at this
 * cap under a SYN flood), but a mail flow past its handshake uses about
 * 4.4 KB until it ends, so a table full of those needs about 4.4 GB.
 * --max-flows lowers the cap; docs/benchmarks.md has the measurements.
 */
#define LIMIT_FLOWS_DEFAULT 1000000u

/* Packet-time timeouts in seconds; the idle value matches common IDS defaults. */
#define LIMIT_FLOW_IDLE_TIMEOUT_S 600u
#define LIMIT_FLOW_CLOSED_TIMEOUT_S 10u
#define LIMIT_FLOW_SYN_TIMEOUT_S 30u

/* Out-of-order bytes held per direction: a full 64 KiB window plus slack. */
#define LIMIT_REASM_STREAM_BYTES_DEFAULT (256u * 1024u)
/* Out-of-order bytes held in total, across every flow. */
#define LIMIT_REASM_TOTAL_BYTES_DEFAULT (64u * 1024u * 1024u)
/* Queued segments per direction, so tiny segments cannot exhaust the count. */
#define LIMIT_REASM_STREAM_SEGMENTS_DEFAULT 1024u

/* RFC 5321 caps a command line at 512 octets; real clients exceed it, so allow 8 KiB. */
#define LIMIT_LINE_BYTES_DEFAULT 8192u
/* IMAP literals and BDAT chunks are skipped, not stored, past this many bytes per item. */
#define LIMIT_LITERAL_BYTES_DEFAULT (64u * 1024u * 1024u)

/* 802.1Q/QinQ tags peeled before the packet counts as malformed. */
#define LIMIT_VLAN_DEPTH 8u
/* MPLS labels peeled before the packet counts as malformed. */
#define LIMIT_MPLS_DEPTH 8u
/* IPv6 extension headers followed before the packet counts as malformed. */
#define LIMIT_IPV6_EXT_HEADERS 8u

/* IPv4 datagrams under reassembly at once, and their total bytes. */
#define LIMIT_IP_FRAG_DATAGRAMS 4096u
#define LIMIT_IP_FRAG_TOTAL_BYTES (16u * 1024u * 1024u)
/* Fragments held for one datagram. */
#define LIMIT_IP_FRAG_PER_DATAGRAM 64u
/* Seconds of packet time before an incomplete datagram is dropped (Linux uses 30). */
#define LIMIT_IP_FRAG_TIMEOUT_S 30u
/*
 * IP header bytes kept from a datagram's first fragment, to rebuild the
 * whole packet for nDPI: IPv4 needs 60 at most, IPv6 40 plus its
 * unfragmentable extension headers. Longer headers are not kept.
 */
#define LIMIT_IP_FRAG_HEADER_BYTES 256u

/* Largest TLS handshake message buffered: a certificate chain rarely passes 16 KiB. */
#define LIMIT_TLS_HANDSHAKE_BYTES (128u * 1024u)
/* Certificates parsed from one Certificate message. */
#define LIMIT_TLS_CERTIFICATES 10u

/* Decoded bytes of one SASL response examined: base64 of an 8 KiB line decodes to 6 KiB. */
#define LIMIT_SASL_RESPONSE_BYTES 6144u

/* SMTP commands awaiting a reply (RFC 2920 pipelining); real clients send a few dozen at most. */
#define LIMIT_SMTP_PIPELINED_COMMANDS 64u

/* Credential records kept per session; more attempts are counted only. */
#define LIMIT_AUTH_RECORDS 16u

/* stdio buffer of the JSON lines file: records are written on the packet path. */
#define LIMIT_OUTPUT_FILE_BUFFER_BYTES (1024u * 1024u)
/* One local syslog or terminal text line, escaped; longer lines are cut at a whole escape. */
#define LIMIT_OUTPUT_LINE_BYTES 4096u
/* Remote syslog messages waiting for the collector; past either cap a message is dropped and counted. */
#define LIMIT_SYSLOG_QUEUE_MESSAGES 10000u
#define LIMIT_SYSLOG_QUEUE_BYTES (16u * 1024u * 1024u)
/* One RFC 5424 message over UDP, the rsyslog default maxMessageSize; longer ones are truncated. */
#define LIMIT_SYSLOG_UDP_MESSAGE_BYTES 8192u
/* Reconnect delays to a remote collector, doubling from the first to the last. */
#define LIMIT_SYSLOG_RECONNECT_MIN_MS 1000u
#define LIMIT_SYSLOG_RECONNECT_MAX_MS 60000u
/* Time spent at shutdown sending what is still queued for the collector. */
#define LIMIT_SYSLOG_DRAIN_MS 3000u

/* Rule files: a hand-written file is a few hundred KiB at most, so these only stop runaway input. */
#define LIMIT_RULE_FILE_BYTES (16u * 1024u * 1024u)
/* YAML nodes in one rule file; a rule takes a few dozen. */
#define LIMIT_RULE_NODES 1000000u
/* Nesting of YAML collections, which bounds the recursion of the loader and of all/any/not. */
#define LIMIT_RULE_DEPTH 64u
/* Errors kept per load; later ones are only counted, since the first ones show the pattern. */
#define LIMIT_RULE_ERRORS 100u
/* Threshold counters per matching thread: at a few dozen bytes each, 64 Ki entries is a few MiB. */
#define LIMIT_RULE_THRESHOLD_ENTRIES 65536u

/* IMAP tag bytes kept to pair a tagged reply with its command; longer tags match on this prefix and their length. */
#define LIMIT_IMAP_TAG_BYTES 64u
/* IMAP commands awaiting their tagged reply that the analyzer tracks (LOGIN, AUTHENTICATE, STARTTLS, COMPRESS). */
#define LIMIT_IMAP_PENDING_COMMANDS 8u
/* POP3 commands awaiting a reply (RFC 2449 PIPELINING), a few bytes each; past it replies are not paired. */
#define LIMIT_POP3_PIPELINE 64u

/* Server history (--state): keys kept in memory (a server, a host name or a client/server pair each); past it new keys are not tracked, only counted. */
#define LIMIT_HISTORY_ENTRIES 262144u
/* Sessions queued for the state file before one transaction writes them. */
#define LIMIT_HISTORY_BATCH_SESSIONS 256u
/* Maximum wait before queued sessions are written, in microseconds of wall time. */
#define LIMIT_HISTORY_BATCH_USEC 1000000u
/* A host name used as a history key: the DNS maximum of 253 characters (RFC 1035 section 2.3.4). */
#define LIMIT_HISTORY_NAME_BYTES 253u

/* DNS answer records read per response; a TXT or CNAME answer has a handful, so more is junk. */
#define LIMIT_DNS_ANSWERS 32u
/* Compression pointers followed in one DNS name; each must point backwards, so this only cuts long chains short. */
#define LIMIT_DNS_POINTER_HOPS 16u
/* MTA-STS policies learnt from DNS and HTTPS per run; past it the least recently seen domain is evicted and counted. */
#define LIMIT_MTA_STS_LEARNT_DOMAINS 65536u
/* Learnt policies queued for the state file before one transaction writes them. */
#define LIMIT_MTA_STS_LEARNT_BATCH 256u

/* mailtap report: one JSON line of mailtap's own output; session records are a few KiB. */
#define LIMIT_REPORT_LINE_BYTES (1024u * 1024u)
/* Nesting of JSON objects and arrays that the report reader follows. */
#define LIMIT_REPORT_JSON_DEPTH 16u
/* Values in one JSON line; a session record has about a hundred. */
#define LIMIT_REPORT_JSON_VALUES 65536u
/* Servers, users and findings the report keeps; past them rows are counted, not listed. */
#define LIMIT_REPORT_SERVERS 4096u
#define LIMIT_REPORT_ROWS 65536u

#endif
