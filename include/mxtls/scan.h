/* mxtls scan: the survey (shared/DESIGN.md): a domain list in, one gzip CSV of scan records and
 * its manifest out. The engine reads the list as it goes, resolves each domain (DNS stage),
 * probes each (MX host, address) once per scan however many domains name it, within global
 * limits that protect the servers surveyed, and writes each domain's rows together once all
 * its hosts are done. */
#ifndef MXTLS_SCAN_H
#define MXTLS_SCAN_H

#include <stdint.h>

#include "mxtls/netlist.h"

typedef struct {
    const char *list, *out;
    const char *resolvers[16];
    int nresolvers;
    int port;
    const char *ehlo;
    unsigned concurrency, rate, net_limit, threads;
    unsigned handshakes; /* TLS handshakes in progress per thread (mx_probe_gate_t) */
    unsigned retry_4xx;  /* probes again of a host that answered 4xx to the greeting or EHLO */
    uint64_t timeout_connect_ms, timeout_read_ms, deadline_ms, grace_ms, retry_after_ms;
    unsigned dns_timeout_ms, dns_tries, dns_concurrency, max_mx, max_addrs;
    int ipv6, quiet, resume;
    mx_netlist_t allow, exclude, reserved;
    const char *ca_file;
    unsigned shard_i, shard_n;
    const char *command_line;
} mx_scan_config_t;

/* Runs the scan. Returns the process exit status: 0 completed, 2 runtime failure (with a
 * message on stderr), 130 interrupted (the file is readable and the manifest says so). */
int mx_scan_run(mx_scan_config_t *cfg);

#endif
