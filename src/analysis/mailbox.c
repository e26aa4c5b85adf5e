/* Messages from a file (mxtls/mailbox.h). zlib's gz functions read gzip and plain files alike.
 * Lines are read into a fixed buffer; a longer line is consumed to its end and counted as cut,
 * so no input can make memory grow. An mbox message starts at a "From " line at the start of
 * the file, after an empty line, or anywhere when it reads as a From_ line (is_separator). */
#include "mxtls/mailbox.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <zlib.h>

#include "mxtls/error.h"

#define LINE_MAX_ 65536

struct mx_mailbox {
    gzFile gz;
    char line[LINE_MAX_];
    size_t len;       /* of the current line */
    int have_line;    /* line holds the next unread line */
    int long_line;    /* the current line was longer than the buffer */
    uint64_t line_at; /* its offset */
    int eof, mbox, started;
    unsigned long index;
    mx_message_t msg;
    char *hdr; /* the header being unfolded */
    size_t hdr_len;
    int hdr_kind; /* 0 other, 1 Received, 2 Message-ID, 3 Date */
    int hdr_cut;  /* the header being unfolded was cut (counted once however it was) */
    char error[256];
};

int mx_mailbox_open(mx_mailbox_t **out, const char *path) {
    mx_mailbox_t *m = calloc(1, sizeof(*m));
    if (!m || !(m->hdr = malloc(MX_MAILBOX_HEADER_MAX + 1))) {
        free(m);
        return MX_E_NOMEM;
    }
    int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !(m->gz = gzdopen(fd, "rb"))) {
        int e = errno ? -errno : MX_E_NOMEM;
        if (fd >= 0)
            close(fd);
        free(m->hdr);
        free(m);
        return e;
    }
    /* 32 KiB keeps zlib's buffers (in, and twice that out) below the allocators' mmap threshold:
     * larger ones read a big archive no faster and make every open map and unmap them. */
    gzbuffer(m->gz, 1 << 15);
    *out = m;
    return 0;
}

/* Reads the next line into m->line (without its line end). Returns 1, 0 at the end, or an
 * error code. */
static int read_line(mx_mailbox_t *m) {
    if (m->have_line) {
        m->have_line = 0;
        return 1;
    }
    if (m->eof)
        return 0;
    m->line_at = (uint64_t)gztell(m->gz);
    m->long_line = 0;
    if (!gzgets(m->gz, m->line, sizeof(m->line))) {
        int err;
        gzerror(m->gz, &err);
        m->eof = 1;
        if (err != Z_OK && err != Z_STREAM_END) {
            snprintf(m->error, sizeof(m->error), "the file is cut short or damaged at byte %llu",
                     (unsigned long long)m->line_at);
            return MX_E_TRUNCATED;
        }
        return 0;
    }
    size_t n = strlen(m->line);
    if (n + 1 < (size_t)gztell(m->gz) - m->line_at + 1) {
        /* A NUL byte: strlen stopped early. Mail is text; this is not a message file. */
        snprintf(m->error, sizeof(m->error), "binary data at byte %llu: not a message or mbox",
                 (unsigned long long)m->line_at);
        m->eof = 1;
        return MX_E_CORRUPT;
    }
    if (n && m->line[n - 1] != '\n' && n == sizeof(m->line) - 1) {
        int c;
        m->long_line = 1;
        while ((c = gzgetc(m->gz)) != -1 && c != '\n')
            ;
    }
    while (n && (m->line[n - 1] == '\n' || m->line[n - 1] == '\r'))
        n--;
    m->line[n] = 0;
    m->len = n;
    return 1;
}

static void reset_msg(mx_mailbox_t *m) {
    for (int i = 0; i < m->msg.nreceived; i++)
        free(m->msg.received[i]);
    memset(&m->msg, 0, sizeof(m->msg));
}

/* The header being unfolded is complete. */
static int end_header(mx_mailbox_t *m) {
    mx_message_t *g = &m->msg;
    m->hdr[m->hdr_len] = 0;
    if (m->hdr_kind == 1) {
        if (g->nreceived == MX_MAILBOX_RECEIVED_MAX) {
            g->received_dropped++;
        } else if (!(g->received[g->nreceived] = strdup(m->hdr))) {
            return MX_E_NOMEM;
        } else {
            g->nreceived++;
        }
    } else if (m->hdr_kind == 2) {
        snprintf(g->message_id, sizeof(g->message_id), "%s", m->hdr);
    } else if (m->hdr_kind == 3) {
        snprintf(g->date, sizeof(g->date), "%s", m->hdr);
    }
    m->hdr_kind = 0;
    m->hdr_len = 0;
    m->hdr_cut = 0;
    return 0;
}

/* Counts the header being unfolded as cut, once. */
static void cut(mx_mailbox_t *m) {
    m->msg.headers_cut += !m->hdr_cut;
    m->hdr_cut = 1;
}

static void append(mx_mailbox_t *m, const char *s, size_t n) {
    if (m->hdr_len + n > MX_MAILBOX_HEADER_MAX) {
        n = MX_MAILBOX_HEADER_MAX - m->hdr_len;
        cut(m);
    }
    memcpy(m->hdr + m->hdr_len, s, n);
    m->hdr_len += n;
}

static int is_from_line(const mx_mailbox_t *m) {
    return m->len >= 5 && memcmp(m->line, "From ", 5) == 0;
}

/* A "From " line that reads as a separator even without an empty line before it (RFC 4155:
 * "From " sender SP timestamp, so a sender and a four-digit year). Writers that do not leave
 * the empty line exist; body lines starting "From " are quoted by mboxrd writers, and prose that
 * is not quoted rarely carries a year in that place. */
static int is_separator(const mx_mailbox_t *m) {
    if (!is_from_line(m) || m->len < 7 || m->line[5] == ' ')
        return 0;
    int digits = 0;
    for (size_t i = 5; i < m->len; i++) {
        digits = isdigit((unsigned char)m->line[i]) ? digits + 1 : 0;
        if (digits == 4 && (i + 1 == m->len || !isdigit((unsigned char)m->line[i + 1])))
            return 1;
    }
    return 0;
}

int mx_mailbox_next(mx_mailbox_t *m, const mx_message_t **out) {
    int rc;
    reset_msg(m);
    /* Find the start: the first line of the file, or an mbox "From " line. */
    if ((rc = read_line(m)) <= 0)
        return rc;
    if (!m->started) {
        m->started = 1;
        m->mbox = is_from_line(m);
    }
    m->msg.offset = m->line_at;
    m->msg.index = ++m->index;
    if (!(m->mbox && is_from_line(m)))
        m->have_line = 1; /* an .eml: this line is its first header */
    /* Headers, unfolded. */
    m->hdr_kind = 0;
    m->hdr_len = 0;
    m->hdr_cut = 0;
    for (;;) {
        if ((rc = read_line(m)) < 0)
            return rc;
        if (rc == 0 || m->len == 0)
            break;
        if (m->line[0] == ' ' || m->line[0] == '\t') {
            if (m->hdr_kind) {
                append(m, " ", 1);
                size_t i = 0;
                while (i < m->len && (m->line[i] == ' ' || m->line[i] == '\t'))
                    i++;
                append(m, m->line + i, m->len - i);
                if (m->long_line)
                    cut(m);
            }
            continue;
        }
        if ((rc = end_header(m)) < 0)
            return rc;
        if (m->mbox && is_from_line(m)) { /* a message without body: the next one starts */
            m->have_line = 1;
            *out = &m->msg;
            return 1;
        }
        const char *colon = memchr(m->line, ':', m->len);
        if (!colon)
            continue; /* not a header: ignored */
        size_t nl = (size_t)(colon - m->line);
        m->hdr_kind = nl == 8 && !strncasecmp(m->line, "Received", 8)       ? 1
                      : nl == 10 && !strncasecmp(m->line, "Message-ID", 10) ? 2
                      : nl == 4 && !strncasecmp(m->line, "Date", 4)         ? 3
                                                                            : 0;
        if (m->hdr_kind) {
            const char *v = colon + 1;
            while (v < m->line + m->len && (*v == ' ' || *v == '\t'))
                v++;
            append(m, v, (size_t)(m->line + m->len - v));
            if (m->long_line)
                cut(m);
        }
    }
    if ((rc = end_header(m)) < 0)
        return rc;
    /* The body: skipped to the next message. */
    int blank = 1;
    while (m->mbox) {
        if ((rc = read_line(m)) < 0)
            return rc;
        if (rc == 0)
            break;
        if ((blank && is_from_line(m)) || is_separator(m)) {
            m->have_line = 1;
            break;
        }
        blank = m->len == 0;
    }
    if (!m->mbox)
        while ((rc = read_line(m)) > 0)
            ;
    if (rc < 0) {
        *out = &m->msg;
        return rc;
    }
    *out = &m->msg;
    return 1;
}

const char *mx_mailbox_error(const mx_mailbox_t *m) {
    return m->error;
}

void mx_mailbox_free(mx_mailbox_t *m) {
    if (!m)
        return;
    reset_msg(m);
    gzclose(m->gz);
    free(m->hdr);
    free(m);
}
