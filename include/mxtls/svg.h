/* The project's chart writer: shares with their 95 % intervals as SVG that needs no script and
 * no font file, text kept as text (searchable, selectable, read by screen readers), colours
 * from the Okabe-Ito palette (told apart with every common colour-vision deficiency) and, past
 * its seven colours, dashes. */
#ifndef MXTLS_SVG_H
#define MXTLS_SVG_H

#include <stdio.h>

/* One series: a value per category with its interval, shares from 0 to 1 (NAN: none). */
typedef struct {
    const char *name; /* the legend's */
    const double *v, *lo, *hi;
} mx_svg_series_t;

typedef struct {
    const char *title, *x_label, *y_label;
    const char *const *cats; /* bars: one group per category; lines: the x positions */
    int ncats;
    const mx_svg_series_t *series;
    int nseries;
} mx_svg_chart_t;

/* Horizontal bars, a group per category and a bar per series, each with its interval's
 * whisker and its share written beside it; the x axis runs from 0 to 100 %. Returns 0, or -1
 * when writing failed. */
int mx_svg_bars(FILE *f, const mx_svg_chart_t *c);

/* One bar per category, split into its series' shares (which add up to 1 or less), each
 * labelled where it fits; intervals are left to the table beside it. Returns 0, or -1 when
 * writing failed. */
int mx_svg_stacked(FILE *f, const mx_svg_chart_t *c);

/* A line per series over the categories, with the interval as a band; the y axis spans the
 * intervals, rounded to whole steps. Returns 0, or -1 when writing failed. */
int mx_svg_lines(FILE *f, const mx_svg_chart_t *c);

/* S with XML's five special characters escaped (and control characters as '?'). */
void mx_xml_text(FILE *f, const char *s);

#endif
