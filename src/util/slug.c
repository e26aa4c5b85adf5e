/* Machine ids from labels (mxtls/slug.h). */
#include "mxtls/slug.h"

#include <string.h>

char *mx_slug(const char *label, char *out, size_t cap) {
    static const struct {
        const char *sym, *word;
    } words[] = {{">=", "ge"}, {"<=", "le"}, {"≥", "ge"},  {"≤", "le"},
                 {"<", "lt"},  {">", "gt"},  {"%", "pct"}, {"+", "plus"}};
    size_t o = 0;
    int apart = 0; /* the next letter or digit starts a new word */
    if (!cap)
        return out;
    for (const char *p = label; *p && o + 1 < cap;) {
        char c = *p;
        const char *word = NULL;
        for (size_t w = 0; w < sizeof(words) / sizeof(words[0]) && !word; w++)
            if (strncmp(p, words[w].sym, strlen(words[w].sym)) == 0)
                word = words[w].word, p += strlen(words[w].sym);
        if (word) { /* a symbol is a word of its own: "<1000" is "lt_1000" */
            if (o > 0 && o + 1 < cap)
                out[o++] = '_';
            for (; *word && o + 1 < cap; word++)
                out[o++] = *word;
            apart = 1;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) {
            if (apart && o > 0 && o + 1 < cap)
                out[o++] = '_';
            if (o + 1 < cap)
                out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            apart = 0;
            p++;
        } else {
            apart = 1;
            p++;
        }
    }
    out[o] = 0;
    return out;
}
