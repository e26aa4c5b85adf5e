/* bench_csv ROWS FILE: CPU cost of writing and reading scan records, the path every command
 * shares. Writes ROWS realistic rows (about 1.5 per domain, as a top-million scan has) to FILE
 * as gzip CSV, then reads them back binding columns by name. Prints CPU seconds and rates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mxtls/reader.h"
#include "mxtls/writer.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long rng = 88172645463325252ull;
static unsigned long long next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: bench_csv ROWS FILE\n");
        return 1;
    }
    unsigned long long rows = strtoull(argv[1], NULL, 10), domain = 0;
    const char *path = argv[2];
    static const char *const versions[] = {"TLSv1.3", "TLSv1.3", "TLSv1.2", "TLSv1.0"};
    static const char *const ciphers[] = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                          "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"};
    char f[16][128];
    mx_writer_t *w;
    mx_record_t rec = {{0}};
    double t0 = cpu_now();
    if (mx_writer_open(&w, path)) {
        perror(path);
        return 2;
    }
    for (unsigned long long i = 0; i < rows; domain++) {
        unsigned long long host = next_rand() % 300000, n = 1 + (next_rand() % 2 == 0);
        for (unsigned long long k = 0; k < n && i < rows; k++, i++) {
            snprintf(f[0], 128, "%llu", domain + 1);
            snprintf(f[1], 128, "domain%llu.example", domain);
            snprintf(f[2], 128, "mx%llu.provider%llu.example", host + k, host % 5000);
            snprintf(f[3], 128, "127.%llu.%llu.%llu", host >> 16 & 255, host >> 8 & 255,
                     host & 255);
            snprintf(f[4], 128, "mx%llu.provider%llu.example ESMTP Postfix", host + k, host % 5000);
            snprintf(f[5], 128, "%016llx%016llx%016llx%016llx", host * 0x9E3779B97F4A7C15ull,
                     host * 31, host * 0xBF58476D1CE4E5B9ull, host ^ 0x94D049BB133111EBull);
            snprintf(f[6], 128, "%llu", 10 * (k + 1));
            snprintf(f[7], 128, "%llu", 40 + next_rand() % 300);
            rec.f[MX_COL_RANK] = f[0];
            rec.f[MX_COL_DOMAIN] = f[1];
            rec.f[MX_COL_DNS_STATUS] = "mx";
            rec.f[MX_COL_MX_PREF] = f[6];
            rec.f[MX_COL_MX_HOST] = f[2];
            rec.f[MX_COL_MX_STATUS] = "ok";
            rec.f[MX_COL_IP] = f[3];
            rec.f[MX_COL_CONN] = "ok";
            rec.f[MX_COL_BANNER_CODE] = "220";
            rec.f[MX_COL_BANNER] = f[4];
            rec.f[MX_COL_EHLO_CODE] = "250";
            rec.f[MX_COL_EHLO_CAPS] = "PIPELINING|SIZE|ETRN|STARTTLS|ENHANCEDSTATUSCODES|8BITMIME";
            rec.f[MX_COL_SIZE_LIMIT] = "52428800";
            rec.f[MX_COL_STARTTLS] = "yes";
            rec.f[MX_COL_STARTTLS_CODE] = "220";
            rec.f[MX_COL_TLS] = "ok";
            rec.f[MX_COL_TLS_VERSION] = versions[host % 4];
            rec.f[MX_COL_TLS_CIPHER] = ciphers[host % 4];
            rec.f[MX_COL_TLS_GROUP] = "x25519";
            rec.f[MX_COL_CERT_SHA256] = f[5];
            rec.f[MX_COL_CERT_CN] = f[2];
            rec.f[MX_COL_CERT_SAN] = f[2];
            rec.f[MX_COL_CERT_ISSUER] = "C=US, O=Let's Encrypt, CN=R11";
            rec.f[MX_COL_CERT_NOT_BEFORE] = "2026-09-01T00:00:00Z";
            rec.f[MX_COL_CERT_NOT_AFTER] = "2026-11-30T00:00:00Z";
            rec.f[MX_COL_CERT_KEY] = "rsa:2048";
            rec.f[MX_COL_CERT_SIG] = "sha256WithRSAEncryption";
            rec.f[MX_COL_CHAIN_LEN] = "2";
            rec.f[MX_COL_CERT_VALID] = "ok";
            rec.f[MX_COL_CERT_NAME_MATCH] = "yes";
            rec.f[MX_COL_EHLO_TLS_CAPS] = "PIPELINING|SIZE|ETRN|AUTH|ENHANCEDSTATUSCODES|8BITMIME";
            rec.f[MX_COL_T_CONNECT_MS] = "1";
            rec.f[MX_COL_T_BANNER_MS] = f[7];
            rec.f[MX_COL_T_TLS_MS] = "12";
            rec.f[MX_COL_T_TOTAL_MS] = "400";
            rec.f[MX_COL_SCANNED_AT] = "2026-11-28T12:00:00Z";
            rec.f[MX_COL_INPUT_LINE] = f[0];
            if (mx_writer_row(w, &rec))
                break;
        }
        mx_writer_group_end(w, domain / 1000);
    }
    int rc = mx_writer_close(w);
    double t1 = cpu_now();
    if (rc) {
        fprintf(stderr, "write failed: %d\n", rc);
        return 2;
    }
    mx_reader_t *r;
    mx_record_t got;
    unsigned long long n = 0, bytes = 0;
    mx_reader_open(&r, &path, 1, 1ull << MX_COL_DOMAIN);
    while (mx_reader_next(r, &got) == 1) {
        n++;
        bytes += strlen(mx_record_get(&got, MX_COL_TLS_VERSION));
    }
    mx_reader_free(r);
    double t2 = cpu_now();
    printf("rows %llu domains %llu\n", rows, domain);
    printf("write: %.2f s CPU, %.0f rows/s\n", t1 - t0, (double)rows / (t1 - t0));
    printf("read:  %.2f s CPU, %.0f rows/s (%llu rows back)\n", t2 - t1, (double)n / (t2 - t1), n);
    return n == rows && bytes ? 0 : 2;
}
