/* The one row builder (shared/SCHEMA.md, Rows): a domain's rows from its DNS answer and, when
 * probing, each host's result; one row per (MX host, address); an MX host without address, or
 * beyond --max-mx, one row; a domain without MX host one row; addresses beyond --max-addrs
 * conn=skipped; addresses outside --allow conn=excluded. mxtls scan, probe and resolve all
 * write through here, so all three write the same rows.
 *
 * A probed host's result is kept until the end of a scan (a late domain may name any host) in
 * a compact form: numbers as numbers, outcomes as enums, texts interned (mxtls/intern.h). Rows
 * are made from it when they are written, and each row's outcome goes to the caller as enums,
 * for the manifest's counts. */
#ifndef MXTLS_ROWS_H
#define MXTLS_ROWS_H

#include <stdint.h>

#include "mxtls/dns.h"
#include "mxtls/intern.h"
#include "mxtls/probe.h"
#include "mxtls/record.h"
#include "mxtls/sts.h"

#define MX_HOST_TEXTS 19 /* the text columns of a probed host */

typedef struct {
    int8_t conn, tls, starttls, name_match; /* -1: no value */
    int8_t local_overload; /* error=local_overload: the scanner, not the server, failed it */
    int8_t dane;           /* the probe's DANE verdict: 1 match, 0 mismatch, -1 not judged */
    int16_t banner_code, ehlo_code, starttls_code, chain_len; /* 0 (codes), -1: no value */
    int32_t t_connect_ms, t_banner_ms, t_tls_ms, t_total_ms;  /* -1: no value */
    int64_t size_limit;
    uint32_t text[MX_HOST_TEXTS]; /* interned */
} mx_host_result_t;

/* Keeps RES in OUT, its texts interned in STRINGS. Returns 0, or -1 when memory is out. */
int mx_host_result_make(mx_host_result_t *out, const mx_probe_result_t *res, mx_intern_t *strings);

/* A row's outcome: its conn and tls values (mx_conn_t, mx_tls_t), -1 where it has none, and
 * whether the scanner, not the server, is why it is incomplete. */
typedef struct {
    int conn, tls, local_overload;
} mx_row_outcome_t;

/* Receives each row; REC's strings live during the call. */
typedef void (*mx_rows_emit_fn)(void *ud, const mx_record_t *rec, mx_row_outcome_t outcome);

/* The result of address A of MX I, or NULL when that address may not be probed (excluded). */
typedef const mx_host_result_t *(*mx_rows_host_fn)(void *ud, int i, int a);

typedef struct {
    const char *name;
    long rank; /* 0: none */
    unsigned long line;
    const mx_dns_answer_t *ans;
    mx_rows_host_fn host;       /* NULL: DNS only, probed addresses get no conn value */
    const mx_intern_t *strings; /* of the host results */
    const char *at;             /* when the DNS answer came: scanned_at of rows with no probe */
    int dnssec;                 /* the resolver validates: its AD bit is believed */
    const char *sts_status;     /* the MTA-STS policy fetch: sts_policy; NULL: none */
    const mx_sts_policy_t *sts; /* the policy read, when STS_STATUS is ok */
} mx_rows_domain_t;

/* Reads ANS's MTA-STS TXT records into OUT; 0 when they were not asked or not answered. */
int mx_rows_sts_record(const mx_dns_answer_t *ans, mx_sts_txt_t *out);

/* Emits D's rows. */
void mx_rows_domain(const mx_rows_domain_t *d, mx_rows_emit_fn emit, void *ud);

/* Emits the row of an invalid input line: its text, dns_status=invalid, the reason, and AT (when
 * it was read) as scanned_at. */
void mx_rows_invalid(const char *text, unsigned long line, const char *reason, const char *at,
                     mx_rows_emit_fn emit, void *ud);

/* Emits the one row of a host probed on its own (mxtls probe): MX_HOST, IP and its result. */
void mx_rows_host(const char *mx_host, const char *ip, const mx_host_result_t *res,
                  const mx_intern_t *strings, mx_rows_emit_fn emit, void *ud);

#endif
