/* test_envelope — specification of common/envelope.{h,c}.
 *
 * Happy paths: a message sealed by MX.FGR to US.FBI and CO.DIJIN (and itself) verifies,
 * and every recipient opens it; payloads from 0 bytes to 1 MiB; RSA (RSA-OAEP-SHA256),
 * P-256 and P-384 recipients in one envelope; signers with every accepted key type; the
 * CMS is AuthEnvelopedData with AES-256-GCM and the promised key-management parameters.
 * Refusals, each with its own code: non-recipient or wrong key (DECRYPT), tampered
 * header (BAD_SIGNATURE, or MALFORMED/BAD_CERT where the byte hits structure or the
 * signer digest), tampered payload (HASH_MISMATCH), wrong signer certificate (BAD_CERT),
 * garbage / foreign-algorithm / context-less signatures (BAD_SIGNATURE), undecodable or
 * invalid headers even when correctly signed (MALFORMED), truncated CMS, flipped GCM tag
 * or ciphertext, unauthenticated EnvelopedData (DECRYPT, never any plaintext), and seal
 * arguments that could only produce an unverifiable envelope (INVALID).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "codec.h"
#include "crypto.h"
#include "envelope.h"

/* ------------------------------------------------------------ fixture */

static char pki[512];
static char tmp_dir[128];

/* Use ENLACE_TEST_PKI, or generate the demo PKI into a temporary directory. */
static int make_pki(void)
{
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_envelope.XXXXXX");
    if (mkdtemp(tmp_dir) == NULL) {
        return -1;
    }
    const char *env = getenv("ENLACE_TEST_PKI");
    if (env != NULL && *env != '\0') {
        snprintf(pki, sizeof(pki), "%s", env);
        return 0;
    }
    char src[400];
    const char *src_env = getenv("ENLACE_SOURCE_DIR");
    if (src_env != NULL && *src_env != '\0') {
        snprintf(src, sizeof(src), "%s", src_env);
    } else {
        snprintf(src, sizeof(src), "%s", __FILE__); /* <root>/tests/unit/test_envelope.c */
        char *cut = strstr(src, "tests/unit/");
        if (cut == NULL) {
            return -1;
        }
        *cut = '\0';
        if (src[0] == '\0') {
            snprintf(src, sizeof(src), ".");
        }
    }
    snprintf(pki, sizeof(pki), "%s/pki", tmp_dir);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "bash '%s/certs/enlace-pki.sh' --out '%s' --force --quiet", src,
             pki);
    if (system(cmd) != 0) {
        fprintf(stderr, "test PKI: '%s' failed\n", cmd);
        return -1;
    }
    return 0;
}

/* The demo agencies used here. */
enum { FGR, FBI, DIJIN, PNC, N_AGENCIES };
static const char *const agency_ids[N_AGENCIES] = {"MX.FGR", "US.FBI", "CO.DIJIN", "GT.PNC"};

typedef struct {
    X509 *cert[N_AGENCIES];
    EVP_PKEY *key[N_AGENCIES];
    /* In-test identities (self-signed: CMS and signatures need no chain). */
    EVP_PKEY *rsa_key, *p384_key, *ed_key, *p521_key;
    X509 *rsa_cert, *p384_cert, *ed_cert, *p521_cert;
} fixture_t;

/* A self-signed client certificate for agency `id` with key. */
static X509 *self_signed(EVP_PKEY *key, const char *id)
{
    X509 *c = X509_new();
    assert_non_null(c);
    X509_set_version(c, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)id, -1, -1, 0);
    X509_set_issuer_name(c, name);
    X509_time_adj_ex(X509_getm_notBefore(c), -1, 0, NULL);
    X509_time_adj_ex(X509_getm_notAfter(c), 30, 0, NULL);
    X509_set_pubkey(c, key);
    char uri[128];
    snprintf(uri, sizeof(uri), "URI:urn:enlace:agency:%s", id);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, c, c, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, uri);
    assert_non_null(ex);
    X509_add_ext(c, ex, -1);
    X509_EXTENSION_free(ex);
    bool eddsa = EVP_PKEY_is_a(key, "ED25519");
    assert_true(X509_sign(c, key, eddsa ? NULL : EVP_sha256()) > 0);
    return c;
}

static int fixture_setup(void **state)
{
    if (make_pki() != 0) {
        return -1;
    }
    fixture_t *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return -1;
    }
    for (int i = 0; i < N_AGENCIES; i++) {
        char path[700];
        snprintf(path, sizeof(path), "%s/agencies/%s.crt", pki, agency_ids[i]);
        f->cert[i] = cert_load_pem(path);
        snprintf(path, sizeof(path), "%s/agencies/%s.key", pki, agency_ids[i]);
        f->key[i] = crypto_load_private_key(path);
        if (f->cert[i] == NULL || f->key[i] == NULL) {
            fprintf(stderr, "cannot load %s\n", path);
            return -1;
        }
    }
    f->rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    f->p384_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    f->ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    f->p521_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    f->rsa_cert = self_signed(f->rsa_key, "BR.PF");
    f->p384_cert = self_signed(f->p384_key, "GT.PNC");
    f->ed_cert = self_signed(f->ed_key, "INTERPOL.NCB-MEX");
    f->p521_cert = self_signed(f->p521_key, "XX.P521");
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; f && i < N_AGENCIES; i++) {
        X509_free(f->cert[i]);
        EVP_PKEY_free(f->key[i]);
    }
    if (f) {
        EVP_PKEY_free(f->rsa_key);
        EVP_PKEY_free(f->p384_key);
        EVP_PKEY_free(f->ed_key);
        EVP_PKEY_free(f->p521_key);
        X509_free(f->rsa_cert);
        X509_free(f->p384_cert);
        X509_free(f->ed_cert);
        X509_free(f->p521_cert);
        free(f);
    }
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ helpers */

static char *default_recipients[] = {"US.FBI", "CO.DIJIN"};

/* A header as a sender fills it in before sealing. */
static void header_init(Enlace__Header *h, const char *sender)
{
    enlace__header__init(h);
    h->sender = (char *)sender;
    h->topic = "alerts/trafficking";
    h->recipients = default_recipients;
    h->n_recipients = 2;
    h->message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_ALERT;
    h->tlp = ENLACE__TLP__TLP_AMBER;
    h->case_ref = "FGR/2026/0042";
}

/* Seal `plain` from MX.FGR to the given recipients. */
static Enlace__Envelope *seal_from_fgr(fixture_t *f, const char *plain, X509 *const *recips,
                                       size_t n)
{
    Enlace__Header h;
    header_init(&h, "MX.FGR");
    Enlace__Envelope *env = NULL;
    assert_int_equal(envelope_seal(&h, (const uint8_t *)plain, strlen(plain), recips, n,
                                   f->cert[FGR], f->key[FGR], &env),
                     ENLACE_OK);
    assert_non_null(env);
    return env;
}

/* An envelope whose three byte strings the test owns and may change. */
typedef struct {
    Enlace__Envelope env;
} owned_t;

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    assert_non_null(d);
    if (n) {
        memcpy(d, p, n);
    }
    return d;
}

static void owned_copy(owned_t *o, const Enlace__Envelope *src)
{
    enlace__envelope__init(&o->env);
    o->env.header.len = src->header.len;
    o->env.header.data = dup_bytes(src->header.data, src->header.len);
    o->env.payload.len = src->payload.len;
    o->env.payload.data = dup_bytes(src->payload.data, src->payload.len);
    o->env.signature.len = src->signature.len;
    o->env.signature.data = dup_bytes(src->signature.data, src->signature.len);
}

static void owned_free(owned_t *o)
{
    free(o->env.header.data);
    free(o->env.payload.data);
    free(o->env.signature.data);
}

/* Replace o's header with `h` packed, signed by key over context || 0 || header. */
static void owned_resign(owned_t *o, const Enlace__Header *h, EVP_PKEY *key)
{
    free(o->env.header.data);
    o->env.header.len = enlace__header__get_packed_size(h);
    o->env.header.data = malloc(o->env.header.len + 1);
    assert_non_null(o->env.header.data);
    enlace__header__pack(h, o->env.header.data);
    uint8_t *input = NULL;
    size_t input_len = 0;
    assert_int_equal(
        envelope_signature_input(o->env.header.data, o->env.header.len, &input, &input_len),
        ENLACE_OK);
    free(o->env.signature.data);
    assert_int_equal(
        crypto_sign(key, input, input_len, &o->env.signature.data, &o->env.signature.len),
        ENLACE_OK);
    free(input);
}

static enlace_err_t verify(const Enlace__Envelope *env, X509 *signer, char *why, size_t why_len)
{
    Enlace__Header *h = NULL;
    enlace_err_t rc = envelope_verify(env, signer, &h, why, why_len);
    if (rc == ENLACE_OK) {
        assert_non_null(h);
    } else {
        assert_null(h);
    }
    codec_free((ProtobufCMessage **)&h);
    return rc;
}

/* Open and check that a refusal leaves no plaintext behind. */
static enlace_err_t open_env(const Enlace__Envelope *env, X509 *cert, EVP_PKEY *key,
                             const char *expect)
{
    uint8_t *plain = (uint8_t *)"sentinel";
    size_t plain_len = 99;
    enlace_err_t rc = envelope_open(env, cert, key, &plain, &plain_len);
    if (rc == ENLACE_OK) {
        assert_non_null(plain);
        if (expect != NULL) {
            assert_int_equal(plain_len, strlen(expect));
            assert_memory_equal(plain, expect, plain_len);
        }
        free(plain);
    } else {
        assert_null(plain);
        assert_int_equal(plain_len, 0);
    }
    return rc;
}

/* ------------------------------------------------------------- tests */

static void test_signature_input(void **state)
{
    (void)state;
    static const uint8_t hdr[] = {0x0a, 0x10, 0xff, 0x00};
    static const uint8_t want[] = "enlace-envelope-v1\0\x0a\x10\xff"; /* + final 0x00 */
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(envelope_signature_input(hdr, sizeof(hdr), &out, &len), ENLACE_OK);
    assert_int_equal(len, 19 + sizeof(hdr));
    assert_memory_equal(out, want, len); /* sizeof(want) includes the literal's NUL */
    free(out);
    assert_int_equal(envelope_signature_input(NULL, 0, &out, &len), ENLACE_OK);
    assert_int_equal(len, 19);
    assert_memory_equal(out, "enlace-envelope-v1", 19);
    free(out);
    assert_int_equal(envelope_signature_input(NULL, 3, &out, &len), ENLACE_ERR_INVALID);
    assert_int_equal(envelope_signature_input(hdr, 1, NULL, &len), ENLACE_ERR_INVALID);
}

static void test_seal_verify_open(void **state)
{
    fixture_t *f = *state;
    static const char plain[] = "Aviso: cargamento en Manzanillo, contenedor MSCU 123456-7";
    X509 *recips[] = {f->cert[FBI], f->cert[DIJIN], f->cert[FGR]};
    Enlace__Header h;
    header_init(&h, "MX.FGR");
    Enlace__Envelope *env = NULL;
    uint64_t before = (uint64_t)time(NULL) * 1000u;
    assert_int_equal(envelope_seal(&h, (const uint8_t *)plain, strlen(plain), recips, 3,
                                   f->cert[FGR], f->key[FGR], &env),
                     ENLACE_OK);

    /* The header was completed in place. */
    uint8_t digest[32];
    assert_int_equal(h.message_id.len, 16);
    assert_true(h.created_at_ms >= before && h.created_at_ms < before + 60000);
    sha256(env->payload.data, env->payload.len, digest);
    assert_int_equal(h.payload_sha256.len, 32);
    assert_memory_equal(h.payload_sha256.data, digest, 32);
    assert_int_equal(cert_sha256(f->cert[FGR], digest), ENLACE_OK);
    assert_memory_equal(h.signer_cert_sha256.data, digest, 32);

    /* Verifies, and the decoded header says what was sealed. */
    char why[256];
    Enlace__Header *got = NULL;
    assert_int_equal(envelope_verify(env, f->cert[FGR], &got, why, sizeof(why)), ENLACE_OK);
    assert_string_equal(got->sender, "MX.FGR");
    assert_string_equal(got->topic, "alerts/trafficking");
    assert_int_equal(got->n_recipients, 2);
    assert_string_equal(got->recipients[1], "CO.DIJIN");
    assert_string_equal(got->case_ref, "FGR/2026/0042");
    assert_int_equal(got->created_at_ms, h.created_at_ms);
    assert_memory_equal(got->message_id.data, h.message_id.data, 16);
    assert_int_equal(envelope_check_sender(got, f->cert[FGR], why, sizeof(why)), ENLACE_OK);
    codec_free((ProtobufCMessage **)&got);
    assert_int_equal(envelope_verify(env, f->cert[FGR], NULL, why, sizeof(why)), ENLACE_OK);

    /* Each recipient (the sender's own copy included) opens it; others cannot. */
    assert_int_equal(open_env(env, f->cert[FBI], f->key[FBI], plain), ENLACE_OK);
    assert_int_equal(open_env(env, f->cert[DIJIN], f->key[DIJIN], plain), ENLACE_OK);
    assert_int_equal(open_env(env, f->cert[FGR], f->key[FGR], plain), ENLACE_OK);
    assert_int_equal(open_env(env, f->cert[PNC], f->key[PNC], NULL), ENLACE_ERR_DECRYPT);
    /* A recipient's certificate with another key, and the reverse. */
    assert_int_equal(open_env(env, f->cert[FBI], f->key[DIJIN], NULL), ENLACE_ERR_DECRYPT);
    assert_int_equal(open_env(env, f->cert[PNC], f->key[FBI], NULL), ENLACE_ERR_DECRYPT);
    envelope_free(&env);
    assert_null(env);
    envelope_free(&env); /* safe twice */
    envelope_free(NULL);
}

static void test_message_id_kept_when_given(void **state)
{
    fixture_t *f = *state;
    uint8_t id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    Enlace__Header h;
    header_init(&h, "MX.FGR");
    h.message_id.data = id;
    h.message_id.len = 16;
    h.created_at_ms = 1700000000000u;
    X509 *recips[] = {f->cert[FBI]};
    Enlace__Envelope *env = NULL;
    assert_int_equal(
        envelope_seal(&h, (const uint8_t *)"x", 1, recips, 1, f->cert[FGR], f->key[FGR], &env),
        ENLACE_OK);
    assert_ptr_equal(h.message_id.data, id);
    Enlace__Header *got = NULL;
    assert_int_equal(envelope_verify(env, f->cert[FGR], &got, NULL, 0), ENLACE_OK);
    assert_memory_equal(got->message_id.data, id, 16);
    assert_int_equal(got->created_at_ms, 1700000000000u);
    codec_free((ProtobufCMessage **)&got);
    envelope_free(&env);
}

static void test_payload_sizes(void **state)
{
    fixture_t *f = *state;
    static const size_t sizes[] = {0, 1, 15, 16, 17, 1024, 65537, 1u << 20};
    X509 *recips[] = {f->cert[FBI]};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *plain = malloc(sizes[i] + 1);
        assert_non_null(plain);
        for (size_t j = 0; j < sizes[i]; j++) {
            plain[j] = (uint8_t)(j * 31 + 7);
        }
        Enlace__Header h;
        header_init(&h, "MX.FGR");
        Enlace__Envelope *env = NULL;
        assert_int_equal(envelope_seal(&h, sizes[i] ? plain : NULL, sizes[i], recips, 1,
                                       f->cert[FGR], f->key[FGR], &env),
                         ENLACE_OK);
        assert_int_equal(verify(env, f->cert[FGR], NULL, 0), ENLACE_OK);
        uint8_t *out = NULL;
        size_t out_len = 0;
        assert_int_equal(envelope_open(env, f->cert[FBI], f->key[FBI], &out, &out_len), ENLACE_OK);
        assert_non_null(out);
        assert_int_equal(out_len, sizes[i]);
        if (sizes[i]) {
            assert_memory_equal(out, plain, sizes[i]);
        }
        free(out);
        free(plain);
        envelope_free(&env);
    }
}

/* RSA (OAEP), P-256 and P-384 (ECDH) recipients in one envelope. */
static void test_mixed_recipients(void **state)
{
    fixture_t *f = *state;
    static const char plain[] = "mixed recipients";
    X509 *recips[] = {f->rsa_cert, f->cert[FBI], f->p384_cert};
    Enlace__Envelope *env = seal_from_fgr(f, plain, recips, 3);
    assert_int_equal(open_env(env, f->rsa_cert, f->rsa_key, plain), ENLACE_OK);
    assert_int_equal(open_env(env, f->cert[FBI], f->key[FBI], plain), ENLACE_OK);
    assert_int_equal(open_env(env, f->p384_cert, f->p384_key, plain), ENLACE_OK);
    assert_int_equal(open_env(env, f->cert[DIJIN], f->key[DIJIN], NULL), ENLACE_ERR_DECRYPT);
    /* RSA certificate with the wrong RSA-sized key: refused, no plaintext. */
    assert_int_equal(open_env(env, f->rsa_cert, f->key[FBI], NULL), ENLACE_ERR_DECRYPT);
    envelope_free(&env);
}

/* What the CMS says about itself: the algorithms promised in envelope.h. */
static void test_cms_parameters(void **state)
{
    fixture_t *f = *state;
    X509 *recips[] = {f->rsa_cert, f->cert[FBI]};
    Enlace__Envelope *env = seal_from_fgr(f, "parameters", recips, 2);
    const unsigned char *p = env->payload.data;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)env->payload.len);
    assert_non_null(cms);
    assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), NID_id_smime_ct_authEnvelopedData);

    STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
    assert_int_equal(sk_CMS_RecipientInfo_num(ris), 2);
    /* RSA: RSAES-OAEP with SHA-256 and MGF1-SHA-256. */
    CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, 0);
    assert_int_equal(CMS_RecipientInfo_type(ri), CMS_RECIPINFO_TRANS);
    X509_ALGOR *alg = NULL;
    assert_int_equal(CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg), 1);
    const ASN1_OBJECT *oid = NULL;
    int ptype = 0;
    const void *pval = NULL;
    X509_ALGOR_get0(&oid, &ptype, &pval, alg);
    assert_int_equal(OBJ_obj2nid(oid), NID_rsaesOaep);
    assert_int_equal(ptype, V_ASN1_SEQUENCE);
    const ASN1_STRING *seq = pval;
    const unsigned char *q = ASN1_STRING_get0_data(seq);
    RSA_OAEP_PARAMS *oaep = d2i_RSA_OAEP_PARAMS(NULL, &q, ASN1_STRING_length(seq));
    assert_non_null(oaep);
    assert_non_null(oaep->hashFunc);
    X509_ALGOR_get0(&oid, NULL, NULL, oaep->hashFunc);
    assert_int_equal(OBJ_obj2nid(oid), NID_sha256);
    assert_non_null(oaep->maskGenFunc);
    X509_ALGOR_get0(&oid, &ptype, &pval, oaep->maskGenFunc);
    assert_int_equal(OBJ_obj2nid(oid), NID_mgf1);
    assert_int_equal(ptype, V_ASN1_SEQUENCE);
    seq = pval;
    q = ASN1_STRING_get0_data(seq);
    X509_ALGOR *mgf1_md = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(seq));
    assert_non_null(mgf1_md);
    X509_ALGOR_get0(&oid, NULL, NULL, mgf1_md);
    assert_int_equal(OBJ_obj2nid(oid), NID_sha256);
    X509_ALGOR_free(mgf1_md);
    RSA_OAEP_PARAMS_free(oaep);

    /* EC: ECDH with the X9.63 KDF over SHA-256, AES-256 key wrap. */
    ri = sk_CMS_RecipientInfo_value(ris, 1);
    assert_int_equal(CMS_RecipientInfo_type(ri), CMS_RECIPINFO_AGREE);
    X509_ALGOR *kdf = NULL;
    ASN1_OCTET_STRING *ukm = NULL;
    assert_int_equal(CMS_RecipientInfo_kari_get0_alg(ri, &kdf, &ukm), 1);
    X509_ALGOR_get0(&oid, &ptype, &pval, kdf);
    assert_int_equal(OBJ_obj2nid(oid), NID_dhSinglePass_stdDH_sha256kdf_scheme);
    X509_ALGOR *wrap = NULL;
    seq = pval;
    q = ASN1_STRING_get0_data(seq);
    wrap = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(seq));
    assert_non_null(wrap);
    X509_ALGOR_get0(&oid, NULL, NULL, wrap);
    assert_int_equal(OBJ_obj2nid(oid), NID_id_aes256_wrap);
    X509_ALGOR_free(wrap);

    /* Content: AES-256-GCM (read from the printed structure: no accessor exists). */
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(CMS_ContentInfo_print_ctx(bio, cms, 0, NULL), 1);
    char *text = NULL;
    long n = BIO_get_mem_data(bio, &text);
    char *copy = strndup(text, (size_t)n);
    /* id-aes256-GCM, RFC 5084; OpenSSL prints its long name "aes-256-gcm". */
    assert_non_null(strstr(copy, "aes-256-gcm (2.16.840.1.101.3.4.1.46)"));
    free(copy);
    BIO_free(bio);
    CMS_ContentInfo_free(cms);
    envelope_free(&env);
}

/* Signers with every accepted key type. */
static void test_signer_key_types(void **state)
{
    fixture_t *f = *state;
    const struct {
        const char *sender;
        X509 *cert;
        EVP_PKEY *key;
    } rows[] = {
        {"MX.FGR", f->cert[FGR], f->key[FGR]},       /* ECDSA P-256 */
        {"GT.PNC", f->p384_cert, f->p384_key},       /* ECDSA P-384 */
        {"INTERPOL.NCB-MEX", f->ed_cert, f->ed_key}, /* Ed25519 */
        {"BR.PF", f->rsa_cert, f->rsa_key},          /* RSA-PSS-SHA256 */
    };
    X509 *recips[] = {f->cert[FBI]};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        Enlace__Header h;
        header_init(&h, rows[i].sender);
        Enlace__Envelope *env = NULL;
        assert_int_equal(
            envelope_seal(&h, (const uint8_t *)"m", 1, recips, 1, rows[i].cert, rows[i].key, &env),
            ENLACE_OK);
        char why[256];
        Enlace__Header *got = NULL;
        assert_int_equal(envelope_verify(env, rows[i].cert, &got, why, sizeof(why)), ENLACE_OK);
        assert_int_equal(envelope_check_sender(got, rows[i].cert, why, sizeof(why)), ENLACE_OK);
        codec_free((ProtobufCMessage **)&got);
        /* Another signer's certificate: the digest in the header does not match. */
        X509 *other = rows[(i + 1) % 4].cert;
        assert_int_equal(verify(env, other, why, sizeof(why)), ENLACE_ERR_BAD_CERT);
        envelope_free(&env);
    }
}

/* Every byte of the header, flipped two ways: never accepted, and each outcome is one
 * of the documented codes. A flip in the text of the topic is a pure signature failure;
 * one in signer_cert_sha256 is caught as a signer mismatch first. */
static void test_tampered_header(void **state)
{
    fixture_t *f = *state;
    X509 *recips[] = {f->cert[FBI]};
    Enlace__Envelope *env = seal_from_fgr(f, "header tamper", recips, 1);
    owned_t o;
    owned_copy(&o, env);
    int counts[3] = {0, 0, 0};
    for (size_t i = 0; i < o.env.header.len; i++) {
        static const uint8_t masks[] = {0x01, 0x80};
        for (size_t m = 0; m < 2; m++) {
            o.env.header.data[i] ^= masks[m];
            char why[256];
            enlace_err_t rc = verify(&o.env, f->cert[FGR], why, sizeof(why));
            o.env.header.data[i] ^= masks[m];
            switch (rc) {
            case ENLACE_ERR_MALFORMED: counts[0]++; break;
            case ENLACE_ERR_BAD_CERT: counts[1]++; break;
            case ENLACE_ERR_BAD_SIGNATURE: counts[2]++; break;
            default: fail_msg("byte %zu mask %02x: %s (%s)", i, masks[m], enlace_err_str(rc), why);
            }
        }
    }
    assert_true(counts[0] > 0 && counts[1] > 0 && counts[2] > 0);

    char why[256];
    uint8_t *topic = memmem(o.env.header.data, o.env.header.len, "trafficking", 11);
    assert_non_null(topic);
    topic[1] ^= 0x01; /* "tsafficking": still a valid topic */
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);
    assert_non_null(strstr(why, "signature"));
    topic[1] ^= 0x01;

    /* Truncated and extended headers. */
    o.env.header.len--;
    assert_int_not_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_OK);
    o.env.header.len++;
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_OK);
    owned_free(&o);
    envelope_free(&env);
}

static void test_tampered_payload(void **state)
{
    fixture_t *f = *state;
    X509 *recips[] = {f->cert[FBI]};
    Enlace__Envelope *env = seal_from_fgr(f, "payload tamper", recips, 1);
    owned_t o;
    owned_copy(&o, env);
    char why[256];
    o.env.payload.data[o.env.payload.len / 2] ^= 0x04;
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_HASH_MISMATCH);
    assert_non_null(strstr(why, "payload"));
    o.env.payload.data[o.env.payload.len / 2] ^= 0x04;
    o.env.payload.len -= 1;
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_HASH_MISMATCH);
    /* Another message's payload under this header. */
    Enlace__Envelope *other = seal_from_fgr(f, "payload tamper", recips, 1);
    free(o.env.payload.data);
    o.env.payload.len = other->payload.len;
    o.env.payload.data = dup_bytes(other->payload.data, other->payload.len);
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_HASH_MISMATCH);
    envelope_free(&other);
    owned_free(&o);
    envelope_free(&env);
}

static void test_wrong_signer_cert(void **state)
{
    fixture_t *f = *state;
    X509 *recips[] = {f->cert[FBI]};
    Enlace__Envelope *env = seal_from_fgr(f, "who sent this", recips, 1);
    char why[256];
    assert_int_equal(verify(env, f->cert[FBI], why, sizeof(why)), ENLACE_ERR_BAD_CERT);
    assert_non_null(strstr(why, "signer certificate"));
    assert_int_equal(verify(env, f->p521_cert, why, sizeof(why)), ENLACE_ERR_BAD_CERT);
    envelope_free(&env);
}

static void test_bad_signatures(void **state)
{
    fixture_t *f = *state;
    X509 *recips[] = {f->cert[FBI]};
    Enlace__Envelope *env = seal_from_fgr(f, "signatures", recips, 1);
    owned_t o;
    owned_copy(&o, env);
    char why[256];

    /* Garbage of a plausible length, empty, one bit off. */
    free(o.env.signature.data);
    o.env.signature.len = 72;
    o.env.signature.data = malloc(72);
    assert_int_equal(random_bytes(o.env.signature.data, 72), ENLACE_OK);
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);
    o.env.signature.len = 0;
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);
    owned_free(&o);
    owned_copy(&o, env);
    o.env.signature.data[o.env.signature.len - 1] ^= 0x01;
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);
    owned_free(&o);

    /* A valid signature over the header without the context prefix. */
    owned_copy(&o, env);
    free(o.env.signature.data);
    assert_int_equal(crypto_sign(f->key[FGR], o.env.header.data, o.env.header.len,
                                 &o.env.signature.data, &o.env.signature.len),
                     ENLACE_OK);
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);
    owned_free(&o);

    /* Signed by another agency's key. */
    owned_copy(&o, env);
    Enlace__Header *h = enlace__header__unpack(NULL, env->header.len, env->header.data);
    assert_non_null(h);
    owned_resign(&o, h, f->key[FBI]);
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);

    /* A signer certificate whose algorithm Enlace does not accept (P-521, ECDSA-SHA-512):
     * the header names that certificate and carries its genuine signature. */
    uint8_t digest[32];
    const ProtobufCBinaryData unpacked_digest = h->signer_cert_sha256;
    assert_int_equal(cert_sha256(f->p521_cert, digest), ENLACE_OK);
    h->signer_cert_sha256.data = digest;
    free(o.env.header.data);
    o.env.header.len = enlace__header__get_packed_size(h);
    o.env.header.data = malloc(o.env.header.len);
    enlace__header__pack(h, o.env.header.data);
    uint8_t *input = NULL;
    size_t input_len = 0;
    assert_int_equal(
        envelope_signature_input(o.env.header.data, o.env.header.len, &input, &input_len),
        ENLACE_OK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha512(), NULL, f->p521_key), 1);
    size_t sig_len = 0;
    assert_int_equal(EVP_DigestSign(ctx, NULL, &sig_len, input, input_len), 1);
    free(o.env.signature.data);
    o.env.signature.data = malloc(sig_len);
    assert_int_equal(EVP_DigestSign(ctx, o.env.signature.data, &sig_len, input, input_len), 1);
    o.env.signature.len = sig_len;
    EVP_MD_CTX_free(ctx);
    free(input);
    assert_int_equal(verify(&o.env, f->p521_cert, why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);
    assert_non_null(strstr(why, "unsupported"));

    /* An Ed25519 signer certificate, but an ECDSA signature. */
    assert_int_equal(cert_sha256(f->ed_cert, digest), ENLACE_OK);
    owned_resign(&o, h, f->key[FGR]);
    assert_int_equal(verify(&o.env, f->ed_cert, why, sizeof(why)), ENLACE_ERR_BAD_SIGNATURE);
    h->signer_cert_sha256 = unpacked_digest; /* ours pointed at the stack */
    enlace__header__free_unpacked(h, NULL);
    owned_free(&o);
    envelope_free(&env);
}

/* Headers that do not decode or do not validate are MALFORMED, even when correctly
 * signed: the signature is never checked over an invalid header. */
static void test_malformed_headers(void **state)
{
    fixture_t *f = *state;
    X509 *recips[] = {f->cert[FBI]};
    Enlace__Envelope *env = seal_from_fgr(f, "malformed", recips, 1);
    char why[256];
    owned_t o;
    owned_copy(&o, env);

    /* Empty, garbage, a truncated field. */
    size_t saved = o.env.header.len;
    o.env.header.len = 0;
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_MALFORMED);
    o.env.header.len = saved;
    memset(o.env.header.data, 0xff, 8);
    assert_int_equal(verify(&o.env, f->cert[FGR], why, sizeof(why)), ENLACE_ERR_MALFORMED);
    assert_non_null(strstr(why, "header"));
    owned_free(&o);

    /* Valid protobuf, correctly signed, but invalid fields. */
    static const char *const rows[] = {"15-byte message id", "lower-case sender",
                                       "unknown message type", "wildcard topic"};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        owned_copy(&o, env);
        Enlace__Header *h = enlace__header__unpack(NULL, env->header.len, env->header.data);
        assert_non_null(h);
        char *sender = h->sender, *topic = h->topic;
        size_t id_len = h->message_id.len;
        Enlace__MessageType type = h->message_type;
        switch (i) {
        case 0: h->message_id.len = 15; break;
        case 1: h->sender = "mx.fgr"; break;
        case 2: h->message_type = (Enlace__MessageType)99; break;
        case 3: h->topic = "alerts/#"; break;
        }
        owned_resign(&o, h, f->key[FGR]);
        enlace_err_t rc = verify(&o.env, f->cert[FGR], why, sizeof(why));
        if (rc != ENLACE_ERR_MALFORMED) {
            fail_msg("%s: %s (%s)", rows[i], enlace_err_str(rc), why);
        }
        h->sender = sender;
        h->topic = topic;
        h->message_id.len = id_len;
        h->message_type = type;
        enlace__header__free_unpacked(h, NULL);
        owned_free(&o);
    }
    envelope_free(&env);
}

static void test_open_refusals(void **state)
{
    fixture_t *f = *state;
    static const char plain[] = "confidential";
    X509 *recips[] = {f->cert[FBI], f->rsa_cert};
    Enlace__Envelope *env = seal_from_fgr(f, plain, recips, 2);
    owned_t o;
    owned_copy(&o, env);
    size_t len = o.env.payload.len;
    uint8_t *der = o.env.payload.data;

    /* Truncated at many points, to one byte, to nothing; a trailing byte added. */
    for (size_t cut = 0; cut < len; cut += 13) {
        o.env.payload.len = cut;
        assert_int_equal(open_env(&o.env, f->cert[FBI], f->key[FBI], NULL), ENLACE_ERR_DECRYPT);
    }
    o.env.payload.len = len - 1;
    assert_int_equal(open_env(&o.env, f->cert[FBI], f->key[FBI], NULL), ENLACE_ERR_DECRYPT);
    o.env.payload.data = realloc(der, len + 1);
    der = o.env.payload.data;
    der[len] = 0;
    o.env.payload.len = len + 1;
    assert_int_equal(open_env(&o.env, f->cert[FBI], f->key[FBI], NULL), ENLACE_ERR_DECRYPT);
    o.env.payload.len = len;
    assert_int_equal(open_env(&o.env, f->cert[FBI], f->key[FBI], plain), ENLACE_OK);

    /* The GCM tag is the last element of AuthEnvelopedData: OCTET STRING of 16 bytes. */
    assert_int_equal(der[len - 18], 0x04);
    assert_int_equal(der[len - 17], 0x10);
    for (size_t i = len - 16; i < len; i += 5) {
        der[i] ^= 0x01;
        assert_int_equal(open_env(&o.env, f->cert[FBI], f->key[FBI], NULL), ENLACE_ERR_DECRYPT);
        assert_int_equal(open_env(&o.env, f->rsa_cert, f->rsa_key, NULL), ENLACE_ERR_DECRYPT);
        der[i] ^= 0x01;
    }
    /* The ciphertext: the plaintext's bytes are encrypted just before the tag. */
    der[len - 18 - 3] ^= 0x20;
    assert_int_equal(open_env(&o.env, f->cert[FBI], f->key[FBI], NULL), ENLACE_ERR_DECRYPT);
    der[len - 18 - 3] ^= 0x20;
    assert_int_equal(open_env(&o.env, f->cert[FBI], f->key[FBI], plain), ENLACE_OK);

    /* Garbage and empty payloads. */
    memset(der, 0x30, len);
    assert_int_equal(open_env(&o.env, f->cert[FBI], f->key[FBI], NULL), ENLACE_ERR_DECRYPT);
    o.env.payload.len = 0;
    assert_int_equal(open_env(&o.env, f->cert[FBI], f->key[FBI], NULL), ENLACE_ERR_DECRYPT);
    owned_free(&o);
    envelope_free(&env);
}

/* EnvelopedData (AES-CBC, no integrity) to a real recipient is refused outright. */
static void test_open_refuses_unauthenticated_cms(void **state)
{
    fixture_t *f = *state;
    STACK_OF(X509) *to = sk_X509_new_null();
    sk_X509_push(to, f->cert[FBI]);
    BIO *in = BIO_new_mem_buf("downgrade", 9);
    CMS_ContentInfo *cms = CMS_encrypt(to, in, EVP_aes_256_cbc(), CMS_BINARY);
    assert_non_null(cms);
    assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_enveloped);
    owned_t o;
    enlace__envelope__init(&o.env);
    o.env.payload.data = NULL;
    int n = i2d_CMS_ContentInfo(cms, &o.env.payload.data);
    assert_true(n > 0);
    o.env.payload.len = (size_t)n;
    assert_int_equal(open_env(&o.env, f->cert[FBI], f->key[FBI], NULL), ENLACE_ERR_DECRYPT);
    OPENSSL_free(o.env.payload.data);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    sk_X509_free(to);
}

static void test_seal_refusals(void **state)
{
    fixture_t *f = *state;
    EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    X509 *rsa1024_cert = self_signed(rsa1024, "BR.PF");
    X509 *good[] = {f->cert[FBI]};
    X509 *with_null[] = {f->cert[FBI], NULL};
    X509 *ed_recipient[] = {f->cert[FBI], f->ed_cert};
    X509 *small_rsa[] = {rsa1024_cert};
    const struct {
        const char *what;
        const char *sender;
        X509 *const *recips;
        size_t n;
        X509 *cert;
        EVP_PKEY *key;
        enlace_err_t rc;
    } rows[] = {
        {"no recipient", "MX.FGR", good, 0, f->cert[FGR], f->key[FGR], ENLACE_ERR_INVALID},
        {"NULL recipient", "MX.FGR", with_null, 2, f->cert[FGR], f->key[FGR], ENLACE_ERR_INVALID},
        {"Ed25519 recipient (cannot receive)", "MX.FGR", ed_recipient, 2, f->cert[FGR], f->key[FGR],
         ENLACE_ERR_INVALID},
        {"RSA-1024 recipient", "MX.FGR", small_rsa, 1, f->cert[FGR], f->key[FGR],
         ENLACE_ERR_INVALID},
        {"key of another certificate", "MX.FGR", good, 1, f->cert[FGR], f->key[FBI],
         ENLACE_ERR_INVALID},
        {"unsupported signer key (P-521)", "XX.P521", good, 1, f->p521_cert, f->p521_key,
         ENLACE_ERR_INVALID},
        {"invalid header (lower-case sender)", "mx.fgr", good, 1, f->cert[FGR], f->key[FGR],
         ENLACE_ERR_INVALID},
        {"no signer", "MX.FGR", good, 1, NULL, f->key[FGR], ENLACE_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        Enlace__Header h;
        header_init(&h, rows[i].sender);
        Enlace__Envelope *env = (Enlace__Envelope *)&h; /* must be reset to NULL */
        enlace_err_t rc = envelope_seal(&h, (const uint8_t *)"x", 1, rows[i].recips, rows[i].n,
                                        rows[i].cert, rows[i].key, &env);
        if (rc != rows[i].rc) {
            fail_msg("%s: %s", rows[i].what, enlace_err_str(rc));
        }
        assert_null(env);
        /* The caller's header is left as it was: nothing points into freed memory. */
        assert_int_equal(h.message_id.len, 0);
        assert_null(h.message_id.data);
        assert_int_equal(h.payload_sha256.len, 0);
        assert_int_equal(h.signer_cert_sha256.len, 0);
        assert_int_equal(h.created_at_ms, 0);
    }
    Enlace__Envelope *env = NULL;
    assert_int_equal(
        envelope_seal(NULL, (const uint8_t *)"x", 1, good, 1, f->cert[FGR], f->key[FGR], &env),
        ENLACE_ERR_INVALID);
    Enlace__Header h;
    header_init(&h, "MX.FGR");
    assert_int_equal(envelope_seal(&h, NULL, 5, good, 1, f->cert[FGR], f->key[FGR], &env),
                     ENLACE_ERR_INVALID);
    assert_int_equal(
        envelope_seal(&h, (const uint8_t *)"x", 1, good, 1, f->cert[FGR], f->key[FGR], NULL),
        ENLACE_ERR_INVALID);
    X509_free(rsa1024_cert);
    EVP_PKEY_free(rsa1024);
}

static void test_check_sender(void **state)
{
    fixture_t *f = *state;
    Enlace__Header h;
    header_init(&h, "MX.FGR");
    char why[256];
    assert_int_equal(envelope_check_sender(&h, f->cert[FGR], why, sizeof(why)), ENLACE_OK);
    assert_int_equal(envelope_check_sender(&h, f->cert[FBI], why, sizeof(why)),
                     ENLACE_ERR_BAD_CERT);
    assert_non_null(strstr(why, "US.FBI"));
    h.sender = NULL;
    assert_int_equal(envelope_check_sender(&h, f->cert[FGR], why, sizeof(why)),
                     ENLACE_ERR_BAD_CERT);
    assert_int_equal(envelope_check_sender(NULL, f->cert[FGR], why, sizeof(why)),
                     ENLACE_ERR_BAD_CERT);
}

static void test_invalid_arguments(void **state)
{
    fixture_t *f = *state;
    X509 *recips[] = {f->cert[FBI]};
    Enlace__Envelope *env = seal_from_fgr(f, "args", recips, 1);
    Enlace__Header *h = (Enlace__Header *)env; /* must be reset to NULL */
    char why[64];
    assert_int_equal(envelope_verify(NULL, f->cert[FGR], &h, why, sizeof(why)), ENLACE_ERR_INVALID);
    assert_null(h);
    assert_int_equal(envelope_verify(env, NULL, NULL, why, sizeof(why)), ENLACE_ERR_INVALID);
    assert_int_equal(envelope_verify(env, f->cert[FGR], NULL, NULL, 0), ENLACE_OK);
    uint8_t *plain = NULL;
    size_t len = 0;
    assert_int_equal(envelope_open(NULL, f->cert[FBI], f->key[FBI], &plain, &len),
                     ENLACE_ERR_INVALID);
    assert_int_equal(envelope_open(env, NULL, f->key[FBI], &plain, &len), ENLACE_ERR_INVALID);
    assert_int_equal(envelope_open(env, f->cert[FBI], NULL, &plain, &len), ENLACE_ERR_INVALID);
    assert_int_equal(envelope_open(env, f->cert[FBI], f->key[FBI], NULL, &len), ENLACE_ERR_INVALID);
    envelope_free(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_input),
        cmocka_unit_test(test_seal_verify_open),
        cmocka_unit_test(test_message_id_kept_when_given),
        cmocka_unit_test(test_payload_sizes),
        cmocka_unit_test(test_mixed_recipients),
        cmocka_unit_test(test_cms_parameters),
        cmocka_unit_test(test_signer_key_types),
        cmocka_unit_test(test_tampered_header),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_wrong_signer_cert),
        cmocka_unit_test(test_bad_signatures),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_open_refuses_unauthenticated_cms),
        cmocka_unit_test(test_seal_refusals),
        cmocka_unit_test(test_check_sender),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests_name("envelope", tests, fixture_setup, fixture_teardown);
}
