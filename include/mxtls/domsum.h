/* A domain's summary from its rows (mxtls stats, mxtls diff): what its MX hosts offer, as the
 * definitions in mxtls/stats.h have it. Rows are fed in file order; a summary is complete when
 * the next domain begins or the input ends. */
#ifndef MXTLS_DOMSUM_H
#define MXTLS_DOMSUM_H

#include "mxtls/hashset.h"
#include "mxtls/record.h"

typedef struct {
    char name[300];
    char status[16];                     /* dns_status */
    long rank;                           /* 0: none */
    int mail;                            /* dns_status mx or implicit */
    int known, offer, no_offer, unknown; /* host rows */
    int overload;                        /* host rows error=local_overload (of unknown) */
    int best;       /* 0 none, 1 legacy, 2 TLS 1.2, 3 TLS 1.3 (over known hosts) */
    int strict_all; /* every known host completes TLS, verifies and matches */
    int valid_all;  /* every known host completes TLS and verifies */
    long min_pref;
    int prim_known, prim_tls_all;
    char prim_host[256];
    /* The first primary host's certificate. */
    char cert[65], cert_cn[257], cert_key[32], cert_issuer[512];
    char mx_set[1024]; /* the MX hosts, sorted, '|'-separated (cut at the cap) */
    /* The policy columns (--policy; "" in files made without it). */
    char sts_record[12], sts_policy[24], sts_mode[8], rpt_record[12], mx_dnssec[10];
    int sts_hosts, sts_match; /* MX hosts (rows) judged against the policy; of which matching */
    int sts_deliver;          /* a matching host completes TLS, verifies and matches its name */
    int sts_failing;          /* matching host rows that do not */
    int dane[5];              /* host rows by dane: none, insecure, unusable, match, mismatch */
} mx_domsum_t;

/* Called with each completed summary. */
typedef void (*mx_domsum_fn)(void *ud, const mx_domsum_t *d);

typedef struct {
    mx_domsum_t d;
    int active;
    mx_domsum_fn fn;
    void *ud;
    mx_hashset_t seen;  /* the domains begun so far, by hash */
    char repeated[300]; /* the first domain whose rows came in two places, "" when none */
    int nomem;
} mx_domsum_acc_t;

/* Starts an accumulator that hands each completed domain to FN. */
void mx_domsum_init(mx_domsum_acc_t *a, mx_domsum_fn fn, void *ud);

/* Adds one row (FN runs first when ROW begins another domain). */
void mx_domsum_row(mx_domsum_acc_t *a, const mx_record_t *row);

/* Completes the last domain. */
void mx_domsum_end(mx_domsum_acc_t *a);

/* Frees what the accumulator holds. */
void mx_domsum_close(mx_domsum_acc_t *a);

/* A domain's rows must be together: the first domain that began twice (its rows would be
 * counted as two domains), or NULL. Invalid-line rows, named by their text, are not domains. */
const char *mx_domsum_repeated(const mx_domsum_acc_t *a);

/* "every", "some", "none" (STARTTLS on the known hosts), "unknown" (no host known) or "n/a"
 * (not a mail domain). */
const char *mx_domsum_starttls(const mx_domsum_t *d);

/* "TLSv1.3", "TLSv1.2", "legacy", "none"; "unknown" or "n/a" as above. */
const char *mx_domsum_best(const mx_domsum_t *d);

/* What a strict sender finds of the domain's MTA-STS: "enforce", "testing", "none" (the
 * policy's mode), "policy not read" (a valid record, no policy: sts_policy says why),
 * "invalid record", "no record"; NULL when not measured (no --policy, or the lookup failed). */
const char *mx_domsum_sts(const mx_domsum_t *d);

/* DANE over the domain's MX hosts: "no TLSA", "not validated", "unusable", "mismatch" (on some
 * MX), "match" (on every MX with usable records); NULL when not measured. */
const char *mx_domsum_dane(const mx_domsum_t *d);

#endif
