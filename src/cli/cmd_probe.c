/* mxtls probe: options in, the engine's probe entry point (mxtls/probe_run.h) out. For checking
 * one server by hand and for tests of the probe against the farm and real MTAs. */
#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "mxtls/probe_run.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls probe --allow CIDR [--allow CIDR]... [--port N] [--ehlo NAME]\n"
               "                   [--ca-file FILE] [--timeout-connect S] [--timeout-read S]\n"
               "                   [--deadline S] TARGET...\n"
               "TARGET is MXHOST@ADDRESS or ADDRESS; prints one CSV row of host columns each\n");
}

int mx_cmd_probe(int argc, char **argv) {
    static const struct option opts[] = {
        MX_OPTS_PROBE, {"allow", 1, 0, MX_OPT_ALLOW}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    mx_netlist_t allow = {0};
    mx_probe_opts_t po;
    char err[512], hostname[256];
    int c, rc;
    mx_probe_opts_init(&po);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if ((rc = mx_probe_opt("probe", c, optarg, &po)) == 0)
            rc = mx_net_opt("probe", c, optarg, &allow, NULL);
        if (rc < 0 || (rc == 0 && c != 'h')) {
            if (rc == 0)
                usage(stderr);
            mx_netlist_close(&allow);
            return 1;
        }
        if (c == 'h') {
            usage(stdout);
            mx_netlist_close(&allow);
            return 0;
        }
    }
    if (optind >= argc || !allow.n) {
        usage(stderr);
        mx_netlist_close(&allow);
        return 1;
    }
    mx_probe_run_config_t cfg = {
        .probe = {.ehlo = mx_ehlo_default("probe", po.ehlo, hostname, sizeof(hostname)),
                  .timeout_connect_ms = po.timeout_connect_ms,
                  .timeout_read_ms = po.timeout_read_ms,
                  .deadline_ms = po.deadline_ms},
        .ca_file = po.ca_file,
        .port = po.port,
        .allow = &allow,
        .targets = (const char *const *)argv + optind,
        .ntargets = argc - optind};
    rc = mx_probe_run(&cfg, stdout, err, sizeof(err));
    if (rc)
        fprintf(stderr, "mxtls probe: %s\n", err);
    mx_netlist_close(&allow);
    return rc;
}
