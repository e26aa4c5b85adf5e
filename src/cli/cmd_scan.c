/* mxtls scan LIST -o OUT.csv.gz [options]: the survey. Options and defaults as in
 * shared/DESIGN.md's table; each bad value gets a one-line message and exit status 1. The
 * command owns what belongs to the process: the file-descriptor limit, SIGINT and SIGTERM,
 * the messages and the progress line on stderr, and the exit status; the engine
 * (mxtls/scan.h) runs the scan. */
#include <getopt.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signal.h>
#include <sys/resource.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/progress_line.h"
#include "mxtls/scan.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls scan LIST -o OUT.csv.gz [options]\n"
               "  --resolver ADDR[:PORT]  resolver, repeatable (default: the system's)\n"
               "  --port N                SMTP port (25)\n"
               "  --ehlo NAME             EHLO name (this machine's name; use an FQDN with a page\n"
               "                          about the survey)\n"
               "  --concurrency N         probes in flight (10000, lowered to fit the fd limit)\n"
               "  --rate N                new connections per second (1000)\n"
               "  --admission MODE        adaptive: fewer probes while this machine is the\n"
               "                          bottleneck (default); fixed: always --concurrency\n"
               "  --csv-dialect D         spreadsheet: ' before a field starting = + - @\n"
               "                          (default); plain: no guard, for loading into tools\n"
               "  --net-limit N           connections per /24 or /48 (8); one per address always\n"
               "  --threads N             worker loops (the number of cores)\n"
               "  --handshakes N          TLS handshakes in progress per thread (256); more\n"
               "                          probes wait after STARTTLS, holding no TLS memory\n"
               "  --retry-4xx N           probe again a host that answered 4xx to the greeting or\n"
               "                          EHLO, up to N times (0), after --retry-after S (300)\n"
               "  --timeout-connect S     (10)   --timeout-read S (30)   --deadline S (120)\n"
               "  --dns-timeout S (2)     --dns-tries N (3)   --dns-concurrency N (2000)\n"
               "  --dns-outage S          resolvers silent this long stop the scan (60); the\n"
               "                          domains in doubt are left for --resume\n"
               "  --max-mx N (10)         --max-addrs N (4)   --ipv6\n"
               "  --no-policy             skip what a strict sender checks: MTA-STS and TLS-RPT\n"
               "                          records and the MTA-STS policy per domain, TLSA and\n"
               "                          DANE per MX host (all done by default; --policy)\n"
               "  --sts-port N            HTTPS port of MTA-STS policy hosts (443; test beds)\n"
               "  --dnssec-resolver ADDR[:PORT]  the one resolver, a validating one: its AD\n"
               "                          bit is believed (mx_dnssec, tlsa_dnssec)\n"
               "  --allow SPEC            only these ranges (CIDR or file), repeatable\n"
               "  --exclude SPEC          never these ranges, repeatable; reserved ranges\n"
               "                          (data/reserved.conf) are excluded unless allowed\n"
               "  --ca-file FILE          trust store for cert_valid (system bundle)\n"
               "  --shard I/N             this shard of N, by hash of the domain (0/1)\n"
               "  --grace S               on SIGINT/SIGTERM, time for probes in flight (10)\n"
               "  --resume                continue an interrupted scan of the same list into OUT\n"
               "  --progress S            not on a terminal: a progress line every S s (30)\n"
               "  --scan-id ID            names the survey its shards belong to (stats, diff\n"
               "                          and check refuse shards of different ids together)\n"
               "  --quiet                 no progress line\n");
}

enum {
    OPT_CONCURRENCY = MX_OPT__FIRST_FREE,
    OPT_RATE,
    OPT_NET_LIMIT,
    OPT_SHARD,
    OPT_GRACE,
    OPT_QUIET,
    OPT_RESUME,
    OPT_THREADS,
    OPT_RETRY_4XX,
    OPT_RETRY_AFTER,
    OPT_HANDSHAKES,
    OPT_DNS_OUTAGE,
    OPT_ADMISSION,
    OPT_CSV_DIALECT,
    OPT_PROGRESS,
    OPT_SCAN_ID
};

typedef mx_progress_ui_t ui_t;

static volatile sig_atomic_t interrupts;

static void on_signal(int sig) {
    (void)sig;
    interrupts++;
}

/* A message on its own line: the progress line, when shown, is cleared first. */
static void on_message(void *ud, int notice, const char *text) {
    ui_t *ui = ud;
    if (notice && ui->quiet)
        return;
    mx_progress_clear(ui);
    fprintf(stderr, "mxtls scan: %s\n", text);
}

static void on_progress(void *ud, const mx_scan_progress_t *p, int final) {
    mx_progress_show(ud, p, final);
}

/* One malloc arena for every thread of the scan: each DNS answer is made on the DNS thread and
 * freed on a worker, and with glibc's arena per thread the scan held a third more RSS per
 * connection, for a few per cent of CPU at most (bench/RESULTS.md, "The scan benchmark again"). */
static void one_arena(void) {
#ifdef __GLIBC__
    mallopt(M_ARENA_MAX, 1);
#endif
}

/* File descriptors: the hard limit, and probes kept below it with room for the rest: the
 * standard streams, the list, the output and its manifest, the CA bundle while it is read, the
 * resolvers' sockets (UDP and TCP each) and each event loop's own (epoll, its wake-ups). A
 * probe that still finds none waits for one (the engine), never becomes a row. */
static void fit_descriptors(mx_scan_config_t *cfg) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    int resolvers = cfg->dns.nresolvers ? cfg->dns.nresolvers : 3;
    rlim_t reserved = 32 + 8 * ((rlim_t)cfg->threads + 1) + 4 * (rlim_t)resolvers;
    if (rl.rlim_cur >= (rlim_t)cfg->concurrency + reserved)
        return;
    unsigned fit = rl.rlim_cur > reserved + 16 ? (unsigned)(rl.rlim_cur - reserved) : 16;
    fprintf(stderr,
            "mxtls scan: --concurrency %u lowered to %u: the file-descriptor limit is %llu, of "
            "which %llu are reserved for the resolvers, the files and the event loops; run "
            "shards in several processes for more\n",
            cfg->concurrency, fit, (unsigned long long)rl.rlim_cur, (unsigned long long)reserved);
    cfg->concurrency = fit;
}

static void defaults(mx_scan_config_t *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    mx_dns_opts_init(&cfg->dns);
    mx_probe_opts_init(&cfg->probe);
    cfg->concurrency = 10000;
    cfg->rate = 1000;
    cfg->net_limit = 8;
    cfg->grace_ms = 10000;
    cfg->shard_n = 1;
    cfg->retry_after_ms = 300000;
    cfg->dns_outage_ms = 60000;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = cores < 1 ? 1 : cores > 64 ? 64 : (unsigned)cores;
    cfg->handshakes = 256;
}

static int shard_opt(const char *arg, mx_scan_config_t *cfg) {
    unsigned i, n;
    char extra;
    if (sscanf(arg, "%u/%u%c", &i, &n, &extra) != 2 || n == 0 || i >= n) {
        fprintf(stderr, "mxtls scan: --shard takes I/N with 0 <= I < N, not '%s'\n", arg);
        return -1;
    }
    cfg->shard_i = i;
    cfg->shard_n = n;
    return 1;
}

static int uint_opt(const char *name, const char *arg, unsigned long min, unsigned long max,
                    unsigned *out) {
    unsigned long v;
    if (mx_arg_uint("scan", name, arg, min, max, &v))
        return -1;
    *out = (unsigned)v;
    return 1;
}

/* The scan's own options: 1 taken, 0 not one of them, -1 a bad value (said). */
static int scan_opt(int c, const char *arg, mx_scan_config_t *cfg, ui_t *ui) {
    uint64_t ms;
    switch (c) {
    case 'o':
        cfg->out = arg;
        return 1;
    case OPT_CONCURRENCY:
        return uint_opt("--concurrency", arg, 1, 1000000, &cfg->concurrency);
    case OPT_RATE:
        return uint_opt("--rate", arg, 1, 1000000, &cfg->rate);
    case OPT_NET_LIMIT:
        return uint_opt("--net-limit", arg, 1, 65535, &cfg->net_limit);
    case OPT_THREADS:
        return uint_opt("--threads", arg, 1, 64, &cfg->threads);
    case OPT_RETRY_4XX:
        return uint_opt("--retry-4xx", arg, 0, 10, &cfg->retry_4xx);
    case OPT_HANDSHAKES:
        return uint_opt("--handshakes", arg, 1, 100000, &cfg->handshakes);
    case OPT_GRACE:
        return mx_arg_seconds("scan", "--grace", arg, &cfg->grace_ms) ? -1 : 1;
    case OPT_DNS_OUTAGE:
        return mx_arg_seconds("scan", "--dns-outage", arg, &cfg->dns_outage_ms) ? -1 : 1;
    case OPT_RETRY_AFTER:
        return mx_arg_seconds("scan", "--retry-after", arg, &cfg->retry_after_ms) ? -1 : 1;
    case OPT_SHARD:
        return shard_opt(arg, cfg);
    case OPT_ADMISSION:
        if (strcmp(arg, "adaptive") != 0 && strcmp(arg, "fixed") != 0) {
            fprintf(stderr, "mxtls scan: --admission is adaptive or fixed, not '%s'\n", arg);
            return -1;
        }
        cfg->fixed_admission = !strcmp(arg, "fixed");
        return 1;
    case OPT_CSV_DIALECT:
        if (strcmp(arg, "spreadsheet") != 0 && strcmp(arg, "plain") != 0) {
            fprintf(stderr, "mxtls scan: --csv-dialect is spreadsheet or plain, not '%s'\n", arg);
            return -1;
        }
        cfg->csv_plain = !strcmp(arg, "plain");
        return 1;
    case OPT_QUIET:
        ui->quiet = 1;
        return 1;
    case OPT_SCAN_ID:
        if (!*arg || strlen(arg) > 64 ||
            strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789._-") != strlen(arg)) {
            fprintf(stderr, "mxtls scan: --scan-id is 1-64 of A-Z a-z 0-9 . _ -, not '%s'\n", arg);
            return -1;
        }
        cfg->scan_id = arg;
        return 1;
    case OPT_PROGRESS:
        return mx_arg_seconds("scan", "--progress", arg, &ms) ? -1 : (ui->every = ms / 1000.0, 1);
    case OPT_RESUME:
        cfg->resume = 1;
        return 1;
    default:
        return 0;
    }
}

/* Every option; 0 to go on, else the exit status. */
static int parse(int argc, char **argv, mx_scan_config_t *cfg, ui_t *ui) {
    static const struct option opts[] = {{"output", 1, 0, 'o'},
                                         MX_OPTS_DNS,
                                         MX_OPTS_PROBE,
                                         MX_OPTS_NET,
                                         {"concurrency", 1, 0, OPT_CONCURRENCY},
                                         {"rate", 1, 0, OPT_RATE},
                                         {"net-limit", 1, 0, OPT_NET_LIMIT},
                                         {"shard", 1, 0, OPT_SHARD},
                                         {"grace", 1, 0, OPT_GRACE},
                                         {"quiet", 0, 0, OPT_QUIET},
                                         {"resume", 0, 0, OPT_RESUME},
                                         {"threads", 1, 0, OPT_THREADS},
                                         {"retry-4xx", 1, 0, OPT_RETRY_4XX},
                                         {"retry-after", 1, 0, OPT_RETRY_AFTER},
                                         {"handshakes", 1, 0, OPT_HANDSHAKES},
                                         {"dns-outage", 1, 0, OPT_DNS_OUTAGE},
                                         {"admission", 1, 0, OPT_ADMISSION},
                                         {"csv-dialect", 1, 0, OPT_CSV_DIALECT},
                                         {"progress", 1, 0, OPT_PROGRESS},
                                         {"scan-id", 1, 0, OPT_SCAN_ID},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return -1;
        }
        if ((rc = scan_opt(c, optarg, cfg, ui)) == 0 &&
            (rc = mx_dns_opt("scan", c, optarg, &cfg->dns)) == 0 &&
            (rc = mx_probe_opt("scan", c, optarg, &cfg->probe)) == 0)
            rc = mx_net_opt("scan", c, optarg, &cfg->allow, &cfg->exclude);
        if (rc == 0)
            usage(stderr);
        if (rc <= 0)
            return 1;
    }
    if (optind != argc - 1 || !cfg->out) {
        fprintf(stderr, "mxtls scan: give one domain list and -o OUT.csv.gz (see --help)\n");
        return 1;
    }
    cfg->list = argv[optind];
    if (cfg->resume && strcmp(cfg->list, "-") == 0) {
        fprintf(stderr, "mxtls scan: --resume needs a list file (its SHA-256 is checked), not -\n");
        return 1;
    }
    return 0;
}

/* Resolvers are for DNS only: whatever --allow, --exclude and the reserved ranges say of probes,
 * the resolvers named (or the system's, from resolv.conf) are asked, loopback and private ones
 * included, as every stub resolver does; those rules govern the addresses probed. A resolver
 * must still be an address. 0, or the exit status after a message. */
static int check_resolvers(const mx_scan_config_t *cfg) {
    for (int i = 0; i < cfg->dns.nresolvers; i++) {
        struct sockaddr_storage sa;
        if (mx_parse_hostport(cfg->dns.resolvers[i], 53, &sa) < 0) {
            fprintf(stderr, "mxtls scan: resolver %s is not an address (ADDR or ADDR:PORT)\n",
                    cfg->dns.resolvers[i]);
            return 1;
        }
    }
    return 0;
}

static int scan(mx_scan_config_t *cfg, ui_t *ui) {
    char err[512], host[256];
    /* The input first: a list that cannot be read is the first thing to say, not a warning
     * about the EHLO name (the engine reads it through before scanning, for damage). */
    if (strcmp(cfg->list, "-") != 0 && access(cfg->list, R_OK) != 0) {
        fprintf(stderr, "mxtls scan: %s: %s; nothing was scanned\n", cfg->list, strerror(errno));
        return 2;
    }
    if (mx_netlist_add_text(&cfg->reserved, "reserved ranges", mx_reserved_ranges, err,
                            sizeof(err))) {
        fprintf(stderr, "mxtls scan: %s\n", err);
        return 2;
    }
    cfg->probe.ehlo = mx_ehlo_default("scan", cfg->probe.ehlo, host, sizeof(host));
    int rc = check_resolvers(cfg);
    if (rc)
        return rc;
    fit_descriptors(cfg);
    one_arena();
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    cfg->interrupts = &interrupts;
    cfg->events = (mx_scan_events_t){on_message, on_progress, ui};
    switch (mx_scan_run(cfg)) {
    case MX_SCAN_FINISHED:
        return 0;
    case MX_SCAN_INTERRUPTED:
        return 130;
    case MX_SCAN_REFUSED:
        return 1;
    default:
        return 2;
    }
}

int mx_cmd_scan(int argc, char **argv) {
    mx_scan_config_t cfg;
    ui_t ui = {.tty = isatty(STDERR_FILENO), .every = 30};
    char cmdline[4096];
    size_t o = 0;
    defaults(&cfg);
    for (int i = 0; i < argc && o < sizeof(cmdline) - 2; i++) /* argv[0] is "mxtls scan" */
        o += (size_t)snprintf(cmdline + o, sizeof(cmdline) - o, "%s%s", i ? " " : "", argv[i]);
    cfg.command_line = cmdline;
    int rc = parse(argc, argv, &cfg, &ui);
    if (rc == 0)
        rc = scan(&cfg, &ui);
    mx_netlist_close(&cfg.allow);
    mx_netlist_close(&cfg.exclude);
    mx_netlist_close(&cfg.reserved);
    return rc < 0 ? 0 : rc;
}
