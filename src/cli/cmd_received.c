/* mxtls received FILE... [-o OUT] [--format text|csv|json]: the Received headers of each
 * message (.eml, mbox, gzip or not, - for standard input) read hop by hop, oldest first, with
 * whether each hop was encrypted, and a verdict per message; a summary for several messages. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "cli/commands.h"
#include "mxtls/error.h"
#include "mxtls/json.h"
#include "mxtls/mailbox.h"
#include "mxtls/received.h"
#include "mxtls/report.h"
#include "mxtls/tally.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls received [--format text|csv|json] [-o OUT] FILE...\n"
               "  FILE: a message (.eml) or an mbox, gzip or not, or - for standard input;\n"
               "  CSV has one row per hop (gzip when OUT ends in .gz)\n");
}

typedef struct {
    mx_format_t fmt;
    FILE *f;
    gzFile gz;
    int failed;
    mx_json_t json;
    mx_tally_t *t;
    unsigned long long messages, hops, smtp_hops, smtp_yes, all_encrypted, cut, dropped;
} out_t;

static void emit(out_t *o, const char *s) {
    if (o->gz ? gzputs(o->gz, s) < 0 : fputs(s, o->f) < 0)
        o->failed = 1;
}

/* Writes out what the JSON builder holds, so that memory stays that of one message whatever
 * the number of messages (the builder keeps no state but its text and the comma flag). */
static void json_flush(out_t *o) {
    if (!o->json.len)
        return;
    if (mx_json_status(&o->json))
        o->failed = 1;
    else
        emit(o, o->json.buf);
    o->json.len = 0;
    o->json.buf[0] = 0;
}

static void csv_field(out_t *o, const char *s, int last) {
    char buf[2 * MX_MAILBOX_HEADER_MAX + 8];
    size_t n = mx_csv_quote(s, buf, sizeof(buf) - 1);
    buf[n++] = last ? '\n' : ',';
    buf[n] = 0;
    emit(o, buf);
}

/* "all", "some", "none" or "unknown" over the message's SMTP hops. */
static const char *verdict(const mx_hop_t *h, int n) {
    int yes = 0, no = 0, unk = 0;
    for (int i = 0; i < n; i++) {
        if (!h[i].smtp)
            continue;
        yes += !strcmp(h[i].encrypted, "yes");
        no += !strcmp(h[i].encrypted, "no");
        unk += !strcmp(h[i].encrypted, "unknown");
    }
    if (yes && !no && !unk)
        return "all";
    if (yes && no)
        return "some";
    if (no && !yes && !unk)
        return "none";
    return "unknown";
}

static void text_value(char *out, size_t cap, const char *s) {
    size_t o = 0;
    for (; *s && o + 1 < cap; s++)
        out[o++] = (unsigned char)*s < 0x20 || *s == 0x7F ? '?' : *s;
    out[o] = 0;
}

static void message(out_t *o, const char *file, const mx_message_t *m) {
    static mx_hop_t hops[MX_MAILBOX_RECEIVED_MAX];
    int n = m->nreceived;
    /* Oldest first: the headers are read bottom-up. */
    for (int i = 0; i < n; i++)
        mx_received_parse(m->received[n - 1 - i], strlen(m->received[n - 1 - i]), &hops[i]);
    const char *v = verdict(hops, n);
    o->messages++;
    o->hops += (unsigned)n;
    o->cut += m->headers_cut;
    o->dropped += m->received_dropped;
    mx_tally_den(o->t, "messages: verdict over the SMTP hops", "all", 1);
    mx_tally_add(o->t, "messages: verdict over the SMTP hops", "all", v, 1);
    o->all_encrypted += !strcmp(v, "all");
    for (int i = 0; i < n; i++) {
        const mx_hop_t *h = &hops[i];
        mx_tally_den(o->t, "hops: protocol", "all", 1);
        mx_tally_add(o->t, "hops: protocol", "all", h->protocol[0] ? h->protocol : "(none)", 1);
        if (h->smtp) {
            o->smtp_hops++;
            o->smtp_yes += !strcmp(h->encrypted, "yes");
            mx_tally_den(o->t, "SMTP hops: encrypted", "all", 1);
            mx_tally_add(o->t, "SMTP hops: encrypted", "all", h->encrypted, 1);
        }
        if (!strcmp(h->encrypted, "yes")) {
            mx_tally_den(o->t, "encrypted hops: TLS version", "all", 1);
            mx_tally_add(o->t, "encrypted hops: TLS version", "all",
                         h->version[0] ? h->version : "not stated", 1);
            mx_tally_den(o->t, "encrypted hops: cipher", "all", 1);
            mx_tally_add(o->t, "encrypted hops: cipher", "all",
                         h->cipher[0] ? h->cipher : "not stated", 1);
        }
    }
    char idx[32], off[32], hopn[16];
    snprintf(idx, sizeof(idx), "%lu", m->index);
    snprintf(off, sizeof(off), "%llu", (unsigned long long)m->offset);
    if (o->fmt == MX_FMT_CSV) {
        for (int i = 0; i < n; i++) {
            const mx_hop_t *h = &hops[i];
            snprintf(hopn, sizeof(hopn), "%d", i + 1);
            const char *f[] = {file,    idx,   off,         m->message_id, m->date,    hopn,
                               h->from, h->by, h->protocol, h->encrypted,  h->version, h->cipher,
                               h->mta,  v};
            for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
                csv_field(o, f[k], k + 1 == sizeof(f) / sizeof(f[0]));
        }
    } else if (o->fmt == MX_FMT_JSON) {
        mx_json_t *j = &o->json;
        mx_json_object(j, NULL);
        mx_json_str(j, "file", file);
        mx_json_int(j, "message", (long long)m->index);
        mx_json_int(j, "offset", (long long)m->offset);
        mx_json_str(j, "message_id", m->message_id);
        mx_json_str(j, "date", m->date);
        mx_json_str(j, "verdict", v);
        mx_json_array(j, "hops");
        for (int i = 0; i < n; i++) {
            const mx_hop_t *h = &hops[i];
            mx_json_object(j, NULL);
            mx_json_str(j, "from", h->from);
            mx_json_str(j, "by", h->by);
            mx_json_str(j, "protocol", h->protocol);
            mx_json_str(j, "encrypted", h->encrypted);
            mx_json_str(j, "tls_version", h->version);
            mx_json_str(j, "tls_cipher", h->cipher);
            mx_json_str(j, "mta", h->mta);
            mx_json_end_object(j);
        }
        mx_json_end_array(j);
        mx_json_end_object(j);
        if (j->len >= 64 * 1024)
            json_flush(o);
    } else {
        char buf[1024], a[300], b[300], id[300];
        text_value(id, sizeof(id), m->message_id);
        snprintf(buf, sizeof(buf), "%s message %lu (byte %llu) %s: %s\n", file, m->index,
                 (unsigned long long)m->offset, id[0] ? id : "(no Message-ID)",
                 !strcmp(v, "all")    ? "every SMTP hop encrypted"
                 : !strcmp(v, "some") ? "some SMTP hops encrypted"
                 : !strcmp(v, "none") ? "no SMTP hop encrypted"
                                      : "unknown");
        emit(o, buf);
        for (int i = 0; i < n; i++) {
            const mx_hop_t *h = &hops[i];
            text_value(a, sizeof(a), h->from);
            text_value(b, sizeof(b), h->by);
            snprintf(buf, sizeof(buf), "  %2d. %s -> %s  %s  encrypted=%s%s%s%s%s%s%s\n", i + 1,
                     a[0] ? a : "?", b[0] ? b : "?", h->protocol[0] ? h->protocol : "?",
                     h->encrypted, h->version[0] ? " " : "", h->version, h->cipher[0] ? " " : "",
                     h->cipher, h->mta[0] ? "  " : "", h->mta);
            emit(o, buf);
        }
    }
}

int mx_cmd_received(int argc, char **argv) {
    static const struct option opts[] = {
        {"format", 1, 0, 'f'}, {"output", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    out_t o;
    const char *out = NULL;
    int c, status = 0;
    memset(&o, 0, sizeof(o));
    o.fmt = MX_FMT_TEXT;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (mx_format_parse(optarg, &o.fmt) < 0 || o.fmt == MX_FMT_MD) {
                fprintf(stderr, "mxtls received: --format is text, csv or json, not '%s'\n",
                        optarg);
                return 1;
            }
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 1;
    }
    size_t ol = out ? strlen(out) : 0;
    if (out && ol > 3 && !strcmp(out + ol - 3, ".gz"))
        o.gz = gzopen(out, "wb");
    else
        o.f = out ? fopen(out, "w") : stdout;
    if (!o.gz && !o.f) {
        fprintf(stderr, "mxtls received: %s: cannot create it\n", out);
        return 2;
    }
    if (!(o.t = mx_tally_new()))
        return 2;
    if (o.fmt == MX_FMT_CSV)
        emit(&o, "file,message,offset,message_id,date,hop,from,by,protocol,encrypted,tls_version,"
                 "tls_cipher,mta,verdict\n");
    if (o.fmt == MX_FMT_JSON) {
        mx_json_init(&o.json);
        mx_json_object(&o.json, NULL);
        mx_json_array(&o.json, "messages");
    }
    for (int i = optind; i < argc; i++) {
        mx_mailbox_t *mb;
        const mx_message_t *m;
        unsigned long read = 0;
        int rc = mx_mailbox_open(&mb, argv[i]);
        if (rc < 0) {
            fprintf(stderr, "mxtls received: %s: %s\n", argv[i], mx_strerror(rc));
            status = 2;
            continue;
        }
        while ((rc = mx_mailbox_next(mb, &m)) != 0) {
            if (rc < 0) {
                fprintf(stderr, "mxtls received: %s: %s; the %lu messages before it are read\n",
                        argv[i], mx_mailbox_error(mb), read);
                status = 2;
                break;
            }
            message(&o, argv[i], m);
            read++;
        }
        mx_mailbox_free(mb);
    }
    if (o.cut || o.dropped)
        fprintf(stderr,
                "mxtls received: %llu headers longer than %d bytes were cut, %llu Received "
                "headers beyond %d per message were left out\n",
                o.cut, MX_MAILBOX_HEADER_MAX, o.dropped, MX_MAILBOX_RECEIVED_MAX);
    mx_tally_row_t *rows = NULL;
    long n = mx_tally_rows(o.t, &rows);
    if (o.fmt == MX_FMT_JSON) {
        mx_json_end_array(&o.json);
        mx_json_array(&o.json, "summary");
        for (long k = 0; k < n; k++) {
            mx_json_object(&o.json, NULL);
            mx_json_str(&o.json, "section", rows[k].section);
            mx_json_str(&o.json, "metric", rows[k].metric);
            mx_json_int(&o.json, "numerator", (long long)rows[k].num);
            mx_json_int(&o.json, "denominator", (long long)rows[k].den);
            mx_json_end_object(&o.json);
        }
        mx_json_end_array(&o.json);
        mx_json_end_object(&o.json);
        json_flush(&o);
        emit(&o, "\n");
        mx_json_free(&o.json);
    } else if (o.fmt == MX_FMT_TEXT && o.messages > 1 && n >= 0) {
        char title[200];
        snprintf(title, sizeof(title),
                 "\nsummary: %llu messages, %llu hops; %.1f %% of SMTP hops and %.1f %% of "
                 "messages encrypted all the way",
                 o.messages, o.hops, o.smtp_hops ? 100.0 * o.smtp_yes / o.smtp_hops : 0.0,
                 100.0 * o.all_encrypted / o.messages);
        mx_report_opts_t ro = {title, NULL, 0, NULL, 0};
        if (o.gz) {
            emit(&o, title);
            emit(&o, "\n");
        } else {
            mx_report_write(o.f, MX_FMT_TEXT, rows, n, &ro);
        }
    }
    free(rows);
    mx_tally_free(o.t);
    if (o.gz ? gzclose(o.gz) != Z_OK : (out ? fclose(o.f) : fflush(o.f)) != 0) {
        fprintf(stderr, "mxtls received: %s: write failed\n", out ? out : "standard output");
        status = 2;
    }
    return o.failed ? 2 : status;
}
