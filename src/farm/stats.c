/* mxtls-farm stats: the population's true proportions, counted from the model itself (not
 * from a scan), next to the model's parameters, so a scan's statistics can be checked against
 * what is really there. Domains are counted per domain; servers once per address, over every
 * address some domain's MX records (within the scanner's default caps) lead to. */
#include "farm/stats.h"

#include <stdio.h>
#include <string.h>

#include "mxtls/hashset.h"

typedef struct {
    const char *section, *name;
    unsigned long long n, of;
    double model; /* < 0: no single model parameter */
} line_t;

static void print(FILE *out, const line_t *l) {
    double share = l->of ? (double)l->n / (double)l->of : 0;
    if (l->model >= 0)
        fprintf(out, "%-8s %-24s %9llu / %9llu  %6.2f %%   model %6.2f %%\n", l->section, l->name,
                l->n, l->of, 100 * share, 100 * l->model);
    else
        fprintf(out, "%-8s %-24s %9llu / %9llu  %6.2f %%\n", l->section, l->name, l->n, l->of,
                100 * share);
}

int farm_stats(const farm_t *f, const farm_model_t *m, FILE *out) {
    unsigned long long kinds[7] = {0}, mx_domains = 0, multi = 0;
    unsigned long long hosts = 0, greet[6] = {0}, ok220 = 0, starttls = 0, s454 = 0, tls = 0;
    unsigned long long ver[4] = {0}, cert[6] = {0}, key[4] = {0}, group[4] = {0};
    mx_hashset_t seen = {0};
    farm_domain_t d;
    farm_host_t h;
    uint32_t n = farm_domain_count(f);
    for (uint32_t i = 0; i < n; i++) {
        farm_domain(f, i, &d);
        kinds[d.kind]++;
        if (d.kind == FARM_D_MX) {
            mx_domains++;
            multi += d.nmx >= 2;
        }
        for (int k = 0; k < d.nmx && k < 10; k++) {
            for (int a = 0; a < d.mx[k].naddrs && a < 4; a++) {
                int added = mx_hashset_add(&seen, d.mx[k].addrs[a] + 1);
                if (added < 0)
                    return -1;
                if (!added || farm_host(f, d.mx[k].addrs[a], &h) < 0)
                    continue;
                hosts++;
                greet[h.greet]++;
                if (h.greet != FARM_G_220)
                    continue;
                ok220++;
                if (!h.starttls)
                    continue;
                starttls++;
                if (h.starttls_454)
                    continue;
                tls++;
                ver[h.tls]++;
                cert[h.cert]++;
                key[h.key]++;
                group[h.group]++;
            }
        }
    }
    s454 = starttls - tls;
    mx_hashset_close(&seen);
    double mx_share =
        1 - (m->implicit + m->null_mx + m->nodata + m->nxdomain + m->servfail + m->timeout);
    const line_t lines[] = {
        {"domains", "mx", kinds[FARM_D_MX], n, mx_share},
        {"domains", "implicit", kinds[FARM_D_IMPLICIT], n, m->implicit},
        {"domains", "null_mx", kinds[FARM_D_NULL_MX], n, m->null_mx},
        {"domains", "nodata", kinds[FARM_D_NODATA], n, m->nodata},
        {"domains", "nxdomain", kinds[FARM_D_NXDOMAIN], n, m->nxdomain},
        {"domains", "servfail", kinds[FARM_D_SERVFAIL], n, m->servfail},
        {"domains", "timeout", kinds[FARM_D_TIMEOUT], n, m->timeout},
        {"domains", "two or more MX", multi, mx_domains, m->multi_mx},
        {"hosts", "greeting 220", greet[FARM_G_220], hosts, -1},
        {"hosts", "greeting 421", greet[FARM_G_421], hosts, m->greet_421},
        {"hosts", "greeting 554", greet[FARM_G_554], hosts, m->greet_554},
        {"hosts", "silent", greet[FARM_G_SILENT], hosts, m->greet_silent},
        {"hosts", "reset", greet[FARM_G_RESET], hosts, m->greet_reset},
        {"hosts", "tarpit", greet[FARM_G_DRIP], hosts, m->greet_drip},
        {"hosts", "STARTTLS offered", starttls, ok220, m->starttls},
        {"hosts", "STARTTLS refused (454)", s454, starttls, m->starttls_454},
        {"tls", "TLSv1.3", ver[FARM_TLS13], tls, m->tls13},
        {"tls", "TLSv1.2 only", ver[FARM_TLS12], tls, m->tls12},
        {"tls", "TLSv1.1 only", ver[FARM_TLS11], tls, -1},
        {"tls", "TLSv1.0 only", ver[FARM_TLS10], tls, -1},
        {"certs", "valid", cert[FARM_CERT_VALID], tls, -1},
        {"certs", "wrong name", cert[FARM_CERT_WRONG_NAME], tls, m->cert_wrong_name},
        {"certs", "self-signed", cert[FARM_CERT_SELF_SIGNED], tls, m->cert_self_signed},
        {"certs", "expired", cert[FARM_CERT_EXPIRED], tls, m->cert_expired},
        {"certs", "unknown CA", cert[FARM_CERT_UNKNOWN_CA], tls, m->cert_unknown_ca},
        {"certs", "not yet valid", cert[FARM_CERT_NOT_YET_VALID], tls, m->cert_not_yet_valid},
        {"keys", "rsa:2048", key[FARM_KEY_RSA2048], tls, -1},
        {"keys", "rsa:4096", key[FARM_KEY_RSA4096], tls, m->key_rsa4096},
        {"keys", "ec:secp256r1", key[FARM_KEY_P256], tls, m->key_p256},
        {"keys", "ec:secp384r1", key[FARM_KEY_P384], tls, m->key_p384},
        {"groups", "x25519", group[FARM_GROUP_X25519], tls, -1},
        {"groups", "secp256r1", group[FARM_GROUP_P256], tls, m->group_p256},
        {"groups", "secp384r1", group[FARM_GROUP_P384], tls, m->group_p384},
        {"groups", "x448", group[FARM_GROUP_X448], tls, m->group_x448},
    };
    fprintf(out,
            "%u domains, %llu distinct server addresses behind their MX (within the default "
            "caps)\n",
            n, hosts);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        print(out, &lines[i]);
    fprintf(out, "(hosts: per address; the big providers run alike and well, so host shares "
                 "differ from the model's per-draw values by their weight)\n");
    return 0;
}
