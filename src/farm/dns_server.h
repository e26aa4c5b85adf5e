/* The farm's DNS server (UDP and TCP on one address), answering from the population. */
#ifndef MXTLS_FARM_DNS_SERVER_H
#define MXTLS_FARM_DNS_SERVER_H

#include <uv.h>

#include "farm/certs.h"
#include "farm/farm.h"

typedef struct {
    uv_udp_t udp;
    uv_tcp_t tcp;
    const farm_t *farm;
    const farm_certs_t *certs; /* the keys TLSA records name */
    unsigned long long queries;
    unsigned char rbuf[4096];
} farm_dns_t;

/* Binds UDP and TCP on ADDR (SO_REUSEPORT, so several processes can share it) and serves.
 * Returns 0 or a libuv error. */
int farm_dns_start(farm_dns_t *d, uv_loop_t *loop, const farm_t *farm, const farm_certs_t *certs,
                   const struct sockaddr *addr);

/* Closes both handles. */
void farm_dns_stop(farm_dns_t *d);

/* The answer to one query (a pure function, for tests): its length in OUT (CAP >= 4096), or 0
 * when the query is malformed or the name is drawn to time out. UDP answers over the client's
 * size limit come back truncated with TC set. */
size_t farm_dns_answer(const farm_t *farm, const farm_certs_t *certs, const unsigned char *query,
                       size_t len, unsigned char *out, size_t cap, int udp);

#endif
