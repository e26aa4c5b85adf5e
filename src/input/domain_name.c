/* Domain name normalisation and validation (mxtls/domain_list.h).
 *
 * The rules are those of host names in DNS as mail uses them: LDH labels of 1-63 octets, no
 * hyphen at either end of a label, at most 253 octets without the trailing dot, at least two
 * labels, and a top-level label that is not all digits (so "192.0.2.1" is not a domain).
 * Internationalised names are converted with libidn2 (IDNA 2008, as registries do). */
#include "mxtls/domain_list.h"
#include "mxtls/hash.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <idn2.h>

/* Reason tokens for libidn2's refusals: "invalid_idn_" and idn2's own error name, lowercase. */
static const char *idn_reason(int rc) {
    static _Thread_local char buf[64];
    const char *name = idn2_strerror_name(rc);
    size_t n = 0;
    if (!name)
        return "invalid_idn";
    if (strncmp(name, "IDN2_", 5) == 0)
        name += 5;
    n = (size_t)snprintf(buf, sizeof(buf), "invalid_idn_%s", name);
    for (size_t i = 0; i < n && i < sizeof(buf); i++)
        buf[i] = (char)tolower((unsigned char)buf[i]);
    return buf;
}

static const char *check_ldh(char *out, size_t len) {
    size_t label_start = 0;
    int labels = 0, tld_numeric = 1;
    if (len == 0)
        return "invalid_empty";
    if (len > MX_DOMAIN_MAX)
        return "invalid_too_long";
    for (size_t i = 0; i <= len; i++) {
        if (i == len || out[i] == '.') {
            size_t l = i - label_start;
            if (l == 0 || l > 63)
                return "invalid_label_length";
            if (out[label_start] == '-' || out[i - 1] == '-')
                return "invalid_hyphen";
            labels++;
            tld_numeric = 1;
            for (size_t j = label_start; j < i; j++)
                if (!isdigit((unsigned char)out[j]))
                    tld_numeric = 0;
            label_start = i + 1;
            continue;
        }
        unsigned char c = (unsigned char)out[i];
        if (c >= 'A' && c <= 'Z')
            out[i] = (char)(c + 32);
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return "invalid_char";
    }
    if (labels < 2)
        return "invalid_single_label";
    if (tld_numeric)
        return "invalid_numeric_tld";
    return NULL;
}

const char *mx_domain_normalize(const char *name, size_t len, char *out) {
    int ascii = 1;
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0)
        return "invalid_empty";
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)name[i] >= 0x80)
            ascii = 0;
        else if (name[i] == 0)
            return "invalid_char";
    }
    if (!ascii) {
        char tmp[MX_LINE_MAX + 1];
        char *alabel = NULL;
        if (len > MX_LINE_MAX)
            return "invalid_too_long";
        memcpy(tmp, name, len);
        tmp[len] = 0;
        int rc = idn2_lookup_u8((const uint8_t *)tmp, (uint8_t **)&alabel,
                                IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK)
            return idn_reason(rc);
        len = strlen(alabel);
        if (len > MX_DOMAIN_MAX) {
            idn2_free(alabel);
            return "invalid_too_long";
        }
        memcpy(out, alabel, len + 1);
        idn2_free(alabel);
    } else {
        if (len > MX_DOMAIN_MAX)
            return "invalid_too_long";
        memcpy(out, name, len);
        out[len] = 0;
    }
    return check_ldh(out, len);
}

uint64_t mx_domain_hash(const char *name) {
    return mx_hash_mix(mx_hash(name));
}
