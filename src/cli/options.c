/* The shared option groups (options.h). */
#include "cli/options.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"

void mx_dns_opts_init(mx_dns_opts_t *o) {
    memset(o, 0, sizeof(*o));
    o->timeout_ms = 2000;
    o->tries = 3;
    o->concurrency = 2000;
    o->max_mx = 10;
    o->max_addrs = 4;
    o->policy = 1;
}

void mx_probe_opts_init(mx_probe_opts_t *o) {
    memset(o, 0, sizeof(*o));
    o->port = 25;
    o->sts_port = 443;
    o->timeout_connect_ms = 10000;
    o->timeout_read_ms = 30000;
    o->deadline_ms = 120000;
}

/* A whole number option from MIN to MAX into *OUT. */
static int uint_opt(const char *cmd, const char *name, const char *arg, unsigned long min,
                    unsigned long max, unsigned *out) {
    unsigned long v;
    if (mx_arg_uint(cmd, name, arg, min, max, &v))
        return -1;
    *out = (unsigned)v;
    return 1;
}

int mx_dns_opt(const char *cmd, int c, const char *arg, mx_dns_opts_t *o) {
    uint64_t ms;
    switch (c) {
    case MX_OPT_DNSSEC_RESOLVER:
    case MX_OPT_RESOLVER:
        /* A validating resolver's AD bit means something only if every query goes to it. */
        if ((c == MX_OPT_DNSSEC_RESOLVER && o->nresolvers) || (o->dnssec && o->nresolvers)) {
            fprintf(stderr,
                    "mxtls %s: --dnssec-resolver is the one resolver of the scan: give it "
                    "alone, without --resolver\n",
                    cmd);
            return -1;
        }
        o->dnssec = c == MX_OPT_DNSSEC_RESOLVER;
        if (o->nresolvers == MX_MAX_RESOLVERS) {
            fprintf(stderr, "mxtls %s: at most %d --resolver\n", cmd, MX_MAX_RESOLVERS);
            return -1;
        }
        o->resolvers[o->nresolvers++] = arg;
        return 1;
    case MX_OPT_DNS_TIMEOUT:
        if (mx_arg_seconds(cmd, "--dns-timeout", arg, &ms))
            return -1;
        o->timeout_ms = (unsigned)ms;
        return 1;
    case MX_OPT_DNS_TRIES:
        return uint_opt(cmd, "--dns-tries", arg, 1, 20, &o->tries);
    case MX_OPT_DNS_CONCURRENCY:
        return uint_opt(cmd, "--dns-concurrency", arg, 1, 100000, &o->concurrency);
    case MX_OPT_MAX_MX:
        return uint_opt(cmd, "--max-mx", arg, 1, 100, &o->max_mx);
    case MX_OPT_MAX_ADDRS:
        return uint_opt(cmd, "--max-addrs", arg, 1, 32, &o->max_addrs);
    case MX_OPT_IPV6:
        o->ipv6 = 1;
        return 1;
    case MX_OPT_POLICY:
    case MX_OPT_NO_POLICY:
        o->policy = c == MX_OPT_POLICY;
        return 1;
    default:
        return 0;
    }
}

int mx_probe_opt(const char *cmd, int c, const char *arg, mx_probe_opts_t *o) {
    unsigned port;
    switch (c) {
    case MX_OPT_PORT:
        if (uint_opt(cmd, "--port", arg, 1, 65535, &port) < 0)
            return -1;
        o->port = (int)port;
        return 1;
    case MX_OPT_STS_PORT:
        if (uint_opt(cmd, "--sts-port", arg, 1, 65535, &port) < 0)
            return -1;
        o->sts_port = (int)port;
        return 1;
    case MX_OPT_EHLO:
        o->ehlo = arg;
        return 1;
    case MX_OPT_CA_FILE:
        o->ca_file = arg;
        return 1;
    case MX_OPT_TIMEOUT_CONNECT:
        return mx_arg_seconds(cmd, "--timeout-connect", arg, &o->timeout_connect_ms) ? -1 : 1;
    case MX_OPT_TIMEOUT_READ:
        return mx_arg_seconds(cmd, "--timeout-read", arg, &o->timeout_read_ms) ? -1 : 1;
    case MX_OPT_DEADLINE:
        return mx_arg_seconds(cmd, "--deadline", arg, &o->deadline_ms) ? -1 : 1;
    default:
        return 0;
    }
}

int mx_net_opt(const char *cmd, int c, const char *arg, mx_netlist_t *allow,
               mx_netlist_t *exclude) {
    char err[512];
    if (c != MX_OPT_ALLOW && (c != MX_OPT_EXCLUDE || !exclude))
        return 0;
    if (mx_netlist_add(c == MX_OPT_ALLOW ? allow : exclude, arg, err, sizeof(err))) {
        fprintf(stderr, "mxtls %s: %s %s\n", cmd, c == MX_OPT_ALLOW ? "--allow" : "--exclude", err);
        return -1;
    }
    return 1;
}

const char *mx_ehlo_default(const char *cmd, const char *given, char *buf, size_t cap) {
    const char *name = given;
    if (!name) {
        if (gethostname(buf, cap) != 0)
            snprintf(buf, cap, "localhost");
        name = buf;
    }
    if (!strchr(name, '.'))
        fprintf(stderr,
                "mxtls %s: warning: EHLO name '%s' is not fully qualified; many servers refuse "
                "it (--ehlo)\n",
                cmd, name);
    return name;
}
