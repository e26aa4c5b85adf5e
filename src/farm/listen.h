/* The farm's listening sockets: every server binds with SO_REUSEPORT, so that the serving
 * processes of --procs share one address and the kernel spreads connections among them. */
#ifndef MXTLS_FARM_LISTEN_H
#define MXTLS_FARM_LISTEN_H

#include <uv.h>

/* Sets SO_REUSEPORT on H's socket. Returns 0, or -1. */
int farm_reuseport(uv_handle_t *h);

/* Initialises TCP on LOOP, binds it to ADDR (SO_REUSEPORT) and listens with BACKLOG, CB
 * accepting. Returns 0 or a libuv error. */
int farm_tcp_listen(uv_loop_t *loop, uv_tcp_t *tcp, const struct sockaddr *addr, int backlog,
                    uv_connection_cb cb);

#endif
