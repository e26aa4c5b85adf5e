/* Machine ids from labels (mxtls/slug.h). */
#include "mxtls/slug.h"

#include <string.h>

char *mx_slug(const char *label, char *out, size_t cap) {
    static const struct {
        const char *sym, *word;
    } words[] = {{">=", "ge"}, {"<=", "le"}, {"≥", "ge"},  {"≤", "le"},
                 {"<", "lt"},  {">", "gt"},  {"%", "pct"}, {"+", "plus"}};
    size_t o = 0;
    int gap = 0;
    if (!cap)
        return out;
    for (const char *p = label; *p && o + 1 < cap;) {
        const char *word = NULL;
        char one[2] = {0, 0};
        size_t skip = 1;
        for (size_t w = 0; w < sizeof(words) / sizeof(words[0]) && !word; w++)
            if (strncmp(p, words[w].sym, strlen(words[w].sym)) == 0)
                word = words[w].word, skip = strlen(words[w].sym);
        char c = *p;
        if (!word && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')))
            word = one, one[0] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        if (!word) {
            gap = o > 0;
            p++;
            continue;
        }
        /* A symbol's word stands apart from its neighbours: "<1000" is "lt_1000". */
        if ((gap || (skip > 1 || strlen(word) > 1)) && o > 0 && out[o - 1] != '_' && o + 1 < cap)
            out[o++] = '_';
        for (const char *w = word; *w && o + 1 < cap; w++)
            out[o++] = *w;
        gap = strlen(word) > 1 && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
              !(c >= '0' && c <= '9');
        p += skip;
    }
    while (o > 0 && out[o - 1] == '_')
        o--;
    out[o] = 0;
    return out;
}
