/* What a person watching a scan sees on stderr: one line redrawn in place on a terminal, fitted
 * to its width; a plain line every --progress seconds otherwise (cluster logs); a summary at the
 * end. */
#ifndef MXTLS_CLI_PROGRESS_LINE_H
#define MXTLS_CLI_PROGRESS_LINE_H

#include "mxtls/scan.h"

#define MX_PROGRESS_RING 48 /* samples of the last ~12 s (one every 250 ms): the rate's window */

typedef struct {
    int quiet, tty;
    int line_shown;    /* a redrawn line is on the screen */
    double every;      /* seconds between plain lines when not a terminal */
    double last_plain; /* when the last plain line was written */
    int n, head;       /* ring of samples */
    double t[MX_PROGRESS_RING];
    unsigned long long done[MX_PROGRESS_RING], hosts[MX_PROGRESS_RING];
} mx_progress_ui_t;

/* Shows P (FINAL: the summary) to UI's user. */
void mx_progress_show(mx_progress_ui_t *ui, const mx_scan_progress_t *p, int final);

/* Clears the redrawn line before a message is printed on its own line. */
void mx_progress_clear(mx_progress_ui_t *ui);

#endif
