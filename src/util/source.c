/* Byte sources (mxtls/source.h).
 *
 * The first two raw bytes decide the format: 1f 8b is gzip, anything else is passed through.
 * zlib's inflate handles one member at a time; at each member's end the state is reset and
 * reading goes on, so `cat a.gz b.gz` is one stream. Inflate is the only authority on whether
 * a member is complete: raw EOF before Z_STREAM_END means the file was cut. */
#include "mxtls/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <mbedtls/sha256.h>

#include "mxtls/error.h"
#include "mxtls/hex.h"

#define RAW_BUF (64 * 1024)

struct mx_source {
    int fd; /* -1 for a memory source */
    int own_fd;
    mx_source_fn fn; /* a caller's function instead of fd or memory */
    void *fn_ud;
    const unsigned char *mem;
    size_t mem_len, mem_pos;
    int gzip;      /* -1 not known yet, 0 plain, 1 gzip */
    int in_member; /* inside a gzip member (started, not ended) */
    int raw_eof;
    int err;
    z_stream zs;
    int zs_ready;
    unsigned char *raw;
    size_t raw_len, raw_pos;
    unsigned long long raw_total;
    mbedtls_sha256_context sha;
    int no_hash; /* mx_source_skip_hash(): the reader of scan files needs no digest */
};

static int source_new(mx_source_t **out) {
    mx_source_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->raw = malloc(RAW_BUF))) {
        free(s);
        return MX_E_NOMEM;
    }
    s->fd = -1;
    s->gzip = -1;
    mbedtls_sha256_init(&s->sha);
    mbedtls_sha256_starts(&s->sha, 0);
    *out = s;
    return 0;
}

int mx_source_open(mx_source_t **out, const char *path) {
    mx_source_t *s;
    int rc = source_new(&s);
    if (rc)
        return rc;
    if (strcmp(path, "-") == 0) {
        s->fd = STDIN_FILENO;
    } else {
        struct stat st;
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            rc = -errno;
            mx_source_free(s);
            return rc;
        }
        s->own_fd = 1;
        /* A directory opens, and only fails at the first read: refuse it here, plainly. */
        if (fstat(s->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            mx_source_free(s);
            return -EISDIR;
        }
    }
    *out = s;
    return 0;
}

int mx_source_open_fn(mx_source_t **out, mx_source_fn fn, void *ud) {
    mx_source_t *s;
    int rc = source_new(&s);
    if (rc)
        return rc;
    s->fn = fn;
    s->fn_ud = ud;
    *out = s;
    return 0;
}

int mx_source_open_mem(mx_source_t **out, const void *data, size_t len) {
    mx_source_t *s;
    int rc = source_new(&s);
    if (rc)
        return rc;
    s->mem = data;
    s->mem_len = len;
    *out = s;
    return 0;
}

/* Reads raw bytes into DST, hashing them. Returns the count (0 at EOF) or -errno. */
static ssize_t raw_read(mx_source_t *s, unsigned char *dst, size_t cap) {
    ssize_t n;
    if (s->fn) {
        n = s->fn(s->fn_ud, dst, cap);
        if (n < 0)
            return n;
    } else if (s->fd < 0) {
        size_t left = s->mem_len - s->mem_pos;
        n = (ssize_t)(left < cap ? left : cap);
        memcpy(dst, s->mem + s->mem_pos, (size_t)n);
        s->mem_pos += (size_t)n;
    } else {
        do
            n = read(s->fd, dst, cap);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return -errno;
    }
    if (n == 0)
        s->raw_eof = 1;
    s->raw_total += (unsigned long long)n;
    if (!s->no_hash)
        mbedtls_sha256_update(&s->sha, dst, (size_t)n);
    return n;
}

/* Refills the raw buffer once it is used up. Returns 0 (possibly at EOF) or -errno. */
static int fill_raw(mx_source_t *s) {
    ssize_t n;
    if (s->raw_pos < s->raw_len || s->raw_eof)
        return 0;
    n = raw_read(s, s->raw, RAW_BUF);
    if (n < 0)
        return (int)n;
    s->raw_len = (size_t)n;
    s->raw_pos = 0;
    return 0;
}

static int detect(mx_source_t *s) {
    /* Two bytes decide; a one-byte first read (a pipe) must not decide "plain". */
    while (s->raw_len < 2 && !s->raw_eof) {
        ssize_t n = raw_read(s, s->raw + s->raw_len, RAW_BUF - s->raw_len);
        if (n < 0)
            return (int)n;
        s->raw_len += (size_t)n;
    }
    s->gzip = s->raw_len >= 2 && s->raw[0] == 0x1f && s->raw[1] == 0x8b;
    if (s->gzip) {
        /* 15 + 16: gzip wrapper only, largest window. */
        if (inflateInit2(&s->zs, 15 + 16) != Z_OK)
            return MX_E_NOMEM;
        s->zs_ready = 1;
    }
    return 0;
}

static ssize_t read_plain(mx_source_t *s, unsigned char *buf, size_t cap) {
    int rc = fill_raw(s);
    size_t n;
    if (rc)
        return rc;
    n = s->raw_len - s->raw_pos;
    if (n > cap)
        n = cap;
    memcpy(buf, s->raw + s->raw_pos, n);
    s->raw_pos += n;
    return (ssize_t)n;
}

static ssize_t read_gzip(mx_source_t *s, unsigned char *buf, size_t cap) {
    for (;;) {
        int rc = fill_raw(s);
        if (rc)
            return rc;
        if (s->raw_pos == s->raw_len && s->raw_eof)
            return s->in_member ? MX_E_TRUNCATED : 0;
        if (!s->in_member) {
            /* Between members: zero padding after the last one is tolerated (as gzip -d does). */
            if (s->raw[s->raw_pos] != 0x1f) {
                while (s->raw_pos < s->raw_len && s->raw[s->raw_pos] == 0)
                    s->raw_pos++;
                if (s->raw_pos < s->raw_len)
                    return MX_E_CORRUPT;
                continue;
            }
            s->in_member = 1;
        }
        s->zs.next_in = s->raw + s->raw_pos;
        s->zs.avail_in = (uInt)(s->raw_len - s->raw_pos);
        s->zs.next_out = buf;
        s->zs.avail_out = (uInt)(cap > (1u << 30) ? (1u << 30) : cap);
        int zr = inflate(&s->zs, Z_NO_FLUSH);
        size_t produced = (size_t)(s->zs.next_out - buf);
        s->raw_pos = (size_t)(s->zs.next_in - s->raw);
        if (zr == Z_STREAM_END) {
            s->in_member = 0;
            inflateReset(&s->zs);
        } else if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_STREAM_ERROR) {
            if (produced)
                return (ssize_t)produced; /* hand out what came before the damage first */
            return MX_E_CORRUPT;
        } else if (zr == Z_MEM_ERROR) {
            return MX_E_NOMEM;
        }
        if (produced)
            return (ssize_t)produced;
    }
}

ssize_t mx_source_read(mx_source_t *s, void *buf, size_t cap) {
    ssize_t n;
    if (s->err)
        return s->err;
    if (cap == 0)
        return 0;
    if (s->gzip < 0) {
        int rc = detect(s);
        if (rc) {
            s->err = rc;
            return rc;
        }
    }
    n = s->gzip ? read_gzip(s, buf, cap) : read_plain(s, buf, cap);
    if (n < 0)
        s->err = (int)n;
    return n;
}

int mx_source_is_gzip(const mx_source_t *s) {
    return s->gzip == 1;
}

void mx_source_skip_hash(mx_source_t *s) {
    s->no_hash = 1;
}

unsigned long long mx_source_raw_bytes(const mx_source_t *s, char hex[65]) {
    if (hex && s->no_hash) {
        hex[0] = 0;
    } else if (hex) {
        mbedtls_sha256_context copy;
        unsigned char digest[32];
        mbedtls_sha256_init(&copy);
        mbedtls_sha256_clone(&copy, &s->sha);
        mbedtls_sha256_finish(&copy, digest);
        mbedtls_sha256_free(&copy);
        mx_hex(digest, 32, hex);
    }
    return s->raw_total;
}

void mx_source_free(mx_source_t *s) {
    if (!s)
        return;
    if (s->own_fd)
        close(s->fd);
    if (s->zs_ready)
        inflateEnd(&s->zs);
    mbedtls_sha256_free(&s->sha);
    free(s->raw);
    free(s);
}

int mx_sha256_file(const char *path, char hex[65]) {
    mx_source_t *s;
    int rc = mx_source_open(&s, path);
    if (rc)
        return rc;
    s->gzip = 0; /* hash the raw bytes, never decompress */
    for (;;) {
        rc = fill_raw(s);
        if (rc || s->raw_eof)
            break;
        s->raw_pos = s->raw_len;
    }
    if (!rc)
        mx_source_raw_bytes(s, hex);
    mx_source_free(s);
    return rc;
}

int mx_source_check_file(const char *path, char hex[65], unsigned long long *lines) {
    mx_source_t *s;
    ssize_t n;
    unsigned long long nl = 0;
    int last = '\n';
    int rc = mx_source_open(&s, path);
    if (rc)
        return rc;
    unsigned char *sink = malloc(RAW_BUF);
    if (!sink) {
        mx_source_free(s);
        return MX_E_NOMEM;
    }
    while ((n = mx_source_read(s, sink, RAW_BUF)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            nl += sink[i] == '\n';
        last = sink[n - 1];
    }
    free(sink);
    rc = (int)n;
    if (!rc)
        mx_source_raw_bytes(s, hex);
    if (lines)
        *lines = nl + (last != '\n'); /* a last line without its newline counts */
    mx_source_free(s);
    return rc;
}
