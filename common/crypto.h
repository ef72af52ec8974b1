/* crypto — hashing, randomness and signatures for every key type Enlace accepts.
 *
 * One signing code path for the whole project (DESIGN.md section 5): the algorithm
 * follows the key, never a field from outside. EVP_DigestSign/EVP_DigestVerify serve
 * all of them:
 *   EC P-256          ECDSA with SHA-256 (DER-encoded signature)
 *   EC P-384          ECDSA with SHA-384
 *   Ed25519, Ed448    pure EdDSA (no pre-hash; one-shot over the whole message)
 *   RSA >= 2048 bits  RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length = 32 (digest length)
 * Other curves, smaller RSA keys and other key types are refused.
 *
 * Also: SHA-256, constant-time comparison (the one place where digests and MACs are
 * compared, STYLE.md rule 8) and the CSPRNG. Functions are thread safe.
 */
#ifndef ENLACE_CRYPTO_H
#define ENLACE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "enlace_err.h"

#define CRYPTO_SHA256_LEN 32
/* Smallest RSA modulus accepted for signing and verifying. */
#define CRYPTO_RSA_MIN_BITS 2048

/* True when the n bytes at a and b are equal. Time depends on n only (CRYPTO_memcmp):
 * use it for every digest, MAC or secret. n == 0 compares equal. */
bool ct_equal(const void *a, const void *b, size_t n);

/* out = SHA-256(data[0..len)). data may be NULL when len is 0. */
void sha256(const void *data, size_t len, uint8_t out[32]);

/* Fill out[0..n) from the OpenSSL CSPRNG.
 * Returns ENLACE_OK or ENLACE_ERR_CRYPTO (the generator failed; out is then zeroed). */
enlace_err_t random_bytes(uint8_t *out, size_t n);

/* True when key is a type/size listed above (usable with crypto_sign/crypto_verify). */
bool crypto_key_supported(EVP_PKEY *key);

/* Short name of the signature scheme the key implies, e.g. "ECDSA-P256-SHA256",
 * "Ed25519", "RSA-PSS-SHA256", or "unsupported". Static string, never NULL. */
const char *crypto_key_scheme(EVP_PKEY *key);

/* Sign data[0..len) with the private key `key` using the scheme the key implies.
 * data may be NULL when len is 0. *sig is malloc'ed (caller frees), *sig_len its length.
 * Returns ENLACE_OK, ENLACE_ERR_INVALID (NULL argument or unsupported key type),
 * ENLACE_ERR_NOMEM, or ENLACE_ERR_CRYPTO (OpenSSL failed, e.g. a public-only key).
 * On error *sig is NULL and *sig_len 0. */
enlace_err_t crypto_sign(EVP_PKEY *key, const uint8_t *data, size_t len, uint8_t **sig,
                         size_t *sig_len);

/* Verify sig over data[0..len) with the public key `key` (scheme from the key).
 * Returns ENLACE_OK, or ENLACE_ERR_BAD_SIGNATURE for anything else: a wrong or
 * malformed signature, an unsupported key type, or an internal failure (fail closed). */
enlace_err_t crypto_verify(EVP_PKEY *key, const uint8_t *data, size_t len, const uint8_t *sig,
                           size_t sig_len);

/* Load a PEM private key (PKCS#8 or traditional, unencrypted: an encrypted key is
 * refused rather than prompting). Returns a new key (EVP_PKEY_free) or NULL. */
EVP_PKEY *crypto_load_private_key(const char *pem_path);

/* Load a PEM public key (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY").
 * Returns a new key (EVP_PKEY_free) or NULL. */
EVP_PKEY *crypto_load_public_key(const char *pem_path);

#endif
