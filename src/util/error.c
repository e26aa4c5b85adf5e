/* Names and texts of the error codes in mxtls/error.h. */
#include "mxtls/error.h"

#include <errno.h>
#include <string.h>

static const char *const texts[] = {
#define X(name, text) text,
    MX_ERRNO_MAP(X)
#undef X
};

static const char *const names[] = {
#define X(name, text) "MX_E_" #name,
    MX_ERRNO_MAP(X)
#undef X
};

static int project_index(int err) {
    int idx = MX__ERR_BASE - 1 - err;
    return idx >= 0 && idx < MX__ERR_COUNT ? idx : -1;
}

const char *mx_strerror(int err) {
    int idx = project_index(err);
    if (idx >= 0)
        return texts[idx];
    if (err < 0 && err > MX__ERR_BASE)
        return strerror(-err);
    return "unknown error";
}

int mx_err_local_shortage(int err) {
    return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM ||
           err == -EADDRNOTAVAIL || err == -EAGAIN || err == MX_E_NOMEM;
}

const char *mx_err_name(int err) {
    int idx = project_index(err);
    if (idx >= 0)
        return names[idx];
    if (err < 0 && err > MX__ERR_BASE) {
        const char *n = strerrorname_np(-err);
        return n ? n : "E?";
    }
    return "unknown";
}
