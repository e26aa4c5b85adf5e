/* mxtls schema [--format md|json|sql] [--dialect sqlite|duckdb|postgresql]: the scan record's
 * documentation, generated from the column table (docs/schema.md is the Markdown). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "mxtls/schema.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mxtls schema [--format md|json|sql] [--dialect sqlite|duckdb|postgresql]\n"
               "  md (default): the schema document (docs/schema.md)\n"
               "  json: each column's type, pandas dtype and SQL types, and the CSV conventions\n"
               "  sql: CREATE TABLE scan for the --dialect (default sqlite)\n");
}

int mx_cmd_schema(int argc, char **argv) {
    static const struct option opts[] = {
        {"format", 1, 0, 'f'}, {"dialect", 1, 0, 'd'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *format = "md", *dialect = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'f') {
            format = optarg;
        } else if (c == 'd') {
            dialect = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 1;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 1;
    }
    if (mx_schema_write(stdout, format, dialect) < 0) {
        fprintf(stderr, "mxtls schema: unknown --format %s or --dialect %s (see --help)\n", format,
                dialect ? dialect : "sqlite");
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 2;
}
