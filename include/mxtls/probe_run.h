/* mxtls probe as an entry point of the engine: probes the given hosts at once on one loop,
 * through the same session, gate and row builder as a scan, and writes their host columns as
 * CSV in the order given. Like every command that sends packets, only to addresses inside an
 * explicit --allow. */
#ifndef MXTLS_PROBE_RUN_H
#define MXTLS_PROBE_RUN_H

#include <stddef.h>
#include <stdio.h>

#include "mxtls/netlist.h"
#include "mxtls/probe.h"

typedef struct {
    mx_probe_config_t probe; /* ehlo and timeouts; the TLS configuration and gate are made here */
    const char *ca_file;     /* NULL: the system bundle */
    int port;
    const mx_netlist_t *allow;
    const char *const *targets; /* "MXHOST@ADDRESS" or "ADDRESS" */
    int ntargets;
} mx_probe_run_config_t;

/* Probes and writes the rows to OUT. Returns 0; 1 when a target is not an address or is outside
 * --allow (nothing was sent); 2 on a runtime failure. ERR gets a one-line message when not 0. */
int mx_probe_run(const mx_probe_run_config_t *cfg, FILE *out, char *err, size_t errlen);

#endif
