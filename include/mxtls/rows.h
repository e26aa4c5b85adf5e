/* A domain's rows (shared/SCHEMA.md, Rows) from its DNS answer and, when probing, each host's
 * result: one row per (MX host, address); an MX host without address, or beyond --max-mx, one
 * row; a domain without MX host one row; addresses beyond --max-addrs conn=skipped. Used by
 * mxtls scan and mxtls resolve alike, so both write the same rows. */
#ifndef MXTLS_ROWS_H
#define MXTLS_ROWS_H

#include "mxtls/dns.h"
#include "mxtls/probe.h"
#include "mxtls/record.h"

typedef struct {
    const char *name;
    long rank; /* 0: none */
    unsigned long line;
    const char *status; /* dns_status */
    int nmx;
    const mx_dns_mx_t *mx;
} mx_rows_domain_t;

/* Fills the host columns (conn .. error) of REC for address A of MX I; returns 0 when that
 * address was not probed (excluded), 1 otherwise. */
typedef int (*mx_rows_host_fn)(void *ud, int i, int a, mx_record_t *rec);

/* Receives each row; REC's strings live during the call. */
typedef void (*mx_rows_emit_fn)(void *ud, const mx_record_t *rec);

/* Emits D's rows. With HOST NULL (DNS only), probed addresses get no conn value. */
void mx_rows_domain(const mx_rows_domain_t *d, mx_rows_host_fn host, mx_rows_emit_fn emit,
                    void *ud);

/* Emits the row of an invalid input line: its text, dns_status=invalid, the reason. */
void mx_rows_invalid(const char *text, unsigned long line, const char *reason, mx_rows_emit_fn emit,
                     void *ud);

/* Text buffers for mx_probe_fill(). */
typedef struct {
    char n[16][24];
} mx_probe_text_t;

/* Fills the host columns of REC from RES (strings point into RES and TXT). */
void mx_probe_fill(const mx_probe_result_t *res, mx_record_t *rec, mx_probe_text_t *txt);

#endif
