/* The subcommands of the mxtls binary; each takes its own argv (argv[0] is its name) and returns
 * the process exit status. */
#ifndef MXTLS_CLI_COMMANDS_H
#define MXTLS_CLI_COMMANDS_H

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} mx_command_t;

#define MX_COMMANDS(X)                                                                             \
    X("scan", mx_cmd_scan, "the survey: a domain list in, gzip CSV scan records out")              \
    X("resolve", mx_cmd_resolve, "resolve a domain list's MX hosts and addresses (DNS only)")      \
    X("probe", mx_cmd_probe, "probe hosts (MXHOST@ADDRESS) and print their host columns")          \
    X("check", mx_cmd_check, "read scan files back and report rows, domains and damage")           \
    X("stats", mx_cmd_stats, "adoption statistics of a snapshot (its shard files)")                \
    X("diff", mx_cmd_diff, "what changed between two snapshots: OLD... -- NEW...")                 \
    X("trend", mx_cmd_trend, "every metric over many snapshots, as time series or line charts")    \
    X("report", mx_cmd_report, "one HTML file with the method, charts and tables of snapshots")    \
    X("received", mx_cmd_received, "was a message encrypted on every hop? (Received headers)")     \
    X("schema", mx_cmd_schema, "the scan record's columns: Markdown, JSON (pandas) or SQL DDL")

int mx_cmd_check(int argc, char **argv);
int mx_cmd_diff(int argc, char **argv);
int mx_cmd_probe(int argc, char **argv);
int mx_cmd_received(int argc, char **argv);
int mx_cmd_resolve(int argc, char **argv);
int mx_cmd_scan(int argc, char **argv);
int mx_cmd_schema(int argc, char **argv);
int mx_cmd_stats(int argc, char **argv);
int mx_cmd_trend(int argc, char **argv);
int mx_cmd_report(int argc, char **argv);

/* stats and diff: says why a row could not be counted (a domain's rows apart, or RC's text). */
struct mx_reader;
void mx_regrouped_say(const char *cmd, int rc, const struct mx_reader *r, const char *domain);

/* Reads every row of FILES (N, one snapshot) into S, saying what is wrong as "mxtls CMD: ...".
 * Returns 0, 1 when a file was cut short (what it held is counted), or -1 on damage. */
struct mx_stats;
int mx_stats_read(const char *cmd, char *const *files, int n, struct mx_stats *s);

#endif
