/* The option groups shared by commands, defined once: --resolver and the DNS limits, the probe's
 * port, EHLO name, trust store and timeouts, and --allow/--exclude. A command lists a group's
 * long options in its getopt table (the MX_OPTS_* macros) and hands each option it does not
 * know itself to the group's parser. */
#ifndef MXTLS_CLI_OPTIONS_H
#define MXTLS_CLI_OPTIONS_H

#include <getopt.h>

#include "mxtls/netlist.h"
#include "mxtls/options.h"

enum {
    MX_OPT_RESOLVER = 256,
    MX_OPT_DNS_TIMEOUT,
    MX_OPT_DNS_TRIES,
    MX_OPT_DNS_CONCURRENCY,
    MX_OPT_MAX_MX,
    MX_OPT_MAX_ADDRS,
    MX_OPT_IPV6,
    MX_OPT_DNSSEC_RESOLVER,
    MX_OPT_POLICY,
    MX_OPT_NO_POLICY,
    MX_OPT_PORT,
    MX_OPT_STS_PORT,
    MX_OPT_EHLO,
    MX_OPT_CA_FILE,
    MX_OPT_TIMEOUT_CONNECT,
    MX_OPT_TIMEOUT_READ,
    MX_OPT_DEADLINE,
    MX_OPT_ALLOW,
    MX_OPT_EXCLUDE,
    MX_OPT__FIRST_FREE /* commands number their own options from here */
};

#define MX_OPTS_DNS                                                                                \
    {"resolver", 1, 0, MX_OPT_RESOLVER}, {"dns-timeout", 1, 0, MX_OPT_DNS_TIMEOUT},                \
        {"dns-tries", 1, 0, MX_OPT_DNS_TRIES}, {"dns-concurrency", 1, 0, MX_OPT_DNS_CONCURRENCY},  \
        {"max-mx", 1, 0, MX_OPT_MAX_MX}, {"max-addrs", 1, 0, MX_OPT_MAX_ADDRS},                    \
        {"ipv6", 0, 0, MX_OPT_IPV6}, {"dnssec-resolver", 1, 0, MX_OPT_DNSSEC_RESOLVER},            \
        {"policy", 0, 0, MX_OPT_POLICY}, {                                                         \
        "no-policy", 0, 0, MX_OPT_NO_POLICY                                                        \
    }
#define MX_OPTS_PROBE                                                                              \
    {"port", 1, 0, MX_OPT_PORT}, {"sts-port", 1, 0, MX_OPT_STS_PORT}, {"ehlo", 1, 0, MX_OPT_EHLO}, \
        {"ca-file", 1, 0, MX_OPT_CA_FILE}, {"timeout-connect", 1, 0, MX_OPT_TIMEOUT_CONNECT},      \
        {"timeout-read", 1, 0, MX_OPT_TIMEOUT_READ}, {                                             \
        "deadline", 1, 0, MX_OPT_DEADLINE                                                          \
    }
#define MX_OPTS_NET                                                                                \
    {"allow", 1, 0, MX_OPT_ALLOW}, {                                                               \
        "exclude", 1, 0, MX_OPT_EXCLUDE                                                            \
    }

/* The defaults of shared/DESIGN.md's table. */
void mx_dns_opts_init(mx_dns_opts_t *o);
void mx_probe_opts_init(mx_probe_opts_t *o);

/* Each parser: 1 when option C (with ARG) was its and is taken, 0 when it is not its, -1 after
 * a one-line message "mxtls CMD: ..." for a bad value. */
int mx_dns_opt(const char *cmd, int c, const char *arg, mx_dns_opts_t *o);
int mx_probe_opt(const char *cmd, int c, const char *arg, mx_probe_opts_t *o);
int mx_net_opt(const char *cmd, int c, const char *arg, mx_netlist_t *allow, mx_netlist_t *exclude);

/* The EHLO name when none was given: this machine's name (in BUF), with a warning on stderr
 * when it is not fully qualified, since many servers refuse such a name. */
const char *mx_ehlo_default(const char *cmd, const char *given, char *buf, size_t cap);

#endif
