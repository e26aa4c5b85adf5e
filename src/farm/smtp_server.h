/* The farm's SMTP servers: one listening socket answers for every farm address, each
 * connection behaving as the population says the server at its destination address does. */
#ifndef MXTLS_FARM_SMTP_SERVER_H
#define MXTLS_FARM_SMTP_SERVER_H

#include <stdio.h>
#include <uv.h>

#include "farm/certs.h"
#include "farm/farm.h"

typedef struct {
    double fixed_ms;  /* every greeting and reply delayed by this much, or */
    double median_ms; /* lognormal with this median and sigma (median 0: off) */
    double sigma;
} farm_latency_t;

typedef struct {
    uv_tcp_t listener;
    uv_loop_t *loop;
    const farm_t *farm;
    farm_certs_t *certs;
    farm_latency_t latency;
    FILE *accept_log; /* "O|C <ms> <turn> <local ip>" per connection open and close, or NULL */
    uv_check_t turns; /* counts the loop's turns, for the accept log */
    unsigned long long turn;
    unsigned long long accepted, handshakes, open, max_open;
    uint64_t rng;
} farm_smtp_t;

/* Listens on ADDR (SO_REUSEPORT) and serves. Returns 0 or a libuv error. */
int farm_smtp_start(farm_smtp_t *s, uv_loop_t *loop, const farm_t *farm, farm_certs_t *certs,
                    const struct sockaddr *addr);

/* Stops accepting (connections in flight are closed with the loop). */
void farm_smtp_stop(farm_smtp_t *s);

/* The EHLO keywords host H advertises, in its order, '|'-separated (before or after TLS). */
void farm_ehlo_keywords(const farm_host_t *h, int after_tls, char *out, size_t cap);

#endif
