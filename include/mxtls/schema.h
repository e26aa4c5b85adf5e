/* The scan record's documentation, generated from the column table (mxtls/record.h) and the
 * descriptions beside it: `mxtls schema` and docs/schema.md. */
#ifndef MXTLS_SCHEMA_H
#define MXTLS_SCHEMA_H

#include <stdio.h>

#include "mxtls/record.h"

/* What a column means, one paragraph of Markdown. */
const char *mx_column_doc(mx_column_t col);

/* The type's name in the documentation (int, text, enum, bool, list, hex, time, token). */
const char *mx_column_type_name(mx_column_type_t type);

/* Writes the schema to OUT as FORMAT: "md" (the whole document), "json" (columns with their
 * types, pandas dtypes and the CSV conventions) or "sql" (CREATE TABLE in DIALECT: "sqlite",
 * "duckdb" or "postgresql"). Returns 0, or -1 for an unknown format or dialect. */
int mx_schema_write(FILE *out, const char *format, const char *dialect);

#endif
