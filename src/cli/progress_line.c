/* The progress display (cli/progress_line.h). The rate and the ETA come from the last dozen
 * seconds, not the whole run, so that they follow what the scan does now; the total is the
 * list's line count, known from the check that reads the list before the scan, scaled by the
 * share of lines read so far that were domains (comments and repeats are no work). */
#include "cli/progress_line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int columns(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    return c && atoi(c) > 0 ? atoi(c) : 80;
}

/* N with thousands separators, into BUF. */
static const char *num(unsigned long long n, char *buf, size_t cap) {
    char tmp[32];
    int len = snprintf(tmp, sizeof(tmp), "%llu", n), o = 0;
    for (int i = 0; i < len && (size_t)o + 2 < cap; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

static void duration(double s, char *buf, size_t cap) {
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%luh%02lum", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, cap, "%lum%02lus", t / 60, t % 60);
    else
        snprintf(buf, cap, "%lus", t);
}

/* Domains and hosts per second over the ring's span; 0 before two seconds of it. */
static void rates(mx_progress_ui_t *ui, const mx_scan_progress_t *p, double *dom, double *hosts) {
    int oldest = ui->n < MX_PROGRESS_RING ? 0 : ui->head;
    ui->t[ui->head] = p->seconds;
    ui->done[ui->head] = p->domains_done;
    ui->hosts[ui->head] = p->hosts_done;
    ui->head = (ui->head + 1) % MX_PROGRESS_RING;
    ui->n += ui->n < MX_PROGRESS_RING;
    double span = p->seconds - ui->t[oldest];
    *dom = span >= 2 ? (double)(p->domains_done - ui->done[oldest]) / span : 0;
    *hosts = span >= 2 ? (double)(p->hosts_done - ui->hosts[oldest]) / span : 0;
}

static void outcomes(const mx_scan_progress_t *p, char *buf, size_t cap) {
    static const char *const names[] = {
#define X(id, name) name,
        MX_ENDED_NAMES(X)
#undef X
    };
    size_t o = 0;
    char n[32];
    buf[0] = 0;
    for (int k = 0; k < MX_ENDED__COUNT && o < cap; k++)
        if (p->outcomes[k] || k == MX_ENDED_OK)
            o += (size_t)snprintf(buf + o, cap - o, "%s%s %s", o ? ", " : "", names[k],
                                  num(p->outcomes[k], n, sizeof(n)));
}

void mx_progress_clear(mx_progress_ui_t *ui) {
    if (ui->line_shown)
        fputs("\r\033[K", stderr);
    ui->line_shown = 0;
}

void mx_progress_show(mx_progress_ui_t *ui, const mx_scan_progress_t *p, int final) {
    char line[1024], done[32], total[400] = "", eta[48] = "", out[300], took[32];
    double dom_rate, host_rate;
    if (ui->quiet)
        return;
    rates(ui, p, &dom_rate, &host_rate);
    outcomes(p, out, sizeof(out));
    /* The total: what the list holds, scaled by the domains among the lines read so far. */
    double est = p->list_read ? (double)p->domains_read
                 : p->list_lines && p->lines_read
                     ? (double)p->list_lines * (double)p->domains_read / (double)p->lines_read
                     : 0;
    if (est > 0) {
        char t[32];
        snprintf(total, sizeof(total), " of %s%s (%.1f %%)", p->list_read ? "" : "~",
                 num((unsigned long long)est, t, sizeof(t)),
                 100.0 * (double)p->domains_done / (est > 1 ? est : 1));
    }
    if (!final && est > 0 && dom_rate > 0) {
        char d[32];
        duration((est - (double)p->domains_done) / dom_rate, d, sizeof(d));
        snprintf(eta, sizeof(eta), ", ETA %s", d);
    }
    duration(p->seconds, took, sizeof(took));
    if (final) {
        snprintf(line, sizeof(line), "done: %s domains in %s, %.0f hosts/s; hosts: %s",
                 num(p->domains_done, done, sizeof(done)), took,
                 p->seconds > 0 ? (double)p->hosts_done / p->seconds : 0.0, out);
        mx_progress_clear(ui);
        fprintf(stderr, "mxtls scan: %s\n", line);
        return;
    }
    snprintf(line, sizeof(line), "%s%s domains, %.0f hosts/s%s | %s | %u open%s%s | %s",
             num(p->domains_done, done, sizeof(done)), total, host_rate, eta, out, p->open,
             p->throttled ? ", throttled: CPU saturated" : "",
             p->dns_down ? ", resolvers silent: waiting" : "", took);
    if (ui->tty) {
        int width = columns() - 1; /* the last column would wrap on some terminals */
        if ((int)strlen(line) > width && width > 3)
            line[width] = 0;
        fprintf(stderr, "\r\033[K%s", line);
        ui->line_shown = 1;
    } else if (p->seconds - ui->last_plain >= ui->every) {
        fprintf(stderr, "mxtls scan: %s\n", line);
        ui->last_plain = p->seconds;
    }
}
