/* test_client_message — specification of the recipient-side checks of libenlace
 * (client/lib/message.c: message_from_deliver), without a broker.
 *
 * A delivery is a verified message only when: the sender certificate (Deliver.signer_cert)
 * chains to the recipient's own CA bundle with clientAuth and is not revoked or expired;
 * the header decodes and names that certificate; the signature and payload hash verify;
 * the certificate's agency id is the header's sender; the topic lies inside the
 * subscription filter; the payload decrypts for the recipient. Otherwise the message is
 * rejected with the matching code and a reason, carries no payload, and still shows the
 * sequence number and (unverified) sender for the report.
 * The recipient here is US.FBI; senders come from the demo PKI (ENLACE_TEST_PKI).
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

#include "cert.h"
#include "codec.h"
#include "conn.h"
#include "crypto.h"
#include "envelope.h"
#include "message.h"
#include "publish.h"

#define NOW 1714564800000ULL

static char pki[512];
static char tmp_dir[64];
static enlace_conn_t *conn; /* a connection struct with identity and trust, no socket */
static conn_sub_t sub;      /* subscription "desk" on alerts/# */

static char *pki_path(const char *rel)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", pki, rel);
    return buf[k];
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_client_message.XXXXXX");
    if (mkdtemp(tmp_dir) == NULL)
        return -1;
    const char *env = getenv("ENLACE_TEST_PKI");
    if (env != NULL && *env) {
        snprintf(pki, sizeof pki, "%s", env);
    } else {
        char src[400], cmd[1200];
        snprintf(src, sizeof src, "%s", __FILE__);
        char *cut = strstr(src, "tests/unit/");
        if (cut == NULL)
            return -1;
        *cut = '\0';
        snprintf(pki, sizeof pki, "%s/pki", tmp_dir);
        snprintf(cmd, sizeof cmd, "bash '%s/certs/enlace-pki.sh' --out '%s' --force --quiet",
                 src[0] ? src : ".", pki);
        if (system(cmd) != 0)
            return -1;
    }
    conn = calloc(1, sizeof *conn);
    char why[256];
    conn->trust = cert_trust_load(pki_path("ca.pem"), pki_path("crl.pem"), why, sizeof why);
    conn->my_cert = cert_load_pem(pki_path("agencies/US.FBI.crt"));
    conn->my_key = crypto_load_private_key(pki_path("agencies/US.FBI.key"));
    snprintf(conn->my_id, sizeof conn->my_id, "US.FBI");
    conn->generation = 3;
    conn->down_rc = ENLACE_ERR_CLOSED;
    sub.local_id = 1;
    sub.remote_id = 7;
    sub.generation = 3;
    sub.name = "desk";
    sub.filter = "alerts/#";
    return conn->trust && conn->my_cert && conn->my_key ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    conn_cert_clear(conn);
    X509_STORE_free(conn->trust);
    X509_free(conn->my_cert);
    EVP_PKEY_free(conn->my_key);
    free(conn);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A sealed message from `who` (file stem under the PKI, e.g. "agencies/MX.FGR") claiming
 * to be `sender`, on `topic`, encrypted to the certificates listed (stems). */
typedef struct {
    Enlace__Envelope *env; /* envelope_free */
    uint8_t *der;          /* signer certificate DER */
    size_t der_len;
    uint8_t id[16];
} sealed_t;

static void seal(sealed_t *s, const char *who, const char *sender, const char *topic,
                 const char *const *to, size_t n_to, const char *payload)
{
    char path[300];
    snprintf(path, sizeof path, "%s.crt", who);
    X509 *signer = cert_load_pem(pki_path(path));
    snprintf(path, sizeof path, "%s.key", who);
    EVP_PKEY *key = crypto_load_private_key(pki_path(path));
    assert_non_null(signer);
    assert_non_null(key);
    X509 *rcpt[8];
    for (size_t i = 0; i < n_to; i++) {
        snprintf(path, sizeof path, "%s.crt", to[i]);
        rcpt[i] = cert_load_pem(pki_path(path));
        assert_non_null(rcpt[i]);
    }
    enlace_publish_params_t p = {.topic = topic,
                                 .tlp = ENLACE_TLP_AMBER,
                                 .type = ENLACE_TYPE_ALERT,
                                 .handling = ENLACE_HANDLING_H2,
                                 .case_ref = "C-42"};
    publish_header_t hb;
    char why[256];
    assert_int_equal(publish_build_header(&p, sender, NOW, &hb, why, sizeof why), ENLACE_OK);
    memcpy(s->id, hb.message_id, 16);
    assert_int_equal(envelope_seal(&hb.hdr, (const uint8_t *)payload, strlen(payload), rcpt, n_to,
                                   signer, key, &s->env),
                     ENLACE_OK);
    assert_int_equal(cert_to_der(signer, &s->der, &s->der_len), ENLACE_OK);
    for (size_t i = 0; i < n_to; i++)
        X509_free(rcpt[i]);
    X509_free(signer);
    EVP_PKEY_free(key);
}

static void unseal(sealed_t *s)
{
    envelope_free(&s->env);
    free(s->der);
    s->der = NULL;
}

static Enlace__Deliver deliver_of(const sealed_t *s)
{
    Enlace__Deliver d = ENLACE__DELIVER__INIT;
    d.subscription_id = 7;
    d.seq = 42;
    d.envelope = s->env;
    d.logged_at_ms = NOW + 5;
    d.has_signer_cert = true;
    d.signer_cert.data = s->der;
    d.signer_cert.len = s->der_len;
    return d;
}

static const char *const TO_FBI[] = {"agencies/US.FBI", "agencies/MX.FGR"};

/* ---- the verified path -------------------------------------------------------------- */

static void test_good_message(void **state)
{
    (void)state;
    sealed_t s;
    seal(&s, "agencies/MX.FGR", "MX.FGR", "alerts/trafficking", TO_FBI, 2, "hola FBI");
    Enlace__Deliver d = deliver_of(&s);
    enlace_message_t *m = NULL;
    assert_int_equal(message_from_deliver(conn, &d, &sub, &m), ENLACE_OK);
    assert_int_equal(enlace_message_status(m), ENLACE_OK);
    assert_string_equal(enlace_message_error(m), "");
    size_t n = 0;
    const uint8_t *p = enlace_message_payload(m, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(p, "hola FBI", 8);
    assert_memory_equal(enlace_message_id(m), s.id, 16);
    assert_string_equal(enlace_message_sender(m), "MX.FGR");
    assert_string_equal(enlace_message_topic(m), "alerts/trafficking");
    assert_int_equal(enlace_message_tlp(m), ENLACE_TLP_AMBER);
    assert_int_equal(enlace_message_type(m), ENLACE_TYPE_ALERT);
    assert_int_equal(enlace_message_handling(m), ENLACE_HANDLING_H2);
    assert_string_equal(enlace_message_case_ref(m), "C-42");
    assert_int_equal(enlace_message_seq(m), 42);
    assert_int_equal(enlace_message_logged_at_ms(m), NOW + 5);
    assert_int_equal(enlace_message_created_at_ms(m), NOW);
    assert_int_equal(enlace_message_subscription(m), 1); /* the local id */
    uint8_t fp[32], want[32];
    assert_true(enlace_message_signer_fingerprint(m, fp));
    sha256(s.der, s.der_len, want);
    assert_memory_equal(fp, want, 32);
    uint32_t local, remote, gen;
    uint64_t seq;
    assert_true(message_ack_target(m, &local, &remote, &gen, &seq));
    assert_int_equal(remote, 7);
    assert_int_equal(gen, 3);
    assert_int_equal(seq, 42);
    enlace_message_free(&m);
    assert_null(m);
    enlace_message_free(&m);
    /* Second time: the sender certificate comes from the cache, same verdict. */
    assert_int_equal(message_from_deliver(conn, &d, &sub, &m), ENLACE_OK);
    enlace_message_free(&m);
    unseal(&s);
}

/* ---- refusals ------------------------------------------------------------------------ */

/* Expect a rejection with code rc and `why` in the reason; the payload is withheld. */
static void expect_rejected(const Enlace__Deliver *d, const conn_sub_t *s, enlace_err_t rc,
                            const char *why)
{
    enlace_message_t *m = NULL;
    enlace_err_t got = message_from_deliver(conn, d, s, &m);
    assert_non_null(m);
    if (got != rc || enlace_message_status(m) != rc || strstr(enlace_message_error(m), why) == NULL)
        fail_msg("got %s '%s', want %s '%s'", enlace_err_str(got), enlace_message_error(m),
                 enlace_err_str(rc), why);
    size_t n = 99;
    assert_null(enlace_message_payload(m, &n));
    assert_int_equal(n, 0);
    assert_int_equal(enlace_message_seq(m), 42); /* for the report */
    enlace_message_free(&m);
}

typedef struct {
    const char *name;   /* what the row shows */
    const char *who;    /* signing identity (PKI stem) */
    const char *sender; /* header sender */
    enlace_err_t rc;    /* expected code */
    const char *why;    /* expected reason substring */
} signer_case_t;

static const signer_case_t SIGNERS[] = {
    {"foreign CA", "bad/foreign", "MX.FGR", ENLACE_ERR_BAD_CERT, "sender certificate not trusted"},
    {"revoked", "bad/revoked", "BR.PF", ENLACE_ERR_BAD_CERT, "revoked"},
    {"expired", "bad/expired", "US.FBI", ENLACE_ERR_BAD_CERT, "expired"},
    {"serverAuth only", "bad/wrong-eku", "MX.FGR", ENLACE_ERR_BAD_CERT, "not trusted"},
    {"sender is not the signer", "agencies/MX.FGR", "CO.DIJIN", ENLACE_ERR_BAD_CERT,
     "signed by MX.FGR's certificate but header sender is CO.DIJIN"},
};

static void test_signer_refusals_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof SIGNERS / sizeof SIGNERS[0]; i++) {
        const signer_case_t *c = &SIGNERS[i];
        sealed_t s;
        seal(&s, c->who, c->sender, "alerts/x", TO_FBI, 2, "x");
        Enlace__Deliver d = deliver_of(&s);
        enlace_message_t *m = NULL;
        enlace_err_t got = message_from_deliver(conn, &d, &sub, &m);
        if (got != c->rc || strstr(enlace_message_error(m), c->why) == NULL)
            fail_msg("%s: got %s '%s'", c->name, enlace_err_str(got), enlace_message_error(m));
        assert_null(enlace_message_payload(m, NULL));
        assert_string_equal(enlace_message_sender(m), c->sender); /* claimed, for the report */
        enlace_message_free(&m);
        unseal(&s);
    }
}

static void test_wrong_certificate_attached(void **state)
{
    (void)state;
    /* Signed by MX.FGR, delivered with CO.DIJIN's (valid) certificate. */
    sealed_t s;
    seal(&s, "agencies/MX.FGR", "MX.FGR", "alerts/x", TO_FBI, 2, "x");
    X509 *other = cert_load_pem(pki_path("agencies/CO.DIJIN.crt"));
    uint8_t *der = NULL;
    size_t len = 0;
    assert_int_equal(cert_to_der(other, &der, &len), ENLACE_OK);
    Enlace__Deliver d = deliver_of(&s);
    d.signer_cert.data = der;
    d.signer_cert.len = len;
    expect_rejected(&d, &sub, ENLACE_ERR_BAD_CERT, "signer");
    /* Garbage instead of a certificate. */
    uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    d.signer_cert.data = junk;
    d.signer_cert.len = sizeof junk;
    expect_rejected(&d, &sub, ENLACE_ERR_BAD_CERT, "does not parse");
    free(der);
    X509_free(other);
    unseal(&s);
}

static void test_tampered_signature(void **state)
{
    (void)state;
    sealed_t s;
    seal(&s, "agencies/MX.FGR", "MX.FGR", "alerts/x", TO_FBI, 2, "x");
    s.env->signature.data[s.env->signature.len / 2] ^= 0x01;
    Enlace__Deliver d = deliver_of(&s);
    expect_rejected(&d, &sub, ENLACE_ERR_BAD_SIGNATURE, "");
    unseal(&s);
}

static void test_tampered_payload(void **state)
{
    (void)state;
    sealed_t s;
    seal(&s, "agencies/MX.FGR", "MX.FGR", "alerts/x", TO_FBI, 2, "x");
    s.env->payload.data[s.env->payload.len - 1] ^= 0x80;
    Enlace__Deliver d = deliver_of(&s);
    expect_rejected(&d, &sub, ENLACE_ERR_HASH_MISMATCH, "");
    unseal(&s);
}

static void test_readdressed_header(void **state)
{
    (void)state;
    /* The broker (or anyone) adds a recipient to the signed header: signature fails. */
    sealed_t s;
    seal(&s, "agencies/MX.FGR", "MX.FGR", "alerts/x", TO_FBI, 2, "x");
    Enlace__Header *h = NULL;
    char why[128];
    assert_int_equal(
        codec_decode_header(s.env->header.data, s.env->header.len, &h, why, sizeof why), ENLACE_OK);
    char *extra[] = {"US.FBI"};
    h->recipients = extra;
    h->n_recipients = 1;
    uint8_t *packed = NULL;
    size_t len = 0;
    assert_int_equal(codec_pack((const ProtobufCMessage *)h, &packed, &len), ENLACE_OK);
    h->recipients = NULL;
    h->n_recipients = 0;
    codec_free((ProtobufCMessage **)&h);
    free(s.env->header.data);
    s.env->header.data = packed;
    s.env->header.len = len;
    Enlace__Deliver d = deliver_of(&s);
    expect_rejected(&d, &sub, ENLACE_ERR_BAD_SIGNATURE, "");
    unseal(&s);
}

static void test_undecodable_header(void **state)
{
    (void)state;
    sealed_t s;
    seal(&s, "agencies/MX.FGR", "MX.FGR", "alerts/x", TO_FBI, 2, "x");
    memset(s.env->header.data, 0xff, s.env->header.len);
    Enlace__Deliver d = deliver_of(&s);
    enlace_message_t *m = NULL;
    assert_int_equal(message_from_deliver(conn, &d, &sub, &m), ENLACE_ERR_MALFORMED);
    assert_null(enlace_message_id(m));
    assert_string_equal(enlace_message_sender(m), "");
    assert_non_null(strstr(enlace_message_error(m), "header does not decode"));
    enlace_message_free(&m);
    unseal(&s);
}

static void test_not_a_recipient(void **state)
{
    (void)state;
    static const char *const to_co[] = {"agencies/CO.DIJIN", "agencies/MX.FGR"};
    sealed_t s;
    seal(&s, "agencies/MX.FGR", "MX.FGR", "alerts/x", to_co, 2, "not for the FBI");
    Enlace__Deliver d = deliver_of(&s);
    expect_rejected(&d, &sub, ENLACE_ERR_DECRYPT, "does not decrypt for us");
    unseal(&s);
}

static void test_topic_outside_filter(void **state)
{
    (void)state;
    sealed_t s;
    seal(&s, "agencies/MX.FGR", "MX.FGR", "cases/MX/1", TO_FBI, 2, "x");
    Enlace__Deliver d = deliver_of(&s);
    expect_rejected(&d, &sub, ENLACE_ERR_PROTOCOL,
                    "topic cases/MX/1 is outside the subscription filter alerts/#");
    unseal(&s);
}

static void test_signed_garbage_payload(void **state)
{
    (void)state;
    /* Correctly signed and hashed, but the payload is not CMS: no plaintext, DECRYPT. */
    X509 *signer = cert_load_pem(pki_path("agencies/MX.FGR.crt"));
    EVP_PKEY *key = crypto_load_private_key(pki_path("agencies/MX.FGR.key"));
    enlace_publish_params_t p = {.topic = "alerts/x", .tlp = ENLACE_TLP_GREEN};
    publish_header_t hb;
    char why[128];
    assert_int_equal(publish_build_header(&p, "MX.FGR", NOW, &hb, why, sizeof why), ENLACE_OK);
    uint8_t garbage[64], payload_hash[32], signer_hash[32];
    memset(garbage, 'G', sizeof garbage);
    sha256(garbage, sizeof garbage, payload_hash);
    assert_int_equal(cert_sha256(signer, signer_hash), ENLACE_OK);
    hb.hdr.payload_sha256.data = payload_hash;
    hb.hdr.payload_sha256.len = 32;
    hb.hdr.signer_cert_sha256.data = signer_hash;
    hb.hdr.signer_cert_sha256.len = 32;
    uint8_t *hdr = NULL, *input = NULL, *sig = NULL;
    size_t hdr_len = 0, input_len = 0, sig_len = 0;
    assert_int_equal(codec_pack((const ProtobufCMessage *)&hb.hdr, &hdr, &hdr_len), ENLACE_OK);
    assert_int_equal(envelope_signature_input(hdr, hdr_len, &input, &input_len), ENLACE_OK);
    assert_int_equal(crypto_sign(key, input, input_len, &sig, &sig_len), ENLACE_OK);
    Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
    env.header.data = hdr;
    env.header.len = hdr_len;
    env.payload.data = garbage;
    env.payload.len = sizeof garbage;
    env.signature.data = sig;
    env.signature.len = sig_len;
    uint8_t *der = NULL;
    size_t der_len = 0;
    assert_int_equal(cert_to_der(signer, &der, &der_len), ENLACE_OK);
    Enlace__Deliver d = ENLACE__DELIVER__INIT;
    d.subscription_id = 7;
    d.seq = 42;
    d.envelope = &env;
    d.has_signer_cert = true;
    d.signer_cert.data = der;
    d.signer_cert.len = der_len;
    expect_rejected(&d, &sub, ENLACE_ERR_DECRYPT, "does not decrypt");
    free(der);
    free(hdr);
    free(input);
    free(sig);
    X509_free(signer);
    EVP_PKEY_free(key);
}

static void test_no_signer_certificate_and_no_broker(void **state)
{
    (void)state;
    /* Without Deliver.signer_cert the certificate must come from the directory; with no
     * connection there is none, and the message is rejected, not trusted. */
    sealed_t s;
    seal(&s, "agencies/MX.FGR", "MX.FGR", "alerts/x", TO_FBI, 2, "x");
    Enlace__Deliver d = deliver_of(&s);
    d.has_signer_cert = false;
    d.signer_cert.len = 0;
    expect_rejected(&d, &sub, ENLACE_ERR_BAD_CERT, "no sender certificate");
    unseal(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_message),
        cmocka_unit_test(test_signer_refusals_table),
        cmocka_unit_test(test_wrong_certificate_attached),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_readdressed_header),
        cmocka_unit_test(test_undecodable_header),
        cmocka_unit_test(test_not_a_recipient),
        cmocka_unit_test(test_topic_outside_filter),
        cmocka_unit_test(test_signed_garbage_payload),
        cmocka_unit_test(test_no_signer_certificate_and_no_broker),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
