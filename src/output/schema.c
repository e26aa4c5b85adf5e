/* The schema documentation (mxtls/schema.h): one description per column, next to the column
 * table, and the three renderings of them. docs/schema.md is this module's Markdown output,
 * checked in and compared with it by tests/e2e/schema_command.py. */
#include "mxtls/schema.h"

#include <string.h>

#include "mxtls/json.h"

static const char *const docs[MX_COL__COUNT] = {
    [MX_COL_RANK] = "rank from the input list; empty for plain lists",
    [MX_COL_DOMAIN] = "lowercase A-label, no trailing dot; for an invalid input line, the line "
                      "sanitised",
    [MX_COL_DNS_STATUS] = "`mx` MX records found; `implicit` no MX, RFC 5321's fallback to the "
                          "domain's own address; `null_mx` RFC 7505 \"0 .\"; `nxdomain`; "
                          "`nodata` no MX and no address; `servfail`; `refused`; `timeout`; "
                          "`invalid` the input line is not a domain name",
    [MX_COL_MX_DNSSEC] = "with `--policy`: whether the answer that decided `dns_status` was "
                         "validated: `secure` (the AD bit of a `--dnssec-resolver`), `insecure`, "
                         "`unknown` (no resolver was named as validating: its AD bit is not "
                         "believed); empty for `servfail` and `timeout`",
    [MX_COL_STS_RECORD] = "with `--policy`: the MTA-STS TXT record at `_mta-sts.DOMAIN` (RFC "
                          "8461 3.1): `ok`, `none` (no record beginning `v=STSv1`), `multiple`, "
                          "`invalid` (it breaks the grammar), or the lookup's failure: "
                          "`servfail`, `refused`, `timeout`",
    [MX_COL_STS_ID] = "the `id` of a valid MTA-STS record",
    [MX_COL_STS_POLICY] =
        "with `--policy`, for a domain with a valid MTA-STS record: the policy fetched from "
        "`https://mta-sts.DOMAIN/.well-known/mta-sts.txt` (RFC 8461 3.3): `ok`, or the first "
        "fault: `dns_nxdomain`, `dns_nodata`, `dns_servfail`, `dns_refused`, `dns_timeout` (the "
        "policy host's address), `excluded` (outside `--allow`: no packet), `connect_refused`, "
        "`connect_timeout`, `connect_error`, `tls` (the handshake failed), `cert_invalid` (the "
        "chain does not verify against the CA bundle), `cert_name` (not for the policy host), "
        "`timeout`, `http_syntax`, `http_truncated`, `http_too_large` (over 64 KiB), "
        "`http_redirect` (not followed), `http_status` (not 200), `content_type` (not "
        "text/plain), `policy_syntax`, `policy_version`, `policy_mode`, `policy_max_age`, "
        "`policy_mx`, `local_overload`",
    [MX_COL_STS_MODE] = "the policy's mode: `enforce`, `testing`, `none`",
    [MX_COL_STS_MAX_AGE] = "the policy's max_age in seconds",
    [MX_COL_STS_MX] = "the policy's mx patterns, lowercase",
    [MX_COL_TLSRPT_RECORD] = "with `--policy`: the TLS-RPT TXT record at `_smtp._tls.DOMAIN` "
                             "(RFC 8460 3), as `sts_record`",
    [MX_COL_TLSRPT_RUA] = "the first reporting URI (`mailto:` or `https:`) of a valid TLS-RPT "
                          "record",
    [MX_COL_MX_PREF] = "MX preference (0 for implicit)",
    [MX_COL_MX_HOST] = "MX target, lowercase, no trailing dot (the domain itself for implicit)",
    [MX_COL_MX_STATUS] = "address lookup of `mx_host`: `ok`, `nxdomain`, `nodata`, `servfail`, "
                         "`refused`, `timeout`, `ip_literal` (an address as MX target, which RFC "
                         "5321 forbids; still probed), `skipped` (beyond `--max-mx`)",
    [MX_COL_TLSA] = "with `--policy`: TLSA records at `_25._tcp.MX_HOST` (RFC 7672): "
                    "`present`, `none`, or the lookup's failure: `servfail`, `refused`, "
                    "`timeout`",
    [MX_COL_TLSA_DNSSEC] = "whether the TLSA answer was validated, as `mx_dnssec`",
    [MX_COL_DANE] = "with `--policy`: the host as a DANE sender (RFC 7672) judges it: `none` (no "
                    "TLSA records), `insecure` (records the `--dnssec-resolver` did not "
                    "validate: a sender ignores them), `unusable` (none is DANE-TA or DANE-EE "
                    "with a known selector and matching type), `match` (a usable record matches "
                    "the chain the server presented), `mismatch` (none matches, or the server "
                    "gave no TLS: not offered, refused, failed); empty when the TLSA lookup "
                    "failed or the probe could not tell (timeout, legacy TLS). Without a "
                    "`--dnssec-resolver` records are judged as if validated",
    [MX_COL_STS_MATCH] = "whether `mx_host` matches a pattern of the domain's MTA-STS policy "
                         "(RFC 8461 4.1), when one was read",
    [MX_COL_IP] = "IPv4 dotted quad or IPv6 (RFC 5952)",
    [MX_COL_CONN] = "`ok`, `timeout`, `refused`, `unreachable`, `reset`, `excluded` (outside "
                    "`--allow`, inside `--exclude` or a reserved range: no packet was sent), "
                    "`skipped` (beyond `--max-addrs`), `error`",
    [MX_COL_BANNER_CODE] = "reply code of the greeting (220, 421, 554 ...)",
    [MX_COL_BANNER] = "greeting text after the code (first line), sanitised",
    [MX_COL_EHLO_CODE] = "reply code to EHLO",
    [MX_COL_EHLO_CAPS] = "extension keywords of the EHLO reply, uppercase, in the server's "
                         "order, parameters dropped (`PIPELINING|SIZE|STARTTLS|8BITMIME`)",
    [MX_COL_SIZE_LIMIT] = "value of the SIZE extension, when given",
    [MX_COL_STARTTLS] = "STARTTLS advertised",
    [MX_COL_STARTTLS_CODE] = "reply code to the STARTTLS command, when sent",
    [MX_COL_TLS] = "`ok` handshake completed (TLS 1.2/1.3); `legacy` the server speaks only an "
                   "older protocol or cipher set, seen by a raw ClientHello; `not_offered`; "
                   "`rejected` STARTTLS reply not 220; `failed`; `timeout`; `closed` the peer "
                   "closed during TLS",
    [MX_COL_TLS_VERSION] = "`TLSv1.3`, `TLSv1.2`, `TLSv1.1`, `TLSv1.0`, `SSLv3`",
    [MX_COL_TLS_CIPHER] = "IANA cipher suite name (`TLS_AES_256_GCM_SHA384`)",
    [MX_COL_TLS_GROUP] = "key exchange: `x25519`, `secp256r1`, `secp384r1`, `x448`, "
                         "`ffdhe2048` ..., `dhe<bits>` for DHE up to TLS 1.2, `rsa` for RSA key "
                         "transport",
    [MX_COL_TLS_ERROR] = "detail when `tls` is not `ok` (alert or library error name)",
    [MX_COL_CERT_SHA256] = "SHA-256 of the leaf certificate's DER",
    [MX_COL_CERT_CN] = "leaf subject common name",
    [MX_COL_CERT_SAN] = "leaf DNS subjectAltNames, at most 20",
    [MX_COL_CERT_ISSUER] = "leaf issuer distinguished name (`C=US, O=Let's Encrypt, CN=R11`)",
    [MX_COL_CERT_NOT_BEFORE] = "leaf validity start",
    [MX_COL_CERT_NOT_AFTER] = "leaf validity end",
    [MX_COL_CERT_KEY] = "`rsa:2048`, `ec:secp256r1`, `ed25519` ...",
    [MX_COL_CERT_SIG] = "leaf signature algorithm (`sha256WithRSAEncryption`)",
    [MX_COL_CHAIN_LEN] = "certificates the server sent",
    [MX_COL_CERT_VALID] = "`ok`, or why the chain does not verify against the CA store at scan "
                          "time, in this order: `expired`, `not_yet_valid`, `self_signed`, "
                          "`untrusted`, `bad_signature`, `weak_key`, `other`",
    [MX_COL_CERT_NAME_MATCH] = "the leaf is valid for `mx_host` (SAN, then CN; RFC 6125 "
                               "wildcards)",
    [MX_COL_EHLO_TLS_CAPS] = "extensions of the EHLO reply after TLS, as `ehlo_caps`",
    [MX_COL_T_CONNECT_MS] = "TCP connect time, ms",
    [MX_COL_T_BANNER_MS] = "connect to the end of the greeting, ms",
    [MX_COL_T_TLS_MS] = "STARTTLS sent to handshake done, ms (time waiting for the scanner's own "
                        "CPU excluded)",
    [MX_COL_T_TOTAL_MS] = "whole probe, ms",
    [MX_COL_SCANNED_AT] = "when the row's host was probed, or its domain's DNS answered",
    [MX_COL_STAGE] = "where the probe ended early: `dns`, `connect`, `greeting`, `ehlo`, "
                     "`starttls`, `tls`, `ehlo_tls`, `quit`; empty when it completed",
    [MX_COL_ERROR] = "stable token for the failure (`timeout`, `refused`, `reset`, "
                     "`bad_reply`, `tls_alert_handshake_failure`, `local_overload` (the "
                     "scanner's own trouble: unknown, never a server property) ...)",
    [MX_COL_INPUT_LINE] = "line number of the domain in the input list",
};

const char *mx_column_doc(mx_column_t col) {
    return docs[col] ? docs[col] : "";
}

const char *mx_column_type_name(mx_column_type_t type) {
    static const char *const names[] = {"int",  "text", "enum", "bool",
                                        "list", "hex",  "time", "token"};
    return names[type];
}

enum { SQLITE, DUCKDB, POSTGRESQL };

static const char *sql_type(mx_column_type_t t, int dialect) {
    switch (t) {
    case MX_TYPE_INT:
        return dialect == SQLITE ? "INTEGER" : "BIGINT";
    case MX_TYPE_TIME:
        return dialect == SQLITE ? "TEXT" : "TIMESTAMPTZ";
    case MX_TYPE_BOOL:
        return dialect == POSTGRESQL ? "BOOLEAN" : "TEXT"; /* PostgreSQL reads yes and no */
    default:
        return "TEXT";
    }
}

static const char *pandas_type(mx_column_type_t t) {
    return t == MX_TYPE_INT ? "Int64" : t == MX_TYPE_BOOL ? "boolean" : "string";
}

static const char MD_HEAD[] =
    "# Scan record schema `" MX_SCHEMA_NAME "`\n"
    "\n"
    "Generated by `mxtls schema --format md` from the column table in the code; the tests check\n"
    "that this file equals its output.\n"
    "\n"
    "A scan writes one gzip-compressed CSV file (RFC 4180: comma separated, `\"` quoting, LF\n"
    "line ends, UTF-8, one header row) and a manifest `OUT.meta.json` beside it. Readers bind\n"
    "columns by header name, never by position: later versions may add columns at the end.\n"
    "\n"
    "## Rows\n"
    "\n"
    "One row per (domain, MX host, address) the scan reached a decision about. An MX host with\n"
    "no usable address has one row with `ip` empty and its `mx_status`; a domain with no MX host\n"
    "at all (NXDOMAIN, null MX, DNS failure, invalid input line) has exactly one row with the\n"
    "host columns empty. Each input domain appears exactly once, as one contiguous group of\n"
    "rows, across interrupted and resumed runs too. A host shared by many domains is probed once\n"
    "per scan; each of its domains gets a row with a copy of that result.\n"
    "\n"
    "## Columns\n"
    "\n"
    "| # | column | type | meaning |\n"
    "|---|---|---|---|\n";

static const char MD_TAIL[] =
    "\n"
    "## Values\n"
    "\n"
    "- Empty means unknown or not applicable (a SQL `NULL`).\n"
    "- `int`: a decimal integer. `bool`: `yes` or `no`. `time`: ISO 8601 UTC\n"
    "  (`2026-01-31T00:00:00Z`). `list`: items separated by `|`. `hex`: lowercase. `enum` and\n"
    "  `token`: the lowercase words listed.\n"
    "- Text from the network is hostile input: control characters (C0 and C1) and invalid UTF-8\n"
    "  become `?` before writing.\n"
    "- Formula guard: by default (`--csv-dialect spreadsheet`) a field that begins with `=`, `+`,\n"
    "  `-` or `@` gets a `'` in front, so that a spreadsheet never runs it as a formula. Undo it\n"
    "  by removing one `'` that stands before one of those four characters at the start of a\n"
    "  field (pandas: `s.str.replace(r\"^'(?=[=+\\-@])\", \"\", regex=True)`).\n"
    "  `--csv-dialect plain` writes no guard, for files loaded into tools rather than opened in\n"
    "  a spreadsheet; the manifest's `csv_dialect` says which a file has.\n"
    "\n"
    "## Loading\n"
    "\n"
    "- pandas: `mxtls schema --format json` gives each column's dtype (`Int64`, `boolean`,\n"
    "  `string`) and which columns are times; read with `dtype=`, `true_values=[\"yes\"]`,\n"
    "  `false_values=[\"no\"]`, `keep_default_na=False, na_values=[\"\"]`.\n"
    "- SQL: `mxtls schema --format sql --dialect sqlite|duckdb|postgresql` gives `CREATE TABLE\n"
    "  scan` with real types (integers, timestamps, PostgreSQL's booleans); load empty fields as\n"
    "  `NULL` (PostgreSQL: `COPY scan FROM ... (FORMAT csv, HEADER, NULL '')`).\n"
    "\n"
    "## Manifest `OUT.meta.json`\n"
    "\n"
    "Written when the scan starts and rewritten at its end: schema, scanner version and the\n"
    "versions of its libraries (mbedTLS, the curve arithmetic, c-ares, libuv, zlib), command\n"
    "line, input file and its SHA-256, shard (`i/N`), start, end and status of each run\n"
    "(resumed runs append), resolvers, EHLO name, CA bundle and its SHA-256, counts (domains,\n"
    "invalid and duplicate lines, rows, hosts probed, per `conn` and per `tls`), the scan's\n"
    "health (local waits and the longest, also after the first fill, probes held (NOOPs) and\n"
    "deferred before STARTTLS, re-probes, rows marked `local_overload`, loop lag, why a run "
    "failed)\n"
    "and whether the scan finished.\n";

static void write_md(FILE *out) {
    fputs(MD_HEAD, out);
    for (int c = 0; c < MX_COL__COUNT; c++) {
        fprintf(out, "| %d | `%s` | %s | ", c + 1, mx_column_name((mx_column_t)c),
                mx_column_type_name(mx_column_type((mx_column_t)c)));
        for (const char *d = mx_column_doc((mx_column_t)c); *d; d++)
            fputs(*d == '|' ? "\\|" : (char[]){*d, 0}, out); /* a table cell's | is escaped */
        fputs(" |\n", out);
    }
    fputs(MD_TAIL, out);
}

static int write_json(FILE *out) {
    mx_json_t j;
    mx_json_init(&j);
    mx_json_object(&j, NULL);
    mx_json_str(&j, "schema", MX_SCHEMA_NAME);
    mx_json_object(&j, "csv");
    mx_json_str(&j, "null", "");
    mx_json_str(&j, "list_separator", "|");
    mx_json_str(&j, "true", "yes");
    mx_json_str(&j, "false", "no");
    mx_json_str(&j, "formula_guard", "'");
    mx_json_str(&j, "guarded_first_characters", "=+-@");
    mx_json_end_object(&j);
    mx_json_array(&j, "columns");
    for (int c = 0; c < MX_COL__COUNT; c++) {
        mx_column_type_t t = mx_column_type((mx_column_t)c);
        mx_json_object(&j, NULL);
        mx_json_str(&j, "name", mx_column_name((mx_column_t)c));
        mx_json_str(&j, "type", mx_column_type_name(t));
        mx_json_str(&j, "pandas", pandas_type(t));
        mx_json_bool(&j, "time", t == MX_TYPE_TIME);
        mx_json_str(&j, "sqlite", sql_type(t, SQLITE));
        mx_json_str(&j, "duckdb", sql_type(t, DUCKDB));
        mx_json_str(&j, "postgresql", sql_type(t, POSTGRESQL));
        mx_json_str(&j, "doc", mx_column_doc((mx_column_t)c));
        mx_json_end_object(&j);
    }
    mx_json_end_array(&j);
    mx_json_end_object(&j);
    int rc = mx_json_status(&j) ? -1 : 0;
    if (!rc)
        fprintf(out, "%.*s\n", (int)j.len, j.buf);
    mx_json_free(&j);
    return rc;
}

static void write_sql(FILE *out, int dialect) {
    fprintf(out, "-- mxtls scan record %s; empty CSV fields load as NULL\nCREATE TABLE scan (\n",
            MX_SCHEMA_NAME);
    for (int c = 0; c < MX_COL__COUNT; c++) {
        const char *name = mx_column_name((mx_column_t)c);
        mx_column_type_t t = mx_column_type((mx_column_t)c);
        fprintf(out, "    %s %s", name, sql_type(t, dialect));
        if (t == MX_TYPE_BOOL && dialect != POSTGRESQL)
            fprintf(out, " CHECK (%s IN ('yes', 'no'))", name);
        fputs(c + 1 < MX_COL__COUNT ? ",\n" : "\n", out);
    }
    fputs(");\n", out);
}

int mx_schema_write(FILE *out, const char *format, const char *dialect) {
    int d = !dialect || !strcmp(dialect, "sqlite") ? SQLITE
            : !strcmp(dialect, "duckdb")           ? DUCKDB
            : !strcmp(dialect, "postgresql")       ? POSTGRESQL
                                                   : -1;
    if (d < 0)
        return -1;
    if (!strcmp(format, "md"))
        write_md(out);
    else if (!strcmp(format, "json"))
        return write_json(out);
    else if (!strcmp(format, "sql"))
        write_sql(out, d);
    else
        return -1;
    return 0;
}
