/* test_crypto — specification of common/crypto.{h,c}.
 *
 * Digests and comparison: FIPS 180-4 SHA-256 examples, CRYPTO_memcmp semantics.
 * Signatures: one table of key types, each signed and verified, then every way a
 * signature can be wrong (other message, other key, other scheme, bit flips, truncation,
 * empty). Published vectors: RFC 8032 section 7.1 (Ed25519 is deterministic, so our
 * signature must equal the RFC's byte for byte). Interoperability: ECDSA and RSA-PSS
 * signatures are checked with independent EVP code using the parameters the header
 * promises (SHA-256/384, PSS salt 32, MGF1-SHA-256). Refusals: keys Enlace does not
 * accept (RSA-1024, P-521, X25519). Key loading: PEM round trip, encrypted keys refused
 * without a prompt, wrong kind of file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto.h"

/* ---------------------------------------------------------------- helpers */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Generate a key: kind "EC" with a curve name, "ED25519", "ED448", "X25519", or "RSA"
 * with bits. */
static EVP_PKEY *keygen(const char *kind, const char *curve, size_t bits)
{
    EVP_PKEY *k = NULL;
    if (strcmp(kind, "EC") == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    } else if (strcmp(kind, "RSA") == 0) {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    } else {
        k = EVP_PKEY_Q_keygen(NULL, NULL, kind);
    }
    assert_non_null(k);
    return k;
}

/* ------------------------------------------------------- ct_equal, sha256 */

static void test_ct_equal(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        size_t n;
        bool equal;
    } rows[] = {
        {"abcdef", "abcdef", 6, true},
        {"abcdef", "xbcdef", 6, false}, /* first byte differs */
        {"abcdef", "abcdex", 6, false}, /* last byte differs */
        {"abcdef", "abcxxx", 3, true},  /* only n bytes count */
        {"a", "b", 0, true},            /* empty ranges are equal */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(ct_equal(rows[i].a, rows[i].b, rows[i].n), rows[i].equal);
    }
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    /* FIPS 180-4 / NIST CSRC examples. */
    static const struct {
        const char *msg;
        size_t repeat;
        const char *digest;
    } rows[] = {
        {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t unit = strlen(rows[i].msg);
        size_t len = unit * rows[i].repeat;
        uint8_t *msg = malloc(len + 1);
        assert_non_null(msg);
        for (size_t r = 0; r < rows[i].repeat; r++) {
            memcpy(msg + r * unit, rows[i].msg, unit);
        }
        uint8_t want[32], got[32];
        unhex(rows[i].digest, want, sizeof(want));
        sha256(len ? msg : NULL, len, got);
        assert_memory_equal(got, want, 32);
        free(msg);
    }
}

static void test_random_bytes(void **state)
{
    (void)state;
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    assert_int_equal(random_bytes(a, sizeof(a)), ENLACE_OK);
    assert_int_equal(random_bytes(b, sizeof(b)), ENLACE_OK);
    assert_false(ct_equal(a, b, sizeof(a)));
    assert_false(ct_equal(a, zero, sizeof(a)));
    assert_int_equal(random_bytes(a, 0), ENLACE_OK);
}

/* ------------------------------------------------------ sign/verify table */

/* One row per accepted key type. */
typedef struct {
    const char *kind;
    const char *curve;
    size_t bits;
    const char *scheme;
} key_row_t;

static const key_row_t accepted[] = {
    {"EC", "P-256", 0, "ECDSA-P256-SHA256"}, {"EC", "P-384", 0, "ECDSA-P384-SHA384"},
    {"ED25519", NULL, 0, "Ed25519"},         {"ED448", NULL, 0, "Ed448"},
    {"RSA", NULL, 2048, "RSA-PSS-SHA256"},
};
#define N_ACCEPTED (sizeof(accepted) / sizeof(accepted[0]))

/* Two keys per row (the second for "right scheme, wrong key"), made once. */
typedef struct {
    EVP_PKEY *key[N_ACCEPTED];
    EVP_PKEY *other[N_ACCEPTED];
} keys_t;

static int keys_setup(void **state)
{
    keys_t *k = calloc(1, sizeof(*k));
    assert_non_null(k);
    for (size_t i = 0; i < N_ACCEPTED; i++) {
        k->key[i] = keygen(accepted[i].kind, accepted[i].curve, accepted[i].bits);
        k->other[i] = keygen(accepted[i].kind, accepted[i].curve, accepted[i].bits);
    }
    *state = k;
    return 0;
}

static int keys_teardown(void **state)
{
    keys_t *k = *state;
    for (size_t i = 0; i < N_ACCEPTED; i++) {
        EVP_PKEY_free(k->key[i]);
        EVP_PKEY_free(k->other[i]);
    }
    free(k);
    return 0;
}

static void test_sign_verify_round_trip(void **state)
{
    keys_t *k = *state;
    static const uint8_t msg[] = "enlace-envelope-v1\0header bytes";
    for (size_t i = 0; i < N_ACCEPTED; i++) {
        assert_true(crypto_key_supported(k->key[i]));
        assert_string_equal(crypto_key_scheme(k->key[i]), accepted[i].scheme);
        uint8_t *sig = NULL;
        size_t sig_len = 0;
        assert_int_equal(crypto_sign(k->key[i], msg, sizeof(msg), &sig, &sig_len), ENLACE_OK);
        assert_non_null(sig);
        assert_true(sig_len > 0);
        assert_int_equal(crypto_verify(k->key[i], msg, sizeof(msg), sig, sig_len), ENLACE_OK);
        free(sig);

        /* Empty messages are signable too. */
        assert_int_equal(crypto_sign(k->key[i], NULL, 0, &sig, &sig_len), ENLACE_OK);
        assert_int_equal(crypto_verify(k->key[i], NULL, 0, sig, sig_len), ENLACE_OK);
        free(sig);
    }
}

static void test_verify_refusals(void **state)
{
    keys_t *k = *state;
    uint8_t msg[64];
    memset(msg, 'm', sizeof(msg));
    for (size_t i = 0; i < N_ACCEPTED; i++) {
        uint8_t *sig = NULL;
        size_t sig_len = 0;
        assert_int_equal(crypto_sign(k->key[i], msg, sizeof(msg), &sig, &sig_len), ENLACE_OK);

        /* Another message. */
        msg[10] ^= 0x01;
        assert_int_equal(crypto_verify(k->key[i], msg, sizeof(msg), sig, sig_len),
                         ENLACE_ERR_BAD_SIGNATURE);
        msg[10] ^= 0x01;
        /* Another key of the same type. */
        assert_int_equal(crypto_verify(k->other[i], msg, sizeof(msg), sig, sig_len),
                         ENLACE_ERR_BAD_SIGNATURE);
        /* Another key type altogether. */
        size_t j = (i + 1) % N_ACCEPTED;
        assert_int_equal(crypto_verify(k->key[j], msg, sizeof(msg), sig, sig_len),
                         ENLACE_ERR_BAD_SIGNATURE);
        /* Every single-bit flip in the first, middle and last byte. */
        size_t positions[] = {0, sig_len / 2, sig_len - 1};
        for (size_t p = 0; p < 3; p++) {
            for (int bit = 0; bit < 8; bit++) {
                sig[positions[p]] ^= (uint8_t)(1u << bit);
                assert_int_equal(crypto_verify(k->key[i], msg, sizeof(msg), sig, sig_len),
                                 ENLACE_ERR_BAD_SIGNATURE);
                sig[positions[p]] ^= (uint8_t)(1u << bit);
            }
        }
        /* Truncated, extended by a byte, empty, NULL. */
        assert_int_equal(crypto_verify(k->key[i], msg, sizeof(msg), sig, sig_len - 1),
                         ENLACE_ERR_BAD_SIGNATURE);
        uint8_t *longer = malloc(sig_len + 1);
        assert_non_null(longer);
        memcpy(longer, sig, sig_len);
        longer[sig_len] = 0;
        assert_int_equal(crypto_verify(k->key[i], msg, sizeof(msg), longer, sig_len + 1),
                         ENLACE_ERR_BAD_SIGNATURE);
        free(longer);
        assert_int_equal(crypto_verify(k->key[i], msg, sizeof(msg), sig, 0),
                         ENLACE_ERR_BAD_SIGNATURE);
        assert_int_equal(crypto_verify(k->key[i], msg, sizeof(msg), NULL, 0),
                         ENLACE_ERR_BAD_SIGNATURE);
        /* The sound signature still verifies after all that. */
        assert_int_equal(crypto_verify(k->key[i], msg, sizeof(msg), sig, sig_len), ENLACE_OK);
        free(sig);
    }
}

/* Keys Enlace does not accept: refused for signing and verification. */
static void test_unsupported_keys(void **state)
{
    (void)state;
    static const key_row_t refused[] = {
        {"RSA", NULL, 1024, NULL}, /* below CRYPTO_RSA_MIN_BITS */
        {"EC", "P-521", 0, NULL},  /* curve outside the accepted list */
        {"EC", "secp256k1", 0, NULL},
        {"X25519", NULL, 0, NULL}, /* key agreement only */
    };
    static const uint8_t msg[] = "m";
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        EVP_PKEY *key = keygen(refused[i].kind, refused[i].curve, refused[i].bits);
        assert_false(crypto_key_supported(key));
        assert_string_equal(crypto_key_scheme(key), "unsupported");
        uint8_t *sig = (uint8_t *)"x";
        size_t sig_len = 1;
        assert_int_equal(crypto_sign(key, msg, sizeof(msg), &sig, &sig_len), ENLACE_ERR_INVALID);
        assert_null(sig);
        assert_int_equal(sig_len, 0);
        uint8_t fake[64] = {0};
        assert_int_equal(crypto_verify(key, msg, sizeof(msg), fake, sizeof(fake)),
                         ENLACE_ERR_BAD_SIGNATURE);
        EVP_PKEY_free(key);
    }
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    assert_int_equal(crypto_sign(NULL, msg, sizeof(msg), &sig, &sig_len), ENLACE_ERR_INVALID);
    assert_int_equal(crypto_verify(NULL, msg, sizeof(msg), msg, 1), ENLACE_ERR_BAD_SIGNATURE);
}

/* A public-only key cannot sign. */
static void test_sign_needs_private_key(void **state)
{
    keys_t *k = *state;
    uint8_t *der = NULL;
    int n = i2d_PUBKEY(k->key[0], &der);
    assert_true(n > 0);
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(der);
    assert_non_null(pub);
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    assert_int_not_equal(crypto_sign(pub, (const uint8_t *)"m", 1, &sig, &sig_len), ENLACE_OK);
    assert_null(sig);
    EVP_PKEY_free(pub);
}

/* RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte). */
static void test_ed25519_rfc8032(void **state)
{
    (void)state;
    static const struct {
        const char *secret, *public_key, *message, *signature;
    } rows[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
         "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
         "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint8_t sk[32], pk[32], msg[8], want[64];
        unhex(rows[i].secret, sk, sizeof(sk));
        unhex(rows[i].public_key, pk, sizeof(pk));
        size_t msg_len = unhex(rows[i].message, msg, sizeof(msg));
        unhex(rows[i].signature, want, sizeof(want));

        EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
        EVP_PKEY *pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
        assert_non_null(priv);
        assert_non_null(pub);
        uint8_t *sig = NULL;
        size_t sig_len = 0;
        assert_int_equal(crypto_sign(priv, msg_len ? msg : NULL, msg_len, &sig, &sig_len),
                         ENLACE_OK);
        assert_int_equal(sig_len, 64);
        assert_memory_equal(sig, want, 64);
        assert_int_equal(crypto_verify(pub, msg_len ? msg : NULL, msg_len, want, 64), ENLACE_OK);
        want[63] ^= 0x80;
        assert_int_equal(crypto_verify(pub, msg_len ? msg : NULL, msg_len, want, 64),
                         ENLACE_ERR_BAD_SIGNATURE);
        free(sig);
        EVP_PKEY_free(priv);
        EVP_PKEY_free(pub);
    }
}

/* Independent check of the parameters: what another implementation would verify with. */
static int independent_verify(EVP_PKEY *key, const EVP_MD *md, int padding, int saltlen,
                              const uint8_t *msg, size_t len, const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key), 1);
    if (padding) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, padding) > 0);
        if (padding == RSA_PKCS1_PSS_PADDING) {
            assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) > 0);
            assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0);
        }
    }
    int r = EVP_DigestVerify(ctx, sig, sig_len, msg, len);
    EVP_MD_CTX_free(ctx);
    return r;
}

static void test_scheme_parameters(void **state)
{
    keys_t *k = *state;
    static const uint8_t msg[] = "parameters";
    uint8_t *sig = NULL;
    size_t sig_len = 0;

    /* P-256 uses SHA-256, P-384 SHA-384 (not the other way round). */
    assert_int_equal(crypto_sign(k->key[0], msg, sizeof(msg), &sig, &sig_len), ENLACE_OK);
    assert_int_equal(
        independent_verify(k->key[0], EVP_sha256(), 0, 0, msg, sizeof(msg), sig, sig_len), 1);
    assert_int_not_equal(
        independent_verify(k->key[0], EVP_sha384(), 0, 0, msg, sizeof(msg), sig, sig_len), 1);
    free(sig);
    assert_int_equal(crypto_sign(k->key[1], msg, sizeof(msg), &sig, &sig_len), ENLACE_OK);
    assert_int_equal(
        independent_verify(k->key[1], EVP_sha384(), 0, 0, msg, sizeof(msg), sig, sig_len), 1);
    free(sig);

    /* RSA: PSS with a 32-byte salt and MGF1-SHA-256; PKCS#1 v1.5 does not verify. */
    assert_int_equal(crypto_sign(k->key[4], msg, sizeof(msg), &sig, &sig_len), ENLACE_OK);
    assert_int_equal(sig_len, 256);
    assert_int_equal(independent_verify(k->key[4], EVP_sha256(), RSA_PKCS1_PSS_PADDING, 32, msg,
                                        sizeof(msg), sig, sig_len),
                     1);
    assert_int_not_equal(independent_verify(k->key[4], EVP_sha256(), RSA_PKCS1_PSS_PADDING, 20, msg,
                                            sizeof(msg), sig, sig_len),
                         1);
    assert_int_not_equal(independent_verify(k->key[4], EVP_sha256(), RSA_PKCS1_PADDING, 0, msg,
                                            sizeof(msg), sig, sig_len),
                         1);
    free(sig);
}

/* --------------------------------------------------------------- key files */

typedef struct {
    char dir[64];
    char priv[128], pub[128], enc[128], junk[128];
} files_t;

static void write_key_files(files_t *f, EVP_PKEY *key)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_crypto.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->priv, sizeof(f->priv), "%s/priv.pem", f->dir);
    snprintf(f->pub, sizeof(f->pub), "%s/pub.pem", f->dir);
    snprintf(f->enc, sizeof(f->enc), "%s/enc.pem", f->dir);
    snprintf(f->junk, sizeof(f->junk), "%s/junk.pem", f->dir);

    FILE *fp = fopen(f->priv, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(fp);
    fp = fopen(f->pub, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PUBKEY(fp, key), 1);
    fclose(fp);
    fp = fopen(f->enc, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PKCS8PrivateKey(fp, key, EVP_aes_256_cbc(), "secret", 6, NULL, NULL),
                     1);
    fclose(fp);
    fp = fopen(f->junk, "w");
    assert_non_null(fp);
    fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", fp);
    fclose(fp);
}

static void remove_key_files(files_t *f)
{
    unlink(f->priv);
    unlink(f->pub);
    unlink(f->enc);
    unlink(f->junk);
    rmdir(f->dir);
}

static void test_load_keys(void **state)
{
    keys_t *k = *state;
    for (size_t i = 0; i < N_ACCEPTED; i++) {
        files_t f;
        write_key_files(&f, k->key[i]);

        EVP_PKEY *priv = crypto_load_private_key(f.priv);
        EVP_PKEY *pub = crypto_load_public_key(f.pub);
        assert_non_null(priv);
        assert_non_null(pub);
        assert_int_equal(EVP_PKEY_eq(priv, k->key[i]), 1);
        assert_int_equal(EVP_PKEY_eq(pub, k->key[i]), 1);
        uint8_t *sig = NULL;
        size_t sig_len = 0;
        assert_int_equal(crypto_sign(priv, (const uint8_t *)"x", 1, &sig, &sig_len), ENLACE_OK);
        assert_int_equal(crypto_verify(pub, (const uint8_t *)"x", 1, sig, sig_len), ENLACE_OK);
        free(sig);
        EVP_PKEY_free(priv);
        EVP_PKEY_free(pub);

        /* Refusals: encrypted (no prompt), wrong kind of PEM, garbage, missing, NULL. */
        assert_null(crypto_load_private_key(f.enc));
        assert_null(crypto_load_private_key(f.pub));
        assert_null(crypto_load_public_key(f.priv));
        assert_null(crypto_load_private_key(f.junk));
        assert_null(crypto_load_private_key("/nonexistent/key.pem"));
        assert_null(crypto_load_public_key("/nonexistent/key.pem"));
        assert_null(crypto_load_private_key(NULL));
        assert_null(crypto_load_public_key(NULL));
        remove_key_files(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_sign_verify_round_trip),
        cmocka_unit_test(test_verify_refusals),
        cmocka_unit_test(test_unsupported_keys),
        cmocka_unit_test(test_sign_needs_private_key),
        cmocka_unit_test(test_ed25519_rfc8032),
        cmocka_unit_test(test_scheme_parameters),
        cmocka_unit_test(test_load_keys),
    };
    return cmocka_run_group_tests_name("crypto", tests, keys_setup, keys_teardown);
}
