/* cert — X.509 certificates: loading, agency identity, fingerprints and chain checks.
 *
 * Implements the identity and trust rules of DESIGN.md section 3 for the broker (mTLS
 * peers), the clients (senders' certificates from Deliver/Directory frames) and
 * enlace-audit (signers in the log):
 *   - the agency id of a certificate is the SAN URI `urn:enlace:agency:<id>` when one is
 *     present, else the subject CN; either way it must pass validate_agency_id();
 *   - a certificate's fingerprint is SHA-256 of its DER encoding;
 *   - a trust store is a CA bundle plus, optionally, CRLs; with CRLs every certificate of
 *     the chain is checked for revocation (X509_V_FLAG_CRL_CHECK | CRL_CHECK_ALL).
 *
 * Stale CRLs. A CRL past its nextUpdate makes OpenSSL refuse every certificate of that
 * issuer. Enlace fails closed and says so early: cert_trust_load() refuses a CRL file
 * holding a CRL that is expired or not yet valid (so a reload keeps the old store and the
 * operator sees why), and cert_verify() reports "CRL has expired" for a store loaded
 * before the CRL went stale. Operators must refresh CRLs before nextUpdate.
 *
 * Types are OpenSSL's own (X509, STACK_OF(X509), X509_STORE): free them with X509_free,
 * sk_X509_pop_free(sk, X509_free) and X509_STORE_free.
 * Functions are thread safe; a loaded X509_STORE may be shared by threads for
 * verification (OpenSSL locks it internally).
 */
#ifndef ENLACE_CERT_H
#define ENLACE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "enlace_err.h"

#define CERT_AGENCY_URI_PREFIX "urn:enlace:agency:"
/* Room for any valid agency id plus its NUL (AGENCY_ID_MAX_LEN is 64 in validate.h). */
#define CERT_AGENCY_ID_BUF 65

/* First certificate of a PEM file. Returns a new X509 (X509_free) or NULL. */
X509 *cert_load_pem(const char *path);

/* Every certificate of a PEM file, in file order (e.g. leaf then intermediates).
 * Returns a new stack (sk_X509_pop_free(sk, X509_free)) holding at least one
 * certificate, or NULL when the file cannot be read, holds none or has a bad one. */
STACK_OF(X509) * cert_load_chain_pem(const char *path);

/* Parse one DER certificate that must fill der[0..len) exactly (trailing bytes are
 * refused). Untrusted input is fine. Returns a new X509 (X509_free) or NULL. */
X509 *cert_from_der(const uint8_t *der, size_t len);

/* DER encoding of c into a malloc'ed *der (caller frees) of *len bytes.
 * Returns ENLACE_OK, ENLACE_ERR_INVALID (NULL argument), ENLACE_ERR_NOMEM or
 * ENLACE_ERR_CRYPTO. */
enlace_err_t cert_to_der(X509 *c, uint8_t **der, size_t *len);

/* out = SHA-256 of the DER encoding of c (the certificate fingerprint used in
 * Header.signer_cert_sha256 and in the audit log).
 * Returns ENLACE_OK, ENLACE_ERR_INVALID (NULL argument) or ENLACE_ERR_CRYPTO. */
enlace_err_t cert_sha256(X509 *c, uint8_t out[32]);

/* Agency id of c into out[0..out_len) (NUL-terminated): the id of the SAN URI
 * `urn:enlace:agency:<id>` when the certificate has one, else its subject CN. A
 * certificate that has an agency URI never falls back to its CN, even when that URI is
 * invalid. Refused: two different agency URIs, several CNs, embedded NULs, and any id
 * failing validate_agency_id().
 * out_len must be at least CERT_AGENCY_ID_BUF (room for any valid id).
 * Returns ENLACE_OK, ENLACE_ERR_BAD_CERT (no usable id; out is "") or ENLACE_ERR_INVALID
 * (NULL argument or out_len too small). */
enlace_err_t cert_agency_id(X509 *c, char *out, size_t out_len);

/* Subject of c as RFC 2253 text ("CN=US.FBI,O=...", non-ASCII escaped), truncated to
 * fit out_len. Always NUL-terminates when out_len > 0; "(none)" for NULL. */
void cert_subject_text(X509 *c, char *out, size_t out_len);

/* New trust store from the PEM CA bundle ca_pem (root and intermediate certificates)
 * and, when crl_pem is not NULL, the PEM CRLs in crl_pem. With CRLs the store checks
 * revocation of every certificate in a chain (X509_V_FLAG_CRL_CHECK |
 * X509_V_FLAG_CRL_CHECK_ALL), so each CA that issues certificates needs its CRL. Each
 * CRL must be signed by a certificate of the bundle and be current (see "Stale CRLs").
 * Returns a new store (X509_STORE_free) or NULL with a reason in why. */
X509_STORE *cert_trust_load(const char *ca_pem, const char *crl_pem, char *why, size_t why_len);

/* Verify leaf, with the untrusted intermediates `chain` (may be NULL; may also contain
 * the leaf itself), against store at the current time. With client_auth the whole chain
 * must allow TLS client use (purpose sslclient: EKU clientAuth when an EKU is present).
 * Returns ENLACE_OK, or ENLACE_ERR_BAD_CERT with why = OpenSSL's reason
 * (X509_verify_cert_error_string), the failing depth and that certificate's subject,
 * e.g. "certificate revoked at depth 0 (CN=BR.PF,...)"; ENLACE_ERR_INVALID for NULL
 * store/leaf; ENLACE_ERR_NOMEM. */
enlace_err_t cert_verify(X509_STORE *store, X509 *leaf, STACK_OF(X509) * chain, bool client_auth,
                         char *why, size_t why_len);

#endif
