/* mxtls resolve: options in, the engine's resolve entry point (mxtls/resolve_run.h) out, and a
 * summary line on stderr. */
#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "mxtls/resolve_run.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls resolve [--resolver ADDR[:PORT]] [--dns-timeout S] [--dns-tries N]\n"
               "                     [--dns-concurrency N] [--max-mx N] [--max-addrs N] [--ipv6]\n"
               "                     [--no-policy] [--dnssec-resolver ADDR[:PORT]] LIST\n"
               "  the system's resolver unless --resolver names one; resolvers are for DNS only,\n"
               "  and resolve sends nothing else (--allow is accepted, as scan takes it, and has\n"
               "  nothing to govern here); each domain's MTA-STS and TLS-RPT records and each\n"
               "  MX host's TLSA records are read too (not with --no-policy); --dnssec-resolver\n"
               "  names the one resolver, a validating one whose AD bit is believed\n"
               "  (mx_dnssec, tlsa_dnssec)\n");
}

static int report(int rc, const mx_resolve_summary_t *s, const char *err) {
    if (rc != 1)
        fprintf(stderr,
                "mxtls resolve: %llu domains, %llu rows, %llu queries, %llu answered, %llu timed "
                "out, %llu host lookups from the cache\n",
                s->domains, s->rows, s->queries, s->answers, s->timeouts, s->cache_hits);
    if (rc)
        fprintf(stderr, "mxtls resolve: %s\n", err);
    return rc;
}

int mx_cmd_resolve(int argc, char **argv) {
    static const struct option opts[] = {
        MX_OPTS_DNS, {"allow", 1, 0, MX_OPT_ALLOW}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    mx_resolve_run_config_t cfg = {0};
    mx_resolve_summary_t sum;
    mx_netlist_t allow = {0};
    char err[512];
    int c, rc = 0;
    mx_dns_opts_init(&cfg.dns);
    optind = 1;
    while (rc >= 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            mx_netlist_close(&allow);
            return 0;
        }
        if ((rc = mx_dns_opt("resolve", c, optarg, &cfg.dns)) == 0)
            rc = mx_net_opt("resolve", c, optarg, &allow, NULL);
        if (rc == 0) {
            usage(stderr);
            rc = -1;
        }
    }
    if (rc < 0 || optind != argc - 1) {
        if (rc >= 0)
            usage(stderr);
        mx_netlist_close(&allow);
        return 1;
    }
    cfg.list = argv[optind];
    cfg.allow = &allow;
    rc = report(mx_resolve_run(&cfg, stdout, &sum, err, sizeof(err)), &sum, err);
    mx_netlist_close(&allow);
    return rc;
}
