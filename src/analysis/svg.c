/* Charts as SVG (mxtls/svg.h). Sizes are in the viewBox's units; the page scales the whole
 * chart to its column, so the units are chosen for a column about 480 pixels wide and stay
 * legible at half that on a phone. */
#include "mxtls/svg.h"

#include <math.h>
#include <string.h>

#define W 480.0
#define FONT 13
#define SMALL 11

static const char *const colours[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                      "#56B4E9", "#D55E00", "#000000"};
static const char *const dashes[] = {"", "6 3", "2 3"};

void mx_xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '&')
            fputs("&amp;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if (c == '\'')
            fputs("&#39;", f);
        else
            fputc(c < 0x20 || c == 0x7F ? '?' : c, f);
    }
}

static const char *colour(int i) {
    return colours[i % 7];
}

static const char *dash(int i) {
    return dashes[(i / 7) % 3];
}

/* A text element at (X, Y) with ANCHOR and extra attributes EXTRA. */
static void text(FILE *f, double x, double y, const char *anchor, int size, const char *extra,
                 const char *s) {
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"%s>", x, y, anchor,
            size, extra ? extra : "");
    mx_xml_text(f, s);
    fputs("</text>\n", f);
}

/* Width of S in the font at SIZE, roughly: the layout needs no more than an estimate. */
static double width_of(const char *s, int size) {
    return 0.56 * size * (double)strlen(s);
}

/* Where the title's lines break: at most three, each cut at a space to fit the width. Returns
 * the number of lines, their starts in AT and lengths in LEN. */
static int title_lines(const char *t, const char **at, int *len) {
    int fit = (int)((W - 20) / (0.66 * (FONT + 2))), n = 0; /* bold is wider */
    while (*t && n < 3) {
        int l = (int)strlen(t);
        if (l > fit && n < 2) {
            l = fit;
            while (l > fit / 2 && t[l] != ' ')
                l--;
        }
        at[n] = t;
        len[n++] = l;
        t += l;
        while (*t == ' ')
            t++;
    }
    return n;
}

/* The height the title takes. */
static double title_height(const mx_svg_chart_t *c) {
    const char *at[3];
    int len[3];
    return 8 + 18.0 * title_lines(c->title, at, len);
}

static void open_svg(FILE *f, double h, const mx_svg_chart_t *c) {
    const char *at[3];
    int len[3], n = title_lines(c->title, at, len);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
            "role=\"img\" font-family=\"DejaVu Sans, Verdana, sans-serif\" class=\"chart\">\n"
            "<title>",
            W, h);
    mx_xml_text(f, c->title);
    fputs("</title>\n<text text-anchor=\"middle\" font-weight=\"bold\" class=\"chart-title\"", f);
    fprintf(f, " font-size=\"%d\">", FONT + 2);
    for (int i = 0; i < n; i++) {
        char line[256];
        snprintf(line, sizeof(line), "%.*s", len[i], at[i]);
        fprintf(f, "<tspan x=\"%.1f\" y=\"%.1f\">", W / 2, 20.0 + 18 * i);
        mx_xml_text(f, line);
        fputs("</tspan>", f);
    }
    fputs("</text>\n", f);
}

/* The legend, swatches in rows that wrap, from Y down; returns the height it takes. With F
 * NULL, only measures. */
static double legend(FILE *f, const mx_svg_chart_t *c, double y, int lines) {
    double x = 10, row = 0;
    if (c->nseries < 2)
        return 0;
    if (f)
        fputs("<g class=\"legend\">\n", f);
    for (int i = 0; i < c->nseries; i++) {
        double w = 28 + width_of(c->series[i].name, SMALL);
        if (x + w > W - 10 && x > 10) {
            x = 10;
            row += 18;
        }
        if (f && lines)
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                    "stroke-width=\"2.5\" stroke-dasharray=\"%s\"/>\n",
                    x, y + row - 4, x + 18, y + row - 4, colour(i), dash(i));
        else if (f)
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%s\"/>\n", x,
                    y + row - 9, colour(i));
        if (f)
            text(f, x + 22, y + row, "start", SMALL, NULL, c->series[i].name);
        x += w + 12;
    }
    if (f)
        fputs("</g>\n", f);
    return row + 18;
}

/* Category labels longer than the margin allows are cut; the whole label stays in a <title>. */
static void label(FILE *f, double x, double y, double room, const char *s) {
    size_t fit = (size_t)(room / (0.56 * SMALL));
    char cut[256];
    if (strlen(s) <= fit || fit < 4) {
        text(f, x, y, "end", SMALL, NULL, s);
        return;
    }
    snprintf(cut, sizeof(cut), "%.*s…", (int)(fit - 1 < sizeof(cut) - 4 ? fit - 1 : 200), s);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"%d\"><title>", x, y,
            SMALL);
    mx_xml_text(f, s);
    fputs("</title>", f);
    mx_xml_text(f, cut);
    fputs("</text>\n", f);
}

/* The grid and axes of a chart of shares across: 0 to 100 % in steps of 20 from LEFT over
 * PLOT, rows from TOP down to 40 above H; both axes labelled. */
static void share_axis(FILE *f, const mx_svg_chart_t *c, double left, double plot, double top,
                       double h) {
    for (int t = 0; t <= 100; t += 20) {
        double x = left + plot * t / 100;
        char tick[12]; /* room for any int: at -O1 gcc does not see that t stays below 101 */
        snprintf(tick, sizeof(tick), "%d", t);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\" "
                "stroke-width=\"0.7\"/>\n",
                x, top - 4, x, h - 40);
        text(f, x, h - 26, "middle", SMALL, " class=\"tick\"", tick);
    }
    text(f, left + plot / 2, h - 8, "middle", SMALL, " class=\"x-label\"", c->x_label);
    fprintf(f,
            "<text transform=\"translate(12 %.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"%d\" class=\"y-label\">",
            top + (h - 40 - top) / 2, SMALL);
    mx_xml_text(f, c->y_label);
    fputs("</text>\n", f);
}

/* The left margin for the category labels. */
static double label_margin(const mx_svg_chart_t *c) {
    double left = 60;
    for (int i = 0; i < c->ncats; i++)
        left = fmax(left, width_of(c->cats[i], SMALL) + 34);
    return fmin(left, 190);
}

int mx_svg_bars(FILE *f, const mx_svg_chart_t *c) {
    double left = label_margin(c), right = W - 58, plot = right - left;
    double bar = 11, gap = 9, group = c->nseries * bar + gap;
    double th = title_height(c), top = th + 14 + legend(NULL, c, 0, 0);
    double h = top + c->ncats * group + 48;
    open_svg(f, h, c);
    legend(f, c, th + 10, 0);
    share_axis(f, c, left, plot, top, h);
    for (int i = 0; i < c->ncats; i++) {
        double y0 = top + i * group;
        label(f, left - 6, y0 + group / 2 - gap / 2 + 4, left - 30, c->cats[i]);
        for (int s = 0; s < c->nseries; s++) {
            const mx_svg_series_t *se = &c->series[s];
            double v = se->v[i], y = y0 + s * bar;
            if (isnan(v))
                continue;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                    left, y, plot * v, bar - 2, colour(s));
            double lo = se->lo[i], hi = se->hi[i], ym = y + (bar - 2) / 2;
            fprintf(f,
                    "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fv%.1fM%.1f %.1fv%.1f\" stroke=\"#222\" "
                    "stroke-width=\"1\" fill=\"none\"/>\n",
                    left + plot * lo, ym, left + plot * hi, left + plot * lo, ym - 3, 6.0,
                    left + plot * hi, ym - 3, 6.0);
            char pct[16];
            snprintf(pct, sizeof(pct), "%.1f %%", 100 * v);
            text(f, left + plot * fmax(v, hi) + 4, y + bar - 3, "start", SMALL - 1, NULL, pct);
        }
    }
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\" "
            "stroke-width=\"1\"/>\n",
            left, top - 4, left, h - 40);
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}

int mx_svg_stacked(FILE *f, const mx_svg_chart_t *c) {
    double left = label_margin(c), right = W - 16, plot = right - left, bar = 18, gap = 8;
    double th = title_height(c), top = th + 14 + legend(NULL, c, 0, 0);
    double h = top + c->ncats * (bar + gap) + 44;
    open_svg(f, h, c);
    legend(f, c, th + 10, 0);
    share_axis(f, c, left, plot, top, h);
    for (int i = 0; i < c->ncats; i++) {
        double y = top + i * (bar + gap), x = left;
        label(f, left - 6, y + bar / 2 + 4, left - 30, c->cats[i]);
        for (int s = 0; s < c->nseries; s++) {
            double v = c->series[s].v[i];
            if (isnan(v) || v <= 0)
                continue;
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                    "stroke=\"#fff\" stroke-width=\"0.5\"/>\n",
                    x, y, plot * v, bar, colour(s));
            if (plot * v >= 34) { /* the share, where it fits: white on the darker colours */
                char pct[16];
                snprintf(pct, sizeof(pct), "%.0f %%", 100 * v);
                text(f, x + plot * v / 2, y + bar - 5, "middle", SMALL - 1,
                     s % 7 == 0 || s % 7 == 5 || s % 7 == 6 ? " fill=\"#fff\"" : NULL, pct);
            }
            x += plot * v;
        }
    }
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}

/* The y axis of a line chart: the intervals' span, widened to whole steps. */
static void y_range(const mx_svg_chart_t *c, double *lo, double *hi, double *step) {
    double a = 1, b = 0;
    for (int s = 0; s < c->nseries; s++)
        for (int i = 0; i < c->ncats; i++)
            if (!isnan(c->series[s].v[i])) {
                a = fmin(a, c->series[s].lo[i]);
                b = fmax(b, c->series[s].hi[i]);
            }
    if (a > b)
        a = 0, b = 1;
    static const double steps[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2};
    *step = 0.2;
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
        if ((b - a) / steps[k] <= 6) {
            *step = steps[k];
            break;
        }
    *lo = fmax(0, floor(a / *step) * *step);
    *hi = fmin(1, ceil(b / *step) * *step);
    if (*hi <= *lo)
        *hi = fmin(1, *lo + *step), *lo = *hi - *step;
}

int mx_svg_lines(FILE *f, const mx_svg_chart_t *c) {
    double lo, hi, step;
    y_range(c, &lo, &hi, &step);
    double th = title_height(c), left = 70, right = W - 40;
    double top = th + 18 + legend(NULL, c, 0, 1);
    double bottom = top + 240, h = bottom + 52;
    double plot = right - left, xs = c->ncats > 1 ? plot / (c->ncats - 1) : 0;
    open_svg(f, h, c);
    legend(f, c, th + 10, 1);
#define X(i) (c->ncats > 1 ? left + xs * (i) : left + plot / 2)
#define Y(v) (bottom - (bottom - top) * ((v)-lo) / (hi - lo))
    for (double t = lo; t <= hi + step / 2; t += step) {
        char tick[16];
        snprintf(tick, sizeof(tick), step < 0.01 ? "%.1f" : "%.0f", 100 * t);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\" "
                "stroke-width=\"0.7\"/>\n",
                left, Y(t), right, Y(t));
        text(f, left - 6, Y(t) + 4, "end", SMALL, " class=\"tick\"", tick);
    }
    /* At most a dozen x labels; the others are implied by the points. */
    int every = c->ncats > 12 ? (c->ncats + 11) / 12 : 1;
    for (int i = 0; i < c->ncats; i += every)
        text(f, X(i), bottom + 16, "middle", SMALL - 1, " class=\"tick\"", c->cats[i]);
    text(f, left + plot / 2, h - 8, "middle", SMALL, " class=\"x-label\"", c->x_label);
    fprintf(f,
            "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"%d\" class=\"y-label\">",
            top + (bottom - top) / 2, SMALL);
    mx_xml_text(f, c->y_label);
    fputs("</text>\n", f);
    for (int s = 0; s < c->nseries; s++) {
        const mx_svg_series_t *se = &c->series[s];
        /* The band: along the upper ends, back along the lower. */
        fprintf(f, "<path fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" d=\"", colour(s));
        int first = 1;
        for (int i = 0; i < c->ncats; i++)
            if (!isnan(se->v[i])) {
                fprintf(f, "%s%.1f %.1f", first ? "M" : "L", X(i), Y(se->hi[i]));
                first = 0;
            }
        for (int i = c->ncats - 1; i >= 0; i--)
            if (!isnan(se->v[i]))
                fprintf(f, "L%.1f %.1f", X(i), Y(se->lo[i]));
        fputs(first ? "\"/>\n" : "Z\"/>\n", f);
        fprintf(f,
                "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\" "
                "d=\"",
                colour(s), dash(s));
        first = 1;
        for (int i = 0; i < c->ncats; i++)
            if (!isnan(se->v[i])) {
                fprintf(f, "%s%.1f %.1f", first ? "M" : "L", X(i), Y(se->v[i]));
                first = 0;
            }
        fputs("\"/>\n", f);
        for (int i = 0; i < c->ncats; i++)
            if (!isnan(se->v[i]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", X(i),
                        Y(se->v[i]), colour(s));
    }
#undef X
#undef Y
    fprintf(f,
            "<path d=\"M%.1f %.1fV%.1fH%.1f\" stroke=\"#444\" stroke-width=\"1\" fill=\"none\"/>\n",
            left, top - 4, bottom, right);
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}
