/* The MTA-STS policy fetch (RFC 8461 section 3.3): HTTPS GET of
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt over a libuv connection and the project's TLS
 * client, with SNI and the certificate verified against the CA bundle and the policy host's
 * name before the request is sent; HTTP/1.1, no redirect followed, a 64 KiB cap, the probe's
 * timeouts. The policy is then parsed strictly (mxtls/sts.h). */
#ifndef MXTLS_STS_FETCH_H
#define MXTLS_STS_FETCH_H

#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "mxtls/sts.h"
#include "mxtls/tls.h"

#define MX_STS_POLICY_MAX 65536 /* bytes of policy body read (RFC 8461 section 3.3 advises it) */

/* The fetches in flight on one loop, so that a scan stopped before they end can close them. */
typedef struct {
    void *head;
} mx_sts_fetch_set_t;

typedef struct {
    uint64_t timeout_connect_ms, timeout_read_ms, deadline_ms;
    uint16_t port;           /* 443; a test bed may serve its policy hosts elsewhere */
    mx_tls_config_t *tls;    /* the loop's TLS configuration */
    mx_sts_fetch_set_t *set; /* where the fetches in flight are kept; NULL: nowhere */
} mx_sts_fetch_config_t;

/* What a fetch found. STATUS is "ok" or the first fault, each its own token:
 * connect_refused, connect_timeout, connect_error (the connection), tls (the handshake
 * failed), cert_invalid (the chain does not verify), cert_name (it is not for the policy
 * host), timeout (no complete answer in time), http_syntax, http_truncated, http_too_large,
 * http_redirect (3xx: not followed), http_status (another non-200), content_type (not
 * text/plain), then the policy parser's (policy_syntax, policy_version ...); local_overload
 * when the scanner had no local port or memory for it. */
typedef struct {
    const char *status;
    int http_code;       /* 0 when no response came */
    mx_sts_policy_t pol; /* parsed when the body was read */
    int64_t t_total_ms;
} mx_sts_fetch_result_t;

/* Called once, from the loop, with the result (valid during the call only). */
typedef void (*mx_sts_fetch_cb)(void *ud, const mx_sts_fetch_result_t *res);

/* Fetches DOMAIN's policy from ADDR (its port replaced by CFG's) on LOOP. CFG must outlive the
 * fetch. Returns 0, or a negative libuv/project code (a local shortage: CB is never called). */
int mx_sts_fetch_start(uv_loop_t *loop, const mx_sts_fetch_config_t *cfg, const char *domain,
                       const struct sockaddr *addr, mx_sts_fetch_cb cb, void *ud);

/* Ends every fetch of SET without a result; FORGET (when not NULL) gets the UD each was
 * started with, for its owner to free. */
void mx_sts_fetch_abort_all(mx_sts_fetch_set_t *set, void (*forget)(void *ud));

#endif
