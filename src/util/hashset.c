/* Set of 64-bit hashes (mxtls/hashset.h). Slot value 0 marks an empty slot, so the hash 0 is
 * stored as 1; callers hash names with a 64-bit function, where that merge is harmless. */
#include "mxtls/hashset.h"

#include <stdlib.h>

#include "mxtls/error.h"

static void place(uint64_t *slots, size_t cap, uint64_t h) {
    size_t j = (size_t)h & (cap - 1);
    while (slots[j])
        j = (j + 1) & (cap - 1);
    slots[j] = h;
}

int mx_hashset_add(mx_hashset_t *s, uint64_t h) {
    h = h ? h : 1;
    if ((s->used + 1) * 4 > s->cap * 3) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *slots = calloc(cap, sizeof(*slots));
        if (!slots)
            return MX_E_NOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                place(slots, cap, s->slots[i]);
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t j = (size_t)h & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == h)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = h;
    s->used++;
    return 1;
}

int mx_hashset_has(const mx_hashset_t *s, uint64_t h) {
    h = h ? h : 1;
    if (!s->cap)
        return 0;
    for (size_t j = (size_t)h & (s->cap - 1); s->slots[j]; j = (j + 1) & (s->cap - 1))
        if (s->slots[j] == h)
            return 1;
    return 0;
}

void mx_hashset_close(mx_hashset_t *s) {
    free(s->slots);
    s->slots = NULL;
    s->cap = s->used = 0;
}
