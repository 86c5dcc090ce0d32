/*
 * Every resource cap in one place, each with the reason for its default.
 * Caps that an operator may change are copied into struct mailtap_config
 * at start-up; the rest are fixed properties of the parsers.
 */
#ifndef MAILTAP_LIMITS_H
#define MAILTAP_LIMITS_H

/* Flow table: 1M flows at a few hundred bytes each stays well under 1 GB. */
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

/* Largest TLS handshake message buffered: a certificate chain rarely passes 16 KiB. */
#define LIMIT_TLS_HANDSHAKE_BYTES (128u * 1024u)
/* Certificates parsed from one Certificate message. */
#define LIMIT_TLS_CERTIFICATES 10u

/* Credential records kept per session; more attempts are counted only. */
#define LIMIT_AUTH_RECORDS 16u

#endif
