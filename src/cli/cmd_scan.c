/* mxtls scan LIST -o OUT.csv.gz [options]: the survey. Options and defaults as in
 * shared/DESIGN.md's table; each bad value gets a one-line message and exit status 1. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "mxtls/scan.h"

#include <uv.h>

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls scan LIST -o OUT.csv.gz [options]\n"
               "  --resolver ADDR[:PORT]  resolver, repeatable (default: the system's)\n"
               "  --port N                SMTP port (25)\n"
               "  --ehlo NAME             EHLO name (this machine's name; use an FQDN with a page\n"
               "                          about the survey)\n"
               "  --concurrency N         probes in flight (10000, lowered to fit the fd limit)\n"
               "  --rate N                new connections per second (1000)\n"
               "  --net-limit N           connections per /24 or /48 (8); one per address always\n"
               "  --threads N             worker loops (the number of cores)\n"
               "  --handshakes N          TLS handshakes in progress per thread (256); more\n"
               "                          probes wait after STARTTLS, holding no TLS memory\n"
               "  --retry-4xx N           probe again a host that answered 4xx to the greeting or\n"
               "                          EHLO, up to N times (0), after --retry-after S (300)\n"
               "  --timeout-connect S     (10)   --timeout-read S (30)   --deadline S (120)\n"
               "  --dns-timeout S (2)     --dns-tries N (3)   --dns-concurrency N (2000)\n"
               "  --max-mx N (10)         --max-addrs N (4)   --ipv6\n"
               "  --allow SPEC            only these ranges (CIDR or file), repeatable\n"
               "  --exclude SPEC          never these ranges, repeatable; reserved ranges\n"
               "                          (data/reserved.conf) are excluded unless allowed\n"
               "  --ca-file FILE          trust store for cert_valid (system bundle)\n"
               "  --shard I/N             this shard of N, by hash of the domain (0/1)\n"
               "  --grace S               on SIGINT/SIGTERM, time for probes in flight (10)\n"
               "  --resume                continue an interrupted scan of the same list into OUT\n"
               "  --quiet                 no progress line\n");
}

int mx_cmd_scan(int argc, char **argv) {
    static const struct option opts[] = {{"output", 1, 0, 'o'},
                                         {"resolver", 1, 0, 'r'},
                                         {"port", 1, 0, 'p'},
                                         {"ehlo", 1, 0, 'e'},
                                         {"concurrency", 1, 0, 'c'},
                                         {"rate", 1, 0, 'R'},
                                         {"net-limit", 1, 0, 'n'},
                                         {"timeout-connect", 1, 0, 1},
                                         {"timeout-read", 1, 0, 2},
                                         {"deadline", 1, 0, 3},
                                         {"dns-timeout", 1, 0, 4},
                                         {"dns-tries", 1, 0, 5},
                                         {"dns-concurrency", 1, 0, 6},
                                         {"max-mx", 1, 0, 7},
                                         {"max-addrs", 1, 0, 8},
                                         {"ipv6", 0, 0, 9},
                                         {"allow", 1, 0, 10},
                                         {"exclude", 1, 0, 11},
                                         {"ca-file", 1, 0, 12},
                                         {"shard", 1, 0, 13},
                                         {"grace", 1, 0, 14},
                                         {"quiet", 0, 0, 15},
                                         {"resume", 0, 0, 16},
                                         {"threads", 1, 0, 17},
                                         {"retry-4xx", 1, 0, 18},
                                         {"retry-after", 1, 0, 19},
                                         {"handshakes", 1, 0, 20},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    mx_scan_config_t cfg;
    char err[512], host[256], cmdline[4096];
    unsigned long v;
    uint64_t ms;
    int c;
    memset(&cfg, 0, sizeof(cfg));
    cfg.port = 25;
    cfg.concurrency = 10000;
    cfg.rate = 1000;
    cfg.net_limit = 8;
    cfg.timeout_connect_ms = 10000;
    cfg.timeout_read_ms = 30000;
    cfg.deadline_ms = 120000;
    cfg.grace_ms = 10000;
    cfg.dns_timeout_ms = 2000;
    cfg.dns_tries = 3;
    cfg.dns_concurrency = 2000;
    cfg.max_mx = 10;
    cfg.max_addrs = 4;
    cfg.shard_n = 1;
    cfg.retry_after_ms = 300000;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.threads = cores < 1 ? 1 : cores > 64 ? 64 : (unsigned)cores;
    cfg.handshakes = 256;
    size_t o = 0;
    for (int i = 0; i < argc && o < sizeof(cmdline) - 2; i++)
        o +=
            (size_t)snprintf(cmdline + o, sizeof(cmdline) - o, "%s%s", i ? " " : "mxtls ", argv[i]);
    cfg.command_line = cmdline;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            cfg.out = optarg;
            break;
        case 'r':
            if (cfg.nresolvers == 16) {
                fprintf(stderr, "mxtls scan: at most 16 --resolver\n");
                return 1;
            }
            cfg.resolvers[cfg.nresolvers++] = optarg;
            break;
        case 'p':
            if (mx_arg_uint("scan", "--port", optarg, 1, 65535, &v))
                return 1;
            cfg.port = (int)v;
            break;
        case 'e':
            cfg.ehlo = optarg;
            break;
        case 'c':
            if (mx_arg_uint("scan", "--concurrency", optarg, 1, 1000000, &v))
                return 1;
            cfg.concurrency = (unsigned)v;
            break;
        case 'R':
            if (mx_arg_uint("scan", "--rate", optarg, 1, 1000000, &v))
                return 1;
            cfg.rate = (unsigned)v;
            break;
        case 'n':
            if (mx_arg_uint("scan", "--net-limit", optarg, 1, 65535, &v))
                return 1;
            cfg.net_limit = (unsigned)v;
            break;
        case 1:
        case 2:
        case 3:
        case 14:
            if (mx_arg_seconds("scan",
                               c == 1   ? "--timeout-connect"
                               : c == 2 ? "--timeout-read"
                               : c == 3 ? "--deadline"
                                        : "--grace",
                               optarg, &ms))
                return 1;
            *(c == 1   ? &cfg.timeout_connect_ms
              : c == 2 ? &cfg.timeout_read_ms
              : c == 3 ? &cfg.deadline_ms
                       : &cfg.grace_ms) = ms;
            break;
        case 4:
            if (mx_arg_seconds("scan", "--dns-timeout", optarg, &ms))
                return 1;
            cfg.dns_timeout_ms = (unsigned)ms;
            break;
        case 5:
            if (mx_arg_uint("scan", "--dns-tries", optarg, 1, 20, &v))
                return 1;
            cfg.dns_tries = (unsigned)v;
            break;
        case 6:
            if (mx_arg_uint("scan", "--dns-concurrency", optarg, 1, 100000, &v))
                return 1;
            cfg.dns_concurrency = (unsigned)v;
            break;
        case 7:
            if (mx_arg_uint("scan", "--max-mx", optarg, 1, 100, &v))
                return 1;
            cfg.max_mx = (unsigned)v;
            break;
        case 8:
            if (mx_arg_uint("scan", "--max-addrs", optarg, 1, 32, &v))
                return 1;
            cfg.max_addrs = (unsigned)v;
            break;
        case 9:
            cfg.ipv6 = 1;
            break;
        case 10:
        case 11:
            if (mx_netlist_add(c == 10 ? &cfg.allow : &cfg.exclude, optarg, err, sizeof(err))) {
                fprintf(stderr, "mxtls scan: %s %s\n", c == 10 ? "--allow" : "--exclude", err);
                return 1;
            }
            break;
        case 12:
            cfg.ca_file = optarg;
            break;
        case 13: {
            unsigned i, n;
            char extra;
            if (sscanf(optarg, "%u/%u%c", &i, &n, &extra) != 2 || n == 0 || i >= n) {
                fprintf(stderr, "mxtls scan: --shard takes I/N with 0 <= I < N, not '%s'\n",
                        optarg);
                return 1;
            }
            cfg.shard_i = i;
            cfg.shard_n = n;
            break;
        }
        case 15:
            cfg.quiet = 1;
            break;
        case 16:
            cfg.resume = 1;
            break;
        case 17:
            if (mx_arg_uint("scan", "--threads", optarg, 1, 64, &v))
                return 1;
            cfg.threads = (unsigned)v;
            break;
        case 18:
            if (mx_arg_uint("scan", "--retry-4xx", optarg, 0, 10, &v))
                return 1;
            cfg.retry_4xx = (unsigned)v;
            break;
        case 19:
            if (mx_arg_seconds("scan", "--retry-after", optarg, &ms))
                return 1;
            cfg.retry_after_ms = ms;
            break;
        case 20:
            if (mx_arg_uint("scan", "--handshakes", optarg, 1, 100000, &v))
                return 1;
            cfg.handshakes = (unsigned)v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind != argc - 1 || !cfg.out) {
        fprintf(stderr, "mxtls scan: give one domain list and -o OUT.csv.gz (see --help)\n");
        return 1;
    }
    cfg.list = argv[optind];
    if (cfg.resume && strcmp(cfg.list, "-") == 0) {
        fprintf(stderr, "mxtls scan: --resume needs a list file (its SHA-256 is checked), not -\n");
        return 1;
    }
    if (mx_netlist_add(&cfg.reserved, MXTLS_DATA_DIR "/reserved.conf", err, sizeof(err))) {
        fprintf(stderr, "mxtls scan: %s\n", err);
        return 2;
    }
    if (!cfg.ehlo) {
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "localhost");
        cfg.ehlo = host;
    }
    if (!strchr(cfg.ehlo, '.'))
        fprintf(stderr,
                "mxtls scan: warning: EHLO name '%s' is not fully qualified; many "
                "servers refuse it (--ehlo)\n",
                cfg.ehlo);
    /* Resolvers are destinations like mail hosts: checked before any packet is sent. */
    for (int i = 0; i < cfg.nresolvers; i++) {
        struct sockaddr_storage sa;
        int ok = mx_parse_hostport(cfg.resolvers[i], 53, &sa) == 0;
        if (!ok ||
            !mx_net_permitted(&cfg.allow, &cfg.exclude, &cfg.reserved, (struct sockaddr *)&sa)) {
            fprintf(stderr, "mxtls scan: resolver %s is %s; nothing was sent (see --allow)\n",
                    cfg.resolvers[i], ok ? "not an allowed address" : "not an address");
            return 1;
        }
    }
    if (!cfg.nresolvers) {
        /* The system's resolvers are destinations too: check them the same way. */
        FILE *f = fopen("/etc/resolv.conf", "r");
        char line[256], addr[64];
        while (f && fgets(line, sizeof(line), f)) {
            struct sockaddr_storage sa;
            if (sscanf(line, " nameserver %63s", addr) != 1)
                continue;
            if (mx_parse_hostport(addr, 53, &sa) < 0 ||
                !mx_net_permitted(&cfg.allow, &cfg.exclude, &cfg.reserved,
                                  (struct sockaddr *)&sa)) {
                fprintf(stderr,
                        "mxtls scan: the system resolver %s is not an allowed address; nothing "
                        "was sent (give --resolver, or --allow it)\n",
                        addr);
                fclose(f);
                return 1;
            }
        }
        if (f)
            fclose(f);
    }
    int rc = mx_scan_run(&cfg);
    mx_netlist_close(&cfg.allow);
    mx_netlist_close(&cfg.exclude);
    mx_netlist_close(&cfg.reserved);
    return rc;
}
