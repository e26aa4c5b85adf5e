/* mxtls check SCAN...: reads a snapshot (one or more shard files) back with the project's own
 * reader and reports what is in it and whether it is damaged: rows, domain groups, files cut
 * short, and domains whose rows are not contiguous or appear twice (which a correct scan never
 * produces). Exit 0 when clean, 2 when anything is damaged or unreadable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "mxtls/error.h"
#include "mxtls/hash.h"
#include "mxtls/hashset.h"
#include "mxtls/reader.h"
#include "mxtls/snapshot.h"

int mx_cmd_check(int argc, char **argv) {
    mx_reader_t *r;
    mx_record_t rec;
    mx_hashset_t seen = {0};
    uint64_t rows = 0, groups = 0, repeated = 0;
    int damaged = 0, rc;
    char last[MX_FIELD_MAX + 1] = ""; /* a domain field is at most this long */

    int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    int force = argc >= 2 && strcmp(argv[1], "--force") == 0;
    argc -= force, argv += force;
    if (argc < 2 || help) {
        fprintf(help ? stdout : stderr, "usage: mxtls check [--force] SCAN.csv.gz...\n");
        return help ? 0 : 1;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "mxtls check: unknown option %s (see --help)\n", argv[i]);
            return 1;
        }
    if (!force && mx_snapshot_check("check", argv + 1, argc - 1) < 0)
        damaged = 1; /* said why; the files are still read back */
    if (mx_reader_open(&r, (const char *const *)argv + 1, argc - 1, 1ull << MX_COL_DOMAIN)) {
        fprintf(stderr, "mxtls check: out of memory\n");
        return 2;
    }
    for (;;) {
        rc = mx_reader_next(r, &rec);
        if (rc == 0)
            break;
        if (rc < 0) {
            fprintf(stderr, "mxtls check: %s\n", mx_reader_error(r));
            damaged = 1;
            if (rc == MX_E_TRUNCATED)
                continue; /* the rows before the cut were counted; go on with the next file */
            break;
        }
        rows++;
        const char *d = mx_record_get(&rec, MX_COL_DOMAIN);
        if (strcmp(d, last) == 0)
            continue;
        snprintf(last, sizeof(last), "%s", d);
        groups++;
        int added = mx_hashset_add(&seen, mx_hash_mix(mx_hash(d)));
        if (added < 0) {
            fprintf(stderr, "mxtls check: out of memory\n");
            damaged = 1;
            break;
        }
        if (!added) {
            if (repeated < 10)
                fprintf(stderr, "mxtls check: %s row %llu: domain %s appears in two groups\n",
                        mx_reader_file(r), (unsigned long long)mx_reader_row_number(r), d);
            repeated++;
            damaged = 1;
        }
    }
    printf("files %d\nrows %llu\ndomains %llu\nrepeated_domains %llu\nstatus %s\n", argc - 1,
           (unsigned long long)rows, (unsigned long long)groups, (unsigned long long)repeated,
           damaged ? "damaged" : "ok");
    mx_hashset_close(&seen);
    mx_reader_free(r);
    return damaged ? 2 : 0;
}
