/* mxtls-farm: the simulated internet (shared/DESIGN.md). Subcommands:
 *   list   --domains N [--seed S] [--epoch E] [--model F]   the domain list, "rank,domain"
 *   truth  --domains N ... -o FILE.csv.gz   the ground truth without serving (no fingerprints:
 *          no server of this run presents the certificates)
 *   stats  --domains N ...   the population's true proportions next to the model's
 *   serve  ... --dns ADDR:PORT --smtp-port P [--truth F] [--ready-file F] [--ca-out F]
 *          [--latency-ms MS | --latency lognormal:MEDIAN:SIGMA] [--procs N] [--accept-log F]
 * Serving binds the wildcard address only inside a private network namespace (only a loopback
 * interface); elsewhere it binds 127.0.0.1 alone, enough for a smoke test. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "farm/certs.h"
#include "farm/dns_server.h"
#include "farm/https_server.h"
#include "farm/farm.h"
#include "farm/smtp_server.h"
#include "farm/stats.h"
#include "farm/truth.h"
#include "mxtls/fast_ec.h"

typedef struct {
    uint32_t domains;
    uint64_t seed;
    uint32_t epoch;
    const char *model;
    const char *dns;
    int smtp_port;
    int sts_port;     /* HTTPS of the MTA-STS policy hosts; 0: not served */
    int truth_policy; /* the truth has the columns of scan --policy --dnssec-resolver */
    const char *truth;
    int truth_fingerprints; /* -1: automatic */
    const char *ready_file;
    const char *ca_out;
    const char *accept_log;
    const char *bind;
    farm_latency_t latency;
    int procs;
    const char *out;
} opts_t;

static void usage(FILE *f) {
    fprintf(f,
            "usage: mxtls-farm list --domains N [--seed S] [--epoch E] [--model FILE] [-o FILE]\n"
            "       mxtls-farm truth --domains N [--seed S] [--epoch E] [--model FILE] -o FILE\n"
            "       mxtls-farm stats --domains N [--seed S] [--epoch E] [--model FILE]\n"
            "       mxtls-farm serve --domains N [--seed S] [--epoch E] [--model FILE]\n"
            "                  [--dns ADDR:PORT] [--smtp-port P] [--truth FILE.csv.gz]\n"
            "                  [--truth-fingerprints yes|no] [--ready-file F] [--ca-out F]\n"
            "                  [--latency-ms MS | --latency lognormal:MEDIAN_MS:SIGMA]\n"
            "                  [--procs N] [--accept-log F] [--bind ADDR] [--sts-port P]\n"
            "                  [--truth-policy yes|no]\n"
            "  --sts-port P: HTTPS of the MTA-STS policy hosts (not served without it)\n"
            "  --truth-policy yes: the truth has the policy columns a scan with --policy\n"
            "  --dnssec-resolver (the farm's DNS) writes\n");
}

static int fail(const char *msg) {
    fprintf(stderr, "mxtls-farm: %s\n", msg);
    return 1;
}

static int parse_u(const char *s, unsigned long long max, unsigned long long *v) {
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || *end || end == s || *v > max ? -1 : 0;
}

static int parse_opts(int argc, char **argv, opts_t *o) {
    static const struct option lo[] = {{"domains", 1, 0, 'n'},
                                       {"seed", 1, 0, 's'},
                                       {"epoch", 1, 0, 'e'},
                                       {"model", 1, 0, 'm'},
                                       {"dns", 1, 0, 'd'},
                                       {"smtp-port", 1, 0, 'p'},
                                       {"truth", 1, 0, 't'},
                                       {"ready-file", 1, 0, 'r'},
                                       {"ca-out", 1, 0, 'c'},
                                       {"latency-ms", 1, 0, 'L'},
                                       {"latency", 1, 0, 'l'},
                                       {"procs", 1, 0, 'P'},
                                       {"accept-log", 1, 0, 'a'},
                                       {"bind", 1, 0, 'b'},
                                       {"truth-fingerprints", 1, 0, 'F'},
                                       {"sts-port", 1, 0, 'S'},
                                       {"truth-policy", 1, 0, 'T'},
                                       {"help", 0, 0, 'h'},
                                       {0, 0, 0, 0}};
    unsigned long long v;
    int c;
    memset(o, 0, sizeof(*o));
    o->seed = 1;
    o->dns = "127.0.0.1:5300";
    o->smtp_port = 2525;
    o->procs = 1;
    o->truth_fingerprints = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (parse_u(optarg, 1500000, &v) || v == 0)
                return fail("--domains: a number from 1 to 1500000");
            o->domains = (uint32_t)v;
            break;
        case 's':
            if (parse_u(optarg, ~0ull, &v))
                return fail("--seed: a non-negative integer");
            o->seed = v;
            break;
        case 'e':
            if (parse_u(optarg, 1000, &v))
                return fail("--epoch: a number from 0 to 1000");
            o->epoch = (uint32_t)v;
            break;
        case 'm':
            o->model = optarg;
            break;
        case 'd':
            o->dns = optarg;
            break;
        case 'p':
            if (parse_u(optarg, 65535, &v) || v == 0)
                return fail("--smtp-port: a port number");
            o->smtp_port = (int)v;
            break;
        case 't':
            o->truth = optarg;
            break;
        case 'F':
            o->truth_fingerprints = strcmp(optarg, "yes") == 0 ? 1 : 0;
            break;
        case 'S':
            if (parse_u(optarg, 65535, &v) || v == 0)
                return fail("--sts-port: a port number");
            o->sts_port = (int)v;
            break;
        case 'T':
            o->truth_policy = strcmp(optarg, "yes") == 0;
            break;
        case 'r':
            o->ready_file = optarg;
            break;
        case 'c':
            o->ca_out = optarg;
            break;
        case 'a':
            o->accept_log = optarg;
            break;
        case 'b':
            o->bind = optarg;
            break;
        case 'L':
            o->latency.fixed_ms = atof(optarg);
            if (o->latency.fixed_ms < 0)
                return fail("--latency-ms: milliseconds, not negative");
            break;
        case 'l':
            if (sscanf(optarg, "lognormal:%lf:%lf", &o->latency.median_ms, &o->latency.sigma) !=
                    2 ||
                o->latency.median_ms <= 0 || o->latency.sigma < 0)
                return fail("--latency: lognormal:MEDIAN_MS:SIGMA, e.g. lognormal:150:0.8");
            break;
        case 'P':
            if (parse_u(optarg, 64, &v) || v == 0)
                return fail("--procs: 1 to 64");
            o->procs = (int)v;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 1;
        }
    }
    if (!o->domains)
        return fail("--domains N is required");
    return 0;
}

static int cmd_list(const opts_t *o, const farm_t *f) {
    FILE *out = o->out ? fopen(o->out, "w") : stdout;
    farm_domain_t d;
    if (!out)
        return fail("cannot create the output file");
    for (uint32_t i = 0; i < farm_domain_count(f); i++) {
        farm_domain(f, i, &d);
        fprintf(out, "%u,%s\n", i + 1, d.name);
    }
    if ((o->out ? fclose(out) : fflush(out)) != 0)
        return fail("writing the list failed");
    return 0;
}

/* Only a loopback interface: a private network namespace, where binding the wildcard address
 * can reach nothing but this machine's own loopback. /proc/self/net/dev lists the interfaces of
 * this process's namespace (/sys/class/net shows the namespace sysfs was mounted in). */
static int private_namespace(void) {
    FILE *f = fopen("/proc/self/net/dev", "r");
    char line[512];
    int only_lo = 1, n = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        char name[64];
        if (++n <= 2 || sscanf(line, " %63[^:]:", name) != 1)
            continue; /* two header lines */
        if (strcmp(name, "lo") != 0)
            only_lo = 0;
    }
    fclose(f);
    return only_lo;
}

static uv_loop_t *loop;
static uv_async_t dns_stop;

static void on_signal(uv_signal_t *s, int sig) {
    (void)s;
    (void)sig;
    uv_async_send(&dns_stop);
    uv_stop(loop);
}

static void on_dns_stop(uv_async_t *a) {
    uv_stop(a->loop);
}

static void dns_thread(void *arg) {
    uv_run(arg, UV_RUN_DEFAULT);
}

static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int serve_one(const opts_t *o, const farm_t *f, farm_certs_t *certs, int ready_fd) {
    struct sockaddr_storage dns_addr;
    struct sockaddr_in smtp_addr;
    char host[64];
    int port, rc;
    farm_dns_t dns;
    farm_smtp_t smtp;
    farm_https_t https;
    uv_signal_t sigterm, sigint;
    uv_loop_t dns_loop;
    uv_thread_t dns_tid;
    const char *colon = strrchr(o->dns, ':');
    if (!colon || (size_t)(colon - o->dns) >= sizeof(host) || (port = atoi(colon + 1)) <= 0)
        return fail("--dns: ADDR:PORT, e.g. 127.0.0.1:5300");
    snprintf(host, sizeof(host), "%.*s", (int)(colon - o->dns), o->dns);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&dns_addr) < 0)
        return fail("--dns: an IPv4 loopback address");
    const char *bind = o->bind ? o->bind : private_namespace() ? "0.0.0.0" : "127.0.0.1";
    if (uv_ip4_addr(bind, o->smtp_port, &smtp_addr) < 0)
        return fail("--bind: an IPv4 address");
    loop = uv_default_loop();
    memset(&smtp, 0, sizeof(smtp));
    smtp.latency = o->latency;
    smtp.rng = o->seed ^ (uint64_t)getpid();
    if (o->accept_log) {
        char path[1024];
        snprintf(path, sizeof(path), o->procs > 1 ? "%s.%d" : "%s", o->accept_log, (int)getpid());
        smtp.accept_log = fopen(path, "w");
        if (!smtp.accept_log)
            return fail("--accept-log: cannot create the file");
        setvbuf(smtp.accept_log, NULL, _IOLBF, 0); /* readers look while the farm runs */
    }
    /* DNS has a loop and thread of its own, as a real resolver is not the mail servers: under a
     * flood of TLS handshakes an SMTP loop iteration can take seconds, and answers over TCP,
     * which clients do not retry on the same connection, must not wait behind it. */
    if ((rc = uv_loop_init(&dns_loop)) < 0 ||
        (rc = uv_async_init(&dns_loop, &dns_stop, on_dns_stop)) < 0 ||
        (rc = farm_dns_start(&dns, &dns_loop, f, certs, (struct sockaddr *)&dns_addr)) < 0) {
        fprintf(stderr, "mxtls-farm: DNS on %s: %s\n", o->dns, uv_strerror(rc));
        return 2;
    }
    if ((rc = farm_smtp_start(&smtp, loop, f, certs, (struct sockaddr *)&smtp_addr)) < 0) {
        fprintf(stderr, "mxtls-farm: SMTP on %s:%d: %s\n", bind, o->smtp_port, uv_strerror(rc));
        return 2;
    }
    struct sockaddr_in https_addr = smtp_addr;
    https_addr.sin_port = htons((uint16_t)o->sts_port);
    memset(&https, 0, sizeof(https));
    if (o->sts_port &&
        (rc = farm_https_start(&https, loop, f, certs, (struct sockaddr *)&https_addr)) < 0) {
        fprintf(stderr, "mxtls-farm: HTTPS on %s:%d: %s\n", bind, o->sts_port, uv_strerror(rc));
        return 2;
    }
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    if (ready_fd >= 0) {
        if (write(ready_fd, "r", 1) != 1)
            return 2;
        close(ready_fd);
    }
    if ((rc = uv_thread_create(&dns_tid, dns_thread, &dns_loop)) < 0) {
        fprintf(stderr, "mxtls-farm: DNS thread: %s\n", uv_strerror(rc));
        return 2;
    }
    uv_run(loop, UV_RUN_DEFAULT);
    uv_async_send(&dns_stop);
    uv_thread_join(&dns_tid);
    fprintf(stderr,
            "mxtls-farm[%d]: %llu DNS queries, %llu SMTP connections (at most %llu at once), "
            "%llu TLS handshakes, %llu policy fetches\n",
            (int)getpid(), dns.queries, smtp.accepted, smtp.max_open, smtp.handshakes,
            https.accepted);
    if (smtp.accept_log)
        fclose(smtp.accept_log);
    return 0;
}

/* The farm's key cache: ${XDG_CACHE_HOME:-$HOME/.cache}/mxtls/farm-keys, made if missing. */
static void key_dir(char *out, size_t cap) {
    const char *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (cache && *cache)
        snprintf(out, cap, "%s/mxtls/farm-keys", cache);
    else
        snprintf(out, cap, "%s/.cache/mxtls/farm-keys", home ? home : "/tmp");
    for (char *p = out + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(out, 0755);
            *p = '/';
        }
    mkdir(out, 0700);
}

static int cmd_truth(const opts_t *o, const farm_t *f) {
    char err[512], keydir[1024];
    if (!o->out)
        return fail("truth: -o FILE.csv.gz is required");
    key_dir(keydir, sizeof(keydir));
    farm_certs_t *certs = farm_certs_new(keydir, err, sizeof(err));
    if (!certs)
        return fail(err);
    int rc = farm_truth_write(f, certs, 0, o->truth_policy, o->out, err, sizeof(err));
    farm_certs_free(certs);
    return rc < 0 ? fail(err) : 0;
}

static int cmd_serve(const opts_t *o, const farm_t *f) {
    char err[512], keydir[1024];
    key_dir(keydir, sizeof(keydir));
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    farm_certs_t *certs = farm_certs_new(keydir, err, sizeof(err));
    if (!certs)
        return fail(err);
    if (o->ca_out && farm_certs_write_ca(certs, o->ca_out) < 0)
        return fail("--ca-out: cannot write the CA certificate");
    if (o->truth) {
        int fp = o->truth_fingerprints >= 0 ? o->truth_fingerprints : o->domains <= 100000;
        if (farm_truth_write(f, certs, fp, o->truth_policy, o->truth, err, sizeof(err)) < 0)
            return fail(err);
    }
    int fds[2];
    if (pipe(fds) < 0)
        return fail("pipe failed");
    pid_t kids[64];
    int nkids = 0;
    for (int p = 1; p < o->procs; p++) {
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            exit(serve_one(o, f, certs, fds[1]));
        }
        if (pid > 0)
            kids[nkids++] = pid;
    }
    close(fds[1]);
    for (int k = 0; k < nkids; k++) {
        char b;
        if (read(fds[0], &b, 1) != 1)
            return fail("a serving process failed to start");
    }
    close(fds[0]);
    int rfd = -1;
    int sp[2];
    if (pipe(sp) == 0)
        rfd = sp[1];
    /* The parent serves too; it writes the ready file once its own sockets are bound. */
    pid_t self = fork();
    if (self == 0) {
        close(sp[0]);
        exit(serve_one(o, f, certs, rfd));
    }
    close(sp[1]);
    char b;
    int ok = read(sp[0], &b, 1) == 1;
    close(sp[0]);
    if (ok && o->ready_file) {
        FILE *r = fopen(o->ready_file, "w");
        if (r) {
            fprintf(r, "%d\n", (int)getpid());
            fclose(r);
        }
    }
    /* Wait for a signal, then stop every serving process. */
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (ok)
        sigwait(&set, &sig);
    kill(self, SIGTERM);
    for (int k = 0; k < nkids; k++)
        kill(kids[k], SIGTERM);
    int status, worst = ok ? 0 : 2;
    while (wait(&status) > 0)
        if (!WIFEXITED(status) || WEXITSTATUS(status))
            worst = 2;
    farm_certs_free(certs);
    return worst;
}

int main(int argc, char **argv) {
    opts_t o;
    farm_model_t m;
    char err[512];
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    /* The farm's handshakes share the machine with the scanner's: the same fast curve arithmetic
     * (the MTA interop tests, not the farm, are the independent check of it). */
    mx_fast_ec_enable(1);
    if (strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "list") != 0 && strcmp(cmd, "serve") != 0 && strcmp(cmd, "truth") != 0 &&
        strcmp(cmd, "stats") != 0) {
        usage(stderr);
        return 1;
    }
    if (parse_opts(argc - 1, argv + 1, &o))
        return 1;
    if (farm_model_load(&m, o.model ? o.model : NULL, err, sizeof(err)) < 0)
        return fail(err);
    farm_t *f = farm_new(&m, o.seed, o.domains, o.epoch);
    if (!f)
        return fail("out of memory");
    int rc = strcmp(cmd, "list") == 0    ? cmd_list(&o, f)
             : strcmp(cmd, "truth") == 0 ? cmd_truth(&o, f)
             : strcmp(cmd, "stats") == 0 ? (farm_stats(f, &m, stdout) < 0 ? 2 : 0)
                                         : cmd_serve(&o, f);
    farm_free(f);
    return rc;
}
