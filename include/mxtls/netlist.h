/* Lists of address ranges (CIDR, IPv4 and IPv6), for --allow and --exclude: every address is
 * checked against them before any packet is sent to it. */
#ifndef MXTLS_NETLIST_H
#define MXTLS_NETLIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t bits;
    uint8_t addr[16];
} mx_prefix_t;

typedef struct {
    mx_prefix_t *v;
    size_t n, cap;
} mx_netlist_t;

/* Adds SPEC: a CIDR ("127.0.0.0/8", "::1/128", a bare address) or the path of a file of
 * them, one per line, '#' comments. Returns 0, or -1 with a one-line message (file and line
 * number) in ERR. */
int mx_netlist_add(mx_netlist_t *l, const char *spec, char *err, size_t errlen);

/* Adds the CIDRs of TEXT, in the file format above; NAME stands for the file in messages. */
int mx_netlist_add_text(mx_netlist_t *l, const char *name, const char *text, char *err,
                        size_t errlen);

/* The special-purpose ranges never probed unless allowed (data/reserved.conf, compiled in). */
extern const char mx_reserved_ranges[];

/* Parses one CIDR. Returns 0 or -1. */
int mx_prefix_parse(const char *s, mx_prefix_t *out);

/* 1 when ADDR (sockaddr_in or sockaddr_in6) is inside a prefix of L. */
int mx_netlist_contains(const mx_netlist_t *l, const struct sockaddr *addr);

void mx_netlist_close(mx_netlist_t *l);

/* Whether a packet may be sent to ADDR: never inside EXCLUDE; inside ALLOW when ALLOW has any
 * range, else outside RESERVED. Any list may be NULL. */
int mx_net_permitted(const mx_netlist_t *allow, const mx_netlist_t *exclude,
                     const mx_netlist_t *reserved, const struct sockaddr *addr);

/* Parses "ADDR", "ADDR:PORT" (IPv4) or "[ADDR]:PORT" / "ADDR" (IPv6) into SA, PORT defaulting to
 * DEFAULT_PORT. Returns 0 or -1. */
int mx_parse_hostport(const char *s, int default_port, struct sockaddr_storage *sa);

#endif
