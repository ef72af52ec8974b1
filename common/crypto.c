/* crypto — hashing, randomness and signatures (see crypto.h). */
#include "crypto.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

/* Largest RSA modulus accepted: OpenSSL's own limit, stated here so a hostile
 * certificate cannot make a verification arbitrarily slow. */
#define CRYPTO_RSA_MAX_BITS 16384

/* The signature schemes a key can imply. */
typedef enum {
    SCHEME_NONE = 0,
    SCHEME_ECDSA_P256,
    SCHEME_ECDSA_P384,
    SCHEME_ED25519,
    SCHEME_ED448,
    SCHEME_RSA_PSS,
} scheme_t;

/* Used as the message pointer for empty input: EVP one-shot calls want non-NULL. */
static const uint8_t empty_input[1];

bool ct_equal(const void *a, const void *b, size_t n)
{
    if (n == 0) {
        return true;
    }
    return CRYPTO_memcmp(a, b, n) == 0;
}

void sha256(const void *data, size_t len, uint8_t out[32])
{
    /* SHA256() is the non-deprecated one-shot of OpenSSL 3.0 and avoids a provider
     * fetch per call, which matters on the signature-check hot path. */
    SHA256(len ? data : empty_input, len, out);
}

enlace_err_t random_bytes(uint8_t *out, size_t n)
{
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done > INT_MAX ? INT_MAX : n - done;
        if (RAND_bytes(out + done, (int)chunk) != 1) {
            OPENSSL_cleanse(out, n);
            ERR_clear_error();
            return ENLACE_ERR_CRYPTO;
        }
        done += chunk;
    }
    return ENLACE_OK;
}

/* Which scheme `key` implies; SCHEME_NONE for anything Enlace does not accept. */
static scheme_t key_scheme(EVP_PKEY *key)
{
    if (key == NULL) {
        return SCHEME_NONE;
    }
    if (EVP_PKEY_is_a(key, "ED25519")) {
        return SCHEME_ED25519;
    }
    if (EVP_PKEY_is_a(key, "ED448")) {
        return SCHEME_ED448;
    }
    if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
        int bits = EVP_PKEY_get_bits(key);
        if (bits < CRYPTO_RSA_MIN_BITS || bits > CRYPTO_RSA_MAX_BITS) {
            return SCHEME_NONE;
        }
        return SCHEME_RSA_PSS;
    }
    if (EVP_PKEY_is_a(key, "EC")) {
        char group[64];
        size_t group_len = 0;
        if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                            &group_len)) {
            ERR_clear_error(); /* explicit-parameter curves have no name: refused */
            return SCHEME_NONE;
        }
        switch (OBJ_sn2nid(group)) {
        case NID_X9_62_prime256v1: return SCHEME_ECDSA_P256;
        case NID_secp384r1: return SCHEME_ECDSA_P384;
        default: return SCHEME_NONE;
        }
    }
    return SCHEME_NONE;
}

bool crypto_key_supported(EVP_PKEY *key)
{
    return key_scheme(key) != SCHEME_NONE;
}

const char *crypto_key_scheme(EVP_PKEY *key)
{
    switch (key_scheme(key)) {
    case SCHEME_ECDSA_P256: return "ECDSA-P256-SHA256";
    case SCHEME_ECDSA_P384: return "ECDSA-P384-SHA384";
    case SCHEME_ED25519: return "Ed25519";
    case SCHEME_ED448: return "Ed448";
    case SCHEME_RSA_PSS: return "RSA-PSS-SHA256";
    case SCHEME_NONE: break;
    }
    return "unsupported";
}

/* Prepare ctx for signing (sign = true) or verifying with the scheme of `key`.
 * Returns 1 on success, 0 on failure (OpenSSL error queue may hold details). */
static int digest_init(EVP_MD_CTX *ctx, EVP_PKEY *key, scheme_t scheme, bool sign)
{
    const EVP_MD *md = NULL; /* EdDSA: NULL selects the pure one-shot mode */
    EVP_PKEY_CTX *pctx = NULL;
    switch (scheme) {
    case SCHEME_ECDSA_P256:
    case SCHEME_RSA_PSS: md = EVP_sha256(); break;
    case SCHEME_ECDSA_P384: md = EVP_sha384(); break;
    case SCHEME_ED25519:
    case SCHEME_ED448: md = NULL; break;
    case SCHEME_NONE: return 0;
    }
    int ok = sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, key)
                  : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key);
    if (ok != 1) {
        return 0;
    }
    if (scheme == SCHEME_RSA_PSS) {
        /* RFC 8017 section 8.1 with the parameters RFC 8446 uses for rsa_pss_*_sha256:
         * MGF1 with the same hash, salt as long as the digest. On verify the salt
         * length is checked exactly, not "any". */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0) {
            return 0;
        }
    }
    return 1;
}

enlace_err_t crypto_sign(EVP_PKEY *key, const uint8_t *data, size_t len, uint8_t **sig,
                         size_t *sig_len)
{
    enlace_err_t rc = ENLACE_ERR_CRYPTO;
    EVP_MD_CTX *ctx = NULL;
    uint8_t *buf = NULL;
    size_t buf_len = 0;

    if (sig == NULL || sig_len == NULL) {
        return ENLACE_ERR_INVALID;
    }
    *sig = NULL;
    *sig_len = 0;
    scheme_t scheme = key_scheme(key);
    if (scheme == SCHEME_NONE || (data == NULL && len != 0)) {
        return ENLACE_ERR_INVALID;
    }
    if (len == 0) {
        data = empty_input;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    if (!digest_init(ctx, key, scheme, true)) {
        goto cleanup;
    }
    /* One-shot: required for EdDSA, equivalent to Update+Final for the others. The
     * first call gives the maximum length (ECDSA's DER length varies). */
    if (EVP_DigestSign(ctx, NULL, &buf_len, data, len) != 1) {
        goto cleanup;
    }
    buf = malloc(buf_len);
    if (buf == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    if (EVP_DigestSign(ctx, buf, &buf_len, data, len) != 1) {
        goto cleanup;
    }
    *sig = buf;
    *sig_len = buf_len;
    buf = NULL;
    rc = ENLACE_OK;

cleanup:
    free(buf);
    EVP_MD_CTX_free(ctx);
    if (rc != ENLACE_OK) {
        ERR_clear_error(); /* leave no stale errors for SSL_get_error() in this thread */
    }
    return rc;
}

enlace_err_t crypto_verify(EVP_PKEY *key, const uint8_t *data, size_t len, const uint8_t *sig,
                           size_t sig_len)
{
    enlace_err_t rc = ENLACE_ERR_BAD_SIGNATURE;
    EVP_MD_CTX *ctx = NULL;

    scheme_t scheme = key_scheme(key);
    if (scheme == SCHEME_NONE || sig == NULL || sig_len == 0 || (data == NULL && len != 0)) {
        goto cleanup;
    }
    if (len == 0) {
        data = empty_input;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || !digest_init(ctx, key, scheme, false)) {
        goto cleanup;
    }
    /* 1 is the only success; 0 is a bad signature and < 0 a malformed one or an
     * internal error: both refuse. OpenSSL's ECDSA rejects non-canonical DER. */
    if (EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1) {
        rc = ENLACE_OK;
    }

cleanup:
    EVP_MD_CTX_free(ctx);
    if (rc != ENLACE_OK) {
        ERR_clear_error();
    }
    return rc;
}

/* PEM password callback that refuses: an encrypted key must not make a daemon wait
 * for a terminal prompt. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

EVP_PKEY *crypto_load_private_key(const char *pem_path)
{
    if (pem_path == NULL) {
        return NULL;
    }
    BIO *bio = BIO_new_file(pem_path, "r");
    if (bio == NULL) {
        ERR_clear_error();
        return NULL;
    }
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    BIO_free(bio);
    if (key == NULL) {
        ERR_clear_error();
    }
    return key;
}

EVP_PKEY *crypto_load_public_key(const char *pem_path)
{
    if (pem_path == NULL) {
        return NULL;
    }
    BIO *bio = BIO_new_file(pem_path, "r");
    if (bio == NULL) {
        ERR_clear_error();
        return NULL;
    }
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, no_password, NULL);
    BIO_free(bio);
    if (key == NULL) {
        ERR_clear_error();
    }
    return key;
}
