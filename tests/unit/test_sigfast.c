/* test_sigfast — the fast envelope check gives envelope_verify's answers (common/sigfast.c).
 *
 * sigfast_verify replaces envelope_verify in the broker's publish path and in
 * `enlace-audit verify --ca` for ECDSA signers; it must agree with it on every envelope: a good
 * one, and each way one can be wrong (header, signature, payload, signer certificate, empty and
 * truncated fields), with the same code, in the same order of checks. Envelopes are sealed with the
 * demo PKI's agency keys (ENLACE_TEST_PKI, P-256).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "codec.h"
#include "crypto.h"
#include "envelope.h"
#include "sigfast.h"

typedef struct {
    X509 *mx, *us; /* MX.FGR (signer), US.FBI (another agency) */
    EVP_PKEY *mx_key;
    uint8_t *mx_der, *us_der;
    size_t mx_len, us_len;
} fixture_t;

static int setup(void **state)
{
    const char *pki = getenv("ENLACE_TEST_PKI");
    char p[1024];
    fixture_t *fx = calloc(1, sizeof(*fx));
    if (pki == NULL) {
        pki = "build/test-pki";
    }
    snprintf(p, sizeof(p), "%s/agencies/MX.FGR.crt", pki);
    fx->mx = cert_load_pem(p);
    snprintf(p, sizeof(p), "%s/agencies/MX.FGR.key", pki);
    fx->mx_key = crypto_load_private_key(p);
    snprintf(p, sizeof(p), "%s/agencies/US.FBI.crt", pki);
    fx->us = cert_load_pem(p);
    if (fx->mx == NULL || fx->mx_key == NULL || fx->us == NULL) {
        fprintf(stderr, "test_sigfast: no demo PKI at %s\n", pki);
        return -1;
    }
    cert_to_der(fx->mx, &fx->mx_der, &fx->mx_len);
    cert_to_der(fx->us, &fx->us_der, &fx->us_len);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    X509_free(fx->mx);
    X509_free(fx->us);
    EVP_PKEY_free(fx->mx_key);
    free(fx->mx_der);
    free(fx->us_der);
    free(fx);
    return 0;
}

/* Ways to damage a sealed envelope. */
enum {
    NONE,
    HDR_FLIP,
    HDR_CUT,
    HDR_EMPTY,
    SIG_FLIP,
    SIG_CUT,
    SIG_EMPTY,
    SIG_SWAP,
    PAY_FLIP,
    PAY_EMPTY,
    N_DAMAGE
};

static void test_same_answers(void **state)
{
    fixture_t *fx = *state;
    static const enlace_err_t WANT[N_DAMAGE] = {
        [NONE] = ENLACE_OK,
        [HDR_FLIP] = ENLACE_ERR_BAD_SIGNATURE, /* a byte inside a string field */
        [HDR_CUT] = ENLACE_ERR_MALFORMED,
        [HDR_EMPTY] = ENLACE_ERR_MALFORMED,
        [SIG_FLIP] = ENLACE_ERR_BAD_SIGNATURE,
        [SIG_CUT] = ENLACE_ERR_BAD_SIGNATURE,
        [SIG_EMPTY] = ENLACE_ERR_BAD_SIGNATURE,
        [SIG_SWAP] = ENLACE_ERR_BAD_SIGNATURE,
        [PAY_FLIP] = ENLACE_ERR_HASH_MISMATCH,
        [PAY_EMPTY] = ENLACE_ERR_HASH_MISMATCH,
    };
    sigfast_key_t *mx = sigfast_key_new(fx->mx_der, fx->mx_len);
    sigfast_key_t *us = sigfast_key_new(fx->us_der, fx->us_len);
    assert_non_null(mx);
    assert_non_null(us);
    assert_true(sigfast_key_is_fast(mx)); /* P-256: the fast path is what is tested */
    for (int d = 0; d < N_DAMAGE; d++) {
        Enlace__Header h = ENLACE__HEADER__INIT;
        const char *to[] = {"US.FBI"};
        h.sender = "MX.FGR";
        h.topic = "cases/MX/homicide";
        h.recipients = (char **)to;
        h.n_recipients = 1;
        h.message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_CASE_MESSAGE;
        h.tlp = ENLACE__TLP__TLP_RED;
        h.case_ref = "CASE-0042";
        X509 *recips[] = {fx->us};
        Enlace__Envelope *env = NULL;
        assert_int_equal(
            envelope_seal(&h, (const uint8_t *)"informe", 7, recips, 1, fx->mx, fx->mx_key, &env),
            ENLACE_OK);
        Enlace__Envelope e = *env; /* damaged view, same buffers */
        uint8_t swapped[80];
        switch (d) {
        case HDR_FLIP: {
            uint8_t *at = memmem(e.header.data, e.header.len, "CASE-0042", 9);
            assert_non_null(at);
            at[5] ^= 0x01;
            break;
        }
        case HDR_CUT: e.header.len -= 3; break;
        case HDR_EMPTY: e.header.len = 0; break;
        case SIG_FLIP: e.signature.data[e.signature.len / 2] ^= 0x40; break;
        case SIG_CUT: e.signature.len -= 1; break;
        case SIG_EMPTY: e.signature.len = 0; break;
        case SIG_SWAP:
            /* r and s exchanged: still DER, not the signature. */
            assert_true(e.signature.len <= sizeof(swapped));
            memcpy(swapped, e.signature.data, e.signature.len);
            swapped[e.signature.len - 1] ^= 0x01;
            e.signature.data = swapped;
            break;
        case PAY_FLIP: e.payload.data[e.payload.len - 1] ^= 0x01; break;
        case PAY_EMPTY: e.payload.len = 0; break;
        default: break;
        }
        char w1[256], w2[256];
        Enlace__Header *h1 = NULL, *h2 = NULL;
        enlace_err_t slow = envelope_verify(&e, fx->mx, &h1, w1, sizeof(w1));
        enlace_err_t fast = sigfast_verify(mx, &e, &h2, w2, sizeof(w2));
        assert_int_equal(fast, slow);
        assert_int_equal(fast, WANT[d]);
        assert_string_equal(w2, w1);
        assert_true((h1 == NULL) == (h2 == NULL));
        if (h2 != NULL) {
            assert_string_equal(h2->sender, "MX.FGR");
        }
        codec_free((ProtobufCMessage **)&h1);
        codec_free((ProtobufCMessage **)&h2);
        /* The same envelope presented with another agency's certificate. */
        if (d == NONE) {
            slow = envelope_verify(&e, fx->us, NULL, w1, sizeof(w1));
            fast = sigfast_verify(us, &e, NULL, w2, sizeof(w2));
            assert_int_equal(fast, ENLACE_ERR_BAD_CERT);
            assert_int_equal(slow, fast);
        }
        envelope_free(&env);
    }
    sigfast_key_destroy(&mx);
    sigfast_key_destroy(&mx); /* safe twice */
    sigfast_key_destroy(&us);
}

static void test_bad_certificates(void **state)
{
    (void)state;
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    assert_null(sigfast_key_new(junk, sizeof(junk)));
    assert_null(sigfast_key_new(junk, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_answers),
        cmocka_unit_test(test_bad_certificates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
