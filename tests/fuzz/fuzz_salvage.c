/* Fuzz target: salvaging a killed scan (--resume) from arbitrary bytes: what is copied reads
 * back as whole groups, as many rows as salvage says, never more than the file held. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memfile.h"
#include "mxtls/reader.h"
#include "mxtls/salvage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *ud, const mx_record_t *row, size_t index) {
    (void)row;
    *(uint64_t *)ud += index == 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char in[64], out[64], err[256];
    int fd = memfile(data, size, in), ofd = memfile(NULL, 0, out);
    mx_writer_t *w;
    mx_salvage_result_t res;
    uint64_t groups = 0;
    if (fd < 0 || ofd < 0 || mx_writer_open(&w, out) < 0)
        goto done;
    int rc = mx_salvage(in, w, count, &groups, &res, err, sizeof(err));
    mx_writer_close(w);
    if (rc == 0) {
        mx_reader_t *r;
        mx_record_t rec;
        const char *p = out;
        uint64_t rows = 0;
        if (groups != res.groups || mx_reader_open(&r, &p, 1, 0) < 0)
            __builtin_trap();
        while (mx_reader_next(r, &rec) == 1)
            rows++;
        mx_reader_free(r);
        if (rows != res.rows)
            __builtin_trap();
    }
done:
    if (fd >= 0)
        close(fd);
    if (ofd >= 0)
        close(ofd);
    return 0;
}
