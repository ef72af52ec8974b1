/* snapshot — one immutable generation of the broker's trust and policy.
 *
 * A snapshot bundles what a reload replaces together: the TLS server context
 * (certificate, CA bundle, CRLs) and the policy. It is built by the main
 * thread, never modified afterwards, and shared read-only by every io thread,
 * so no lock is needed to read it. A reference count keeps it alive while
 * any thread still uses it: snapshot_ref() before handing it to another
 * thread, snapshot_unref() when done. A failed reload builds nothing and the
 * old snapshot stays in force.
 */
#ifndef ENLACE_SNAPSHOT_H
#define ENLACE_SNAPSHOT_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "config.h"
#include "enlace_err.h"
#include "policy.h"

typedef struct snapshot {
    SSL_CTX *tls;           /* server context, owns the trust store */
    policy_t *policy;       /* agencies, roles, topic rights */
    uint8_t ca_sha256[32];  /* digest of the CA bundle file loaded */
    uint8_t crl_sha256[32]; /* digest of the CRL file loaded (zero if none) */
    int refs;               /* atomic reference count */
} snapshot_t;

/* Loads TLS material and policy named by cfg. On failure returns the error
 * and writes "what: why" into why; nothing is built.
 * Returns ENLACE_OK, ENLACE_ERR_INVALID (policy), ENLACE_ERR_BAD_CERT (TLS). */
enlace_err_t snapshot_load(const broker_config_t *cfg, snapshot_t **out, char *why, size_t why_len);

snapshot_t *snapshot_ref(snapshot_t *s);
/* Drops one reference and NULLs *s; frees on the last one. Safe on NULL. */
void snapshot_unref(snapshot_t **s);

/* SHA-256 of a whole file (for ConfigLoaded records). ENLACE_ERR_IO if unreadable. */
enlace_err_t file_sha256(const char *path, uint8_t out[32]);

#endif
