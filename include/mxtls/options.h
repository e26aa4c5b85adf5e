/* The option values that several commands share, as the command line gives them to the
 * engine: one definition, parsed once in cli/ (cli/options.h), read by the engine. */
#ifndef MXTLS_OPTIONS_H
#define MXTLS_OPTIONS_H

#include <stdint.h>

#define MX_MAX_RESOLVERS 16

/* --resolver and the DNS stage's limits. */
typedef struct {
    const char *resolvers[MX_MAX_RESOLVERS]; /* "ADDR[:PORT]"; none: the system's */
    int nresolvers;
    unsigned timeout_ms, tries, concurrency, max_mx, max_addrs;
    int ipv6;
    int policy; /* MTA-STS and TLS-RPT records and policies, TLSA records and DANE (the
                 * default; --no-policy skips all of it) */
    int dnssec; /* --dnssec-resolver: the one resolver validates; its AD bit is believed */
} mx_dns_opts_t;

/* How a host is probed. */
typedef struct {
    int port;
    int sts_port;        /* HTTPS port of MTA-STS policy hosts: 443 but in test beds */
    const char *ehlo;    /* NULL until the command picks the machine's name */
    const char *ca_file; /* NULL: the system bundle */
    uint64_t timeout_connect_ms, timeout_read_ms, deadline_ms;
} mx_probe_opts_t;

#endif
