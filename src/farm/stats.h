/* The farm population's true proportions (mxtls-farm stats). */
#ifndef MXTLS_FARM_STATS_H
#define MXTLS_FARM_STATS_H

#include <stdio.h>

#include "farm/farm.h"

/* Counts the population of F and prints each share next to its model parameter M. Returns 0,
 * or -1 without memory. */
int farm_stats(const farm_t *f, const farm_model_t *m, FILE *out);

#endif
