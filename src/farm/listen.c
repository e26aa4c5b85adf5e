/* The farm's listening sockets (listen.h). */
#include "farm/listen.h"

#include <sys/socket.h>

int farm_reuseport(uv_handle_t *h) {
    uv_os_fd_t fd;
    int one = 1;
    if (uv_fileno(h, &fd) < 0)
        return -1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
}

int farm_tcp_listen(uv_loop_t *loop, uv_tcp_t *tcp, const struct sockaddr *addr, int backlog,
                    uv_connection_cb cb) {
    int rc;
    if ((rc = uv_tcp_init_ex(loop, tcp, addr->sa_family)) < 0)
        return rc;
    if (farm_reuseport((uv_handle_t *)tcp) < 0)
        return UV_EINVAL;
    if ((rc = uv_tcp_bind(tcp, addr, 0)) < 0)
        return rc;
    return uv_listen((uv_stream_t *)tcp, backlog, cb);
}
