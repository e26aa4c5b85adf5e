/* Runs a fuzz target without libFuzzer, as part of the test suite: first every file of the
 * corpus folders given as arguments, then ROUNDS mutations of them (seeded, so a failure is
 * reproducible). Built with the normal compiler; `-DMXTLS_FUZZ=ON` builds real fuzzers. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *seeds[4096];
static size_t lens[4096], nseeds;

static void load(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d)) && nseeds < 4096) {
        char path[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        unsigned char *buf = malloc(1 << 20);
        if (!buf) {
            fclose(f);
            break;
        }
        size_t n = fread(buf, 1, 1 << 20, f);
        fclose(f);
        seeds[nseeds] = buf;
        lens[nseeds++] = n;
    }
    closedir(d);
}

int main(int argc, char **argv) {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    long rounds = getenv("FUZZ_ROUNDS") ? atol(getenv("FUZZ_ROUNDS")) : 20000;
    for (int i = 1; i < argc; i++)
        load(argv[i]);
    if (!nseeds) {
        fprintf(stderr, "no corpus files\n");
        return 1;
    }
    for (size_t i = 0; i < nseeds; i++)
        LLVMFuzzerTestOneInput(seeds[i], lens[i]);
    unsigned char *buf = malloc(1 << 20);
    if (!buf)
        return 1;
    for (long r = 0; r < rounds; r++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t s = x % nseeds, n = lens[s];
        memcpy(buf, seeds[s], n);
        int muts = 1 + (int)(x >> 60);
        for (int m = 0; m < muts && n; m++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = (x >> 8) % n;
            switch (x % 4) {
            case 0:
                buf[at] = (unsigned char)(x >> 24);
                break;
            case 1:
                n = at; /* truncate */
                break;
            case 2:
                if (n + 8 < (1 << 20)) {
                    memmove(buf + at + 8, buf + at, n - at);
                    memcpy(buf + at, &x, 8);
                    n += 8;
                }
                break;
            default:
                buf[at] ^= (unsigned char)(1u << (x >> 40) % 8);
            }
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("%zu corpus files and %ld mutations: no crash\n", nseeds, rounds);
    free(buf);
    for (size_t i = 0; i < nseeds; i++)
        free(seeds[i]);
    return 0;
}
