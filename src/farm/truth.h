/* The farm's ground truth: for every domain, the rows a correct scan with default caps
 * (--max-mx 10, --max-addrs 4) must contain, in the columns the model determines, as a scan
 * file (shared/SCHEMA.md) that the project's own reader compares with a scan. */
#ifndef MXTLS_FARM_TRUTH_H
#define MXTLS_FARM_TRUTH_H

#include <stdint.h>

#include "farm/certs.h"
#include "farm/farm.h"

#define FARM_TRUTH_MAX_MX 10
#define FARM_TRUTH_MAX_ADDRS 4

/* Writes the truth of all domains to PATH. WITH_FINGERPRINTS: certificate fingerprints are
 * included (every leaf is made now, so the servers of this run present exactly these); without,
 * the cert_sha256 column is left out. WITH_POLICY: the columns a scan with --policy and the
 * farm's DNS as --dnssec-resolver writes (MTA-STS, TLS-RPT, DNSSEC, TLSA, DANE). Returns 0, or
 * -1 with a message in ERR. */
int farm_truth_write(const farm_t *f, farm_certs_t *certs, int with_fingerprints, int with_policy,
                     const char *path, char *err, size_t errlen);

/* Columns the truth determines (bit mask of mx_column_t). */
uint64_t farm_truth_columns(int with_fingerprints, int with_policy);

#endif
