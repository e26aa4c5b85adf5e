/* The farm's MTA-STS policy hosts: one listening socket answers HTTPS for every policy host
 * address (mta-sts.DOMAIN of each domain drawn to publish MTA-STS), each serving what the
 * domain's model says: its policy, or one way of failing (a certificate expired or for
 * another name, 404, a redirect, 100 KiB, a policy without its version line). */
#ifndef MXTLS_FARM_HTTPS_SERVER_H
#define MXTLS_FARM_HTTPS_SERVER_H

#include <uv.h>

#include "farm/certs.h"
#include "farm/farm.h"

typedef struct {
    uv_tcp_t listener;
    uv_loop_t *loop;
    const farm_t *farm;
    farm_certs_t *certs;
    unsigned long long accepted;
} farm_https_t;

/* Listens on ADDR (SO_REUSEPORT) and serves. Returns 0 or a libuv error. */
int farm_https_start(farm_https_t *s, uv_loop_t *loop, const farm_t *farm, farm_certs_t *certs,
                     const struct sockaddr *addr);

/* Stops accepting. */
void farm_https_stop(farm_https_t *s);

#endif
