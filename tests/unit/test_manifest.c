/* The manifest is valid JSON whatever bytes its strings hold, replaces the old file at once,
 * and says what the schema says it says. Validity is judged by Python's json module, an
 * independent parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mxtls/manifest.h"
#include "testutil.h"

static int python_check(const char *path, const char *expr) {
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); sys.exit(0 if (%s) "
             "else 1)' '%s'",
             expr, path);
    return system(cmd);
}

static void test_paths(void **state) {
    (void)state;
    char *p = mx_manifest_path("out/scan.csv.gz");
    assert_string_equal(p, "out/scan.meta.json");
    free(p);
    p = mx_manifest_path("scan.gz");
    assert_string_equal(p, "scan.meta.json");
    free(p);
    p = mx_manifest_path("scan.out");
    assert_string_equal(p, "scan.out.meta.json");
    free(p);
}

static void test_hostile_strings(void **state) {
    (void)state;
    char hostile[512];
    size_t n = 0;
    for (int b = 1; b < 256; b++)
        hostile[n++] = (char)b;
    hostile[n] = 0;
    const char *resolvers[] = {"127.0.0.1:5300", hostile};
    mx_manifest_t m = {0};
    m.command_line = hostile;
    m.input = "list\"with\\quotes\n.txt";
    strcpy(m.input_sha256, "ab12");
    m.shard_index = 2;
    m.shard_count = 4;
    m.resolvers = resolvers;
    m.nresolvers = 2;
    m.ehlo = "scanner.example";
    m.rows = 12345678901ull;
    m.conn[MX_CONN_OK] = 7;
    m.tls[MX_TLS_LEGACY] = 3;
    m.nruns = 2;
    strcpy(m.runs[0].start, "2026-01-01T00:00:00Z");
    strcpy(m.runs[0].end, "2026-01-01T01:00:00Z");
    strcpy(m.runs[0].status, "interrupted");
    strcpy(m.runs[1].start, "2026-01-01T02:00:00Z");
    strcpy(m.runs[1].status, "finished");
    const char *path = tu_path("x.meta.json");
    assert_int_equal(mx_manifest_write(path, &m), 0);
    assert_int_equal(python_check(path, "m[\"schema\"] == \"mxtls/2\" and "
                                        "m[\"shard\"] == \"2/4\" and "
                                        "m[\"counts\"][\"rows\"] == 12345678901 and "
                                        "m[\"counts\"][\"conn\"][\"ok\"] == 7 and "
                                        "m[\"counts\"][\"tls\"][\"legacy\"] == 3 and "
                                        "len(m[\"runs\"]) == 2 and m[\"finished\"] and "
                                        "m[\"runs\"][0][\"status\"] == \"interrupted\" and "
                                        "m[\"input\"][\"file\"].endswith(\"\\n.txt\") and "
                                        "\"zlib\" in m[\"versions\"] and "
                                        "m[\"resolvers\"][1].startswith(\"\\x01\\x02\")"),
                     0);
    /* Rewriting replaces the file whole. */
    m.nruns = 1;
    strcpy(m.runs[0].status, "running");
    assert_int_equal(mx_manifest_write(path, &m), 0);
    assert_int_equal(python_check(path, "m[\"status\"] == \"running\" and not m[\"finished\"]"), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_hostile_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
