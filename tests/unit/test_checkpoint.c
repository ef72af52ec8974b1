/* test_checkpoint — specification of common/checkpoint.{h,c}.
 *
 * Published vector: the Go sumdb/note example (key "PeterNeumann", id c74f20a3): from its
 * private seed we derive the published verifier key and sign the published text byte
 * for byte (Ed25519 is deterministic), and the published note verifies.
 * Independent check: a checkpoint note's signature equals what `openssl pkeyutl -sign
 * -rawin` computes for the same body and key.
 * Checkpoint bodies: exact format, round trip, extension lines accepted.
 * Refusals (as many as acceptances): unknown keys are ignored but a note signed by no
 * known key is refused; modified body or signature; bad base64; missing blank line;
 * control characters; invalid UTF-8; missing final newline; malformed signature lines;
 * the known key twice; too many signatures; oversized notes; bodies that are not
 * checkpoints (leading zeros, overflow, wrong hash length, non-canonical base64, ...).
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

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "checkpoint.h"
#include "crypto.h"

/* The Go sumdb/note package's documented example. */
#define GO_SKEY "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define GO_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_TEXT                                                                                    \
    "If you think cryptography is the answer to your problem,\n"                                   \
    "then you don't know what your problem is.\n"
#define GO_SIG                                                                                     \
    "\xE2\x80\x94 PeterNeumann "                                                                   \
    "x08go/ZJkuBS9UG/"                                                                             \
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
#define DASH "\xE2\x80\x94 "

static EVP_PKEY *go_key;   /* PeterNeumann's key from GO_SKEY */
static uint8_t go_pub[32]; /* its public key */
static EVP_PKEY *key;      /* a fresh key for checkpoints */
static uint8_t pub[32];
static EVP_PKEY *other; /* another Ed25519 key */
static uint8_t other_pub[32];
static const char *origin = "enlace.example.org/audit";

static int b64_decode(const char *in, uint8_t *out, size_t max)
{
    uint8_t buf[256];
    int n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)strlen(in));
    if (n < 0) {
        return -1;
    }
    size_t len = strlen(in);
    n -= (len >= 1 && in[len - 1] == '=') + (len >= 2 && in[len - 2] == '=');
    if ((size_t)n > max) {
        return -1;
    }
    memcpy(out, buf, (size_t)n);
    return n;
}

static char *b64(const uint8_t *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

static EVP_PKEY *new_ed25519(uint8_t pk[32])
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    assert_int_equal(checkpoint_public_key(k, pk), ENLACE_OK);
    return k;
}

static int setup(void **state)
{
    (void)state;
    uint8_t raw[33];
    /* PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>: the blob follows the 4th '+'. */
    const char *seed_b64 = GO_SKEY;
    for (int i = 0; i < 4; i++) {
        seed_b64 = strchr(seed_b64, '+') + 1;
    }
    if (b64_decode(seed_b64, raw, sizeof(raw)) != 33 || raw[0] != 0x01) {
        return -1;
    }
    go_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 1, 32);
    if (go_key == NULL || checkpoint_public_key(go_key, go_pub) != ENLACE_OK) {
        return -1;
    }
    key = new_ed25519(pub);
    other = new_ed25519(other_pub);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(go_key);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    return 0;
}

/* A signature line by k as `name` over text, computed here (not by checkpoint.c), so
 * notes the module would refuse to produce can still be built. */
static char *sig_line(EVP_PKEY *k, const char *name, const char *text)
{
    uint8_t pk[32], id[4], raw[68], *sig = NULL;
    size_t sig_len = 0;
    assert_int_equal(checkpoint_public_key(k, pk), ENLACE_OK);
    assert_int_equal(note_key_id(name, pk, id), ENLACE_OK);
    assert_int_equal(crypto_sign(k, (const uint8_t *)text, strlen(text), &sig, &sig_len),
                     ENLACE_OK);
    assert_int_equal(sig_len, 64);
    memcpy(raw, id, 4);
    memcpy(raw + 4, sig, 64);
    free(sig);
    char *enc = b64(raw, sizeof(raw));
    char *line = malloc(strlen(name) + strlen(enc) + 16);
    sprintf(line, DASH "%s %s\n", name, enc);
    free(enc);
    return line;
}

static char *concat(const char *a, const char *b, const char *c, const char *d)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%s%s%s%s", a, b, c, d);
    return s;
}

/* ---- published vector --------------------------------------------------------------- */

static void test_go_note_vector(void **state)
{
    (void)state;
    uint8_t id[4], pk[32];
    char *vkey = NULL, *name = NULL, *note = NULL;
    assert_int_equal(note_key_id("PeterNeumann", go_pub, id), ENLACE_OK);
    assert_memory_equal(id, "\xc7\x4f\x20\xa3", 4);
    assert_int_equal(note_verifier_key("PeterNeumann", go_pub, &vkey), ENLACE_OK);
    assert_string_equal(vkey, GO_VKEY);
    assert_int_equal(note_parse_verifier_key(GO_VKEY, &name, pk), ENLACE_OK);
    assert_string_equal(name, "PeterNeumann");
    assert_memory_equal(pk, go_pub, 32);

    assert_int_equal(checkpoint_sign(go_key, "PeterNeumann", GO_TEXT, &note), ENLACE_OK);
    assert_string_equal(note, GO_TEXT "\n" GO_SIG);
    size_t text_len = 0;
    assert_int_equal(note_verify(GO_TEXT "\n" GO_SIG, "PeterNeumann", go_pub, &text_len, NULL, 0),
                     ENLACE_OK);
    assert_int_equal(text_len, strlen(GO_TEXT));
    /* Not a checkpoint body, so checkpoint_open refuses it after the signature checks. */
    uint64_t size;
    uint8_t root[32];
    assert_int_equal(checkpoint_open(note, "PeterNeumann", go_pub, NULL, &size, root),
                     ENLACE_ERR_MALFORMED);
    /* A one-letter change breaks the signature. */
    char *changed = strdup(GO_TEXT "\n" GO_SIG);
    changed[strlen("If you think cryptograph")] = 'Y';
    assert_int_equal(note_verify(changed, "PeterNeumann", go_pub, &text_len, NULL, 0),
                     ENLACE_ERR_BAD_SIGNATURE);
    free(changed);
    free(vkey);
    free(name);
    free(note);
}

static void test_verifier_key_refusals(void **state)
{
    (void)state;
    const char *bad[] = {
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /* wrong id */
        "PeterNeumann+c74f20a3+ApBc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /* alg 2 */
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  /* bad b64 */
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", /* upper hex */
        "PeterNeumann+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",          /* no id */
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *name = NULL;
        uint8_t pk[32];
        assert_int_equal(note_parse_verifier_key(bad[i], &name, pk), ENLACE_ERR_MALFORMED);
        assert_null(name);
    }
}

/* ---- checkpoint bodies ------------------------------------------------------------------ */

static void test_checkpoint_format_and_round_trip(void **state)
{
    (void)state;
    uint8_t root[32], got_root[32];
    for (int i = 0; i < 32; i++) {
        root[i] = (uint8_t)i;
    }
    char *body = NULL, *note = NULL, *got_origin = NULL;
    uint64_t got_size = 0;
    assert_int_equal(checkpoint_format(origin, 1234567, root, &body), ENLACE_OK);
    assert_string_equal(body, "enlace.example.org/audit\n1234567\n"
                              "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
    assert_int_equal(checkpoint_sign(key, origin, body, &note), ENLACE_OK);
    assert_int_equal(strncmp(note, body, strlen(body)), 0);
    assert_int_equal(note[strlen(body)], '\n');
    assert_int_equal(strncmp(note + strlen(body) + 1, DASH "enlace.example.org/audit ",
                             strlen(DASH "enlace.example.org/audit ")),
                     0);
    assert_int_equal(checkpoint_open(note, origin, pub, &got_origin, &got_size, got_root),
                     ENLACE_OK);
    assert_string_equal(got_origin, origin);
    assert_int_equal(got_size, 1234567);
    assert_memory_equal(got_root, root, 32);
    free(body);
    free(note);
    free(got_origin);

    /* Extremes of the size, and extension lines after the root. */
    const char *bodies[] = {
        "o\n0\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "o\n18446744073709551615\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "o\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nextension line\nanother\n",
    };
    const uint64_t sizes[] = {0, UINT64_MAX, 5};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(checkpoint_sign(key, origin, bodies[i], &note), ENLACE_OK);
        assert_int_equal(checkpoint_open(note, origin, pub, NULL, &got_size, got_root), ENLACE_OK);
        assert_int_equal(got_size, sizes[i]);
        free(note);
    }
}

static void test_signature_matches_openssl_cli(void **state)
{
    (void)state;
    if (system("openssl version >/dev/null 2>&1") != 0) {
        skip();
    }
    char dir[] = "/tmp/test_checkpoint.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], cmd[512];
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    uint8_t root[32];
    memset(root, 0xab, sizeof(root));
    char *body = NULL, *note = NULL;
    assert_int_equal(checkpoint_format(origin, 42, root, &body), ENLACE_OK);
    assert_int_equal(checkpoint_sign(key, origin, body, &note), ENLACE_OK);
    snprintf(path, sizeof(path), "%s/body", dir);
    f = fopen(path, "w");
    fputs(body, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "openssl pkeyutl -sign -rawin -inkey %s/key.pem -in %s/body -out %s/sig", dir, dir,
             dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/sig", dir);
    uint8_t sig[64];
    f = fopen(path, "rb");
    assert_int_equal(fread(sig, 1, sizeof(sig), f), 64);
    fclose(f);
    /* The note's base64 blob is key id (4) || signature (64). */
    uint8_t raw[68], id[4];
    const char *blob = strrchr(note, ' ') + 1;
    char blob_copy[100];
    snprintf(blob_copy, sizeof(blob_copy), "%.*s", (int)(strlen(blob) - 1), blob);
    assert_int_equal(b64_decode(blob_copy, raw, sizeof(raw)), 68);
    assert_int_equal(note_key_id(origin, pub, id), ENLACE_OK);
    assert_memory_equal(raw, id, 4);
    assert_memory_equal(raw + 4, sig, 64);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(body);
    free(note);
}

/* ---- acceptance and refusal table --------------------------------------------------------- */

#define ROOT_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define BODY "enlace.example.org/audit\n7\n" ROOT_B64 "\n"

typedef enum { SIGN_KNOWN, SIGN_OTHER, SIGN_NONE } signer_t;

typedef struct {
    const char *name;      /* what the row shows */
    const char *body;      /* text signed (by the known key unless said otherwise) */
    const char *before;    /* raw text between body+"\n" and the known signature line */
    const char *after;     /* raw text after the known signature line */
    signer_t signer;       /* who signs `body` as the known name */
    const char *tamper_at; /* if set: replace the first occurrence in the note by `tamper` */
    const char *tamper;
    enlace_err_t want;
} row_t;

static const row_t rows[] = {
    {"signed by the known key", BODY, "", "", SIGN_KNOWN, NULL, NULL, ENLACE_OK},
    {"unknown key before the known one is ignored", BODY, "@other", "", SIGN_KNOWN, NULL, NULL,
     ENLACE_OK},
    {"unknown key after the known one is ignored", BODY, "", "@other", SIGN_KNOWN, NULL, NULL,
     ENLACE_OK},
    {"unknown signature type (long blob) is ignored", BODY, "",
     DASH
     "someone.else AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
     SIGN_KNOWN, NULL, NULL, ENLACE_OK},
    {"signed only by an unknown key", BODY, "@other", "", SIGN_NONE, NULL, NULL,
     ENLACE_ERR_BAD_SIGNATURE},
    {"right name, other key (other key id): not the known key", BODY, "", "", SIGN_OTHER, NULL,
     NULL, ENLACE_ERR_BAD_SIGNATURE},
    {"body modified after signing", BODY, "", "", SIGN_KNOWN, "\n7\n", "\n8\n",
     ENLACE_ERR_BAD_SIGNATURE},
    {"origin modified after signing", BODY, "", "", SIGN_KNOWN, "example.org", "example.com",
     ENLACE_ERR_BAD_SIGNATURE},
    {"signature bytes modified", BODY, "", "", SIGN_KNOWN, "@sig", NULL, ENLACE_ERR_BAD_SIGNATURE},
    {"signature one byte too long", BODY, "", "", SIGN_KNOWN, "=\n", "A\n",
     ENLACE_ERR_BAD_SIGNATURE},
    {"bad base64 in the signature", BODY, "", "", SIGN_KNOWN, "audit ", "audit !!!!",
     ENLACE_ERR_MALFORMED},
    {"signature shorter than a key id", BODY, "", DASH "x AAAA\n", SIGN_KNOWN, NULL, NULL,
     ENLACE_ERR_MALFORMED},
    {"missing blank line", BODY, "", "", SIGN_KNOWN, ROOT_B64 "\n\n", ROOT_B64 "\n",
     ENLACE_ERR_MALFORMED},
    {"signature line without an em dash", BODY, "", "", SIGN_KNOWN, DASH, "- ",
     ENLACE_ERR_MALFORMED},
    {"signature line with a hyphen-minus dash", BODY, "", "", SIGN_KNOWN, "\xE2\x80\x94", "-",
     ENLACE_ERR_MALFORMED},
    {"name with a plus sign", BODY, "", DASH "a+b AAAAAAAA\n", SIGN_KNOWN, NULL, NULL,
     ENLACE_ERR_MALFORMED},
    {"empty line among the signatures", BODY, "", "\n", SIGN_KNOWN, NULL, NULL,
     ENLACE_ERR_MALFORMED},
    {"no final newline", BODY, "", "", SIGN_KNOWN, "=\n", "=", ENLACE_ERR_MALFORMED},
    {"tab in the body", "enlace.example.org/audit\t\n7\n" ROOT_B64 "\n", "", "", SIGN_KNOWN, NULL,
     NULL, ENLACE_ERR_MALFORMED},
    {"carriage return in the body", "enlace.example.org/audit\r\n7\n" ROOT_B64 "\n", "", "",
     SIGN_KNOWN, NULL, NULL, ENLACE_ERR_MALFORMED},
    {"form feed in the body", "enlace.example.org/audit\f\n7\n" ROOT_B64 "\n", "", "", SIGN_KNOWN,
     NULL, NULL, ENLACE_ERR_MALFORMED},
    {"DEL in the body", "enlace.example.org/audit\x7f\n7\n" ROOT_B64 "\n", "", "", SIGN_KNOWN, NULL,
     NULL, ENLACE_ERR_MALFORMED},
    {"invalid UTF-8 in the body", "enlace.example.org/\xc3\x28\n7\n" ROOT_B64 "\n", "", "",
     SIGN_KNOWN, NULL, NULL, ENLACE_ERR_MALFORMED},
    {"overlong UTF-8 in the body", "enlace.example.org/\xc0\xaf\n7\n" ROOT_B64 "\n", "", "",
     SIGN_KNOWN, NULL, NULL, ENLACE_ERR_MALFORMED},
    {"size with a leading zero", "o\n07\n" ROOT_B64 "\n", "", "", SIGN_KNOWN, NULL, NULL,
     ENLACE_ERR_MALFORMED},
    {"negative size", "o\n-7\n" ROOT_B64 "\n", "", "", SIGN_KNOWN, NULL, NULL,
     ENLACE_ERR_MALFORMED},
    {"size with a plus sign", "o\n+7\n" ROOT_B64 "\n", "", "", SIGN_KNOWN, NULL, NULL,
     ENLACE_ERR_MALFORMED},
    {"size above 2^64-1", "o\n18446744073709551616\n" ROOT_B64 "\n", "", "", SIGN_KNOWN, NULL, NULL,
     ENLACE_ERR_MALFORMED},
    {"size with spaces", "o\n 7\n" ROOT_B64 "\n", "", "", SIGN_KNOWN, NULL, NULL,
     ENLACE_ERR_MALFORMED},
    {"root of 31 bytes", "o\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", "", "", SIGN_KNOWN,
     NULL, NULL, ENLACE_ERR_MALFORMED},
    {"root without padding", "o\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", "", "",
     SIGN_KNOWN, NULL, NULL, ENLACE_ERR_MALFORMED},
    {"root in non-canonical base64", "o\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n", "", "",
     SIGN_KNOWN, NULL, NULL, ENLACE_ERR_MALFORMED},
    {"root in URL-safe base64", "o\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-_\n", "", "",
     SIGN_KNOWN, NULL, NULL, ENLACE_ERR_MALFORMED},
    {"two lines only", "o\n7\n", "", "", SIGN_KNOWN, NULL, NULL, ENLACE_ERR_MALFORMED},
    {"empty origin line", "\n7\n" ROOT_B64 "\n", "", "", SIGN_KNOWN, NULL, NULL,
     ENLACE_ERR_MALFORMED},
};

static char *build_note(const row_t *r)
{
    char *known = NULL;
    if (r->signer == SIGN_KNOWN) {
        known = sig_line(key, origin, r->body);
    } else if (r->signer == SIGN_OTHER) {
        known = sig_line(other, origin, r->body);
    } else {
        known = strdup("");
    }
    char *other_line = sig_line(other, "witness.example", r->body);
    const char *before = strcmp(r->before, "@other") == 0 ? other_line : r->before;
    const char *after = strcmp(r->after, "@other") == 0 ? other_line : r->after;
    char *head = concat(r->body, "\n", before, "");
    char *note = concat(head, known, after, "");
    free(head);
    free(known);
    free(other_line);
    if (r->tamper_at != NULL && strcmp(r->tamper_at, "@sig") == 0) {
        /* Change one base64 character in the middle of the known signature. */
        char *line = strstr(note, DASH "enlace.example.org/audit ");
        assert_non_null(line);
        char *c = line + strlen(DASH "enlace.example.org/audit ") + 30;
        *c = *c == 'A' ? 'B' : 'A';
    } else if (r->tamper_at != NULL) {
        /* Replace the LAST occurrence for "=\n" (end of the known line), else the first. */
        char *at = strstr(note, r->tamper_at);
        assert_non_null(at);
        if (strcmp(r->tamper_at, "=\n") == 0) {
            for (char *p = at; (p = strstr(p + 1, r->tamper_at)) != NULL;) {
                at = p;
            }
        }
        size_t pre = (size_t)(at - note);
        char *t = malloc(strlen(note) + strlen(r->tamper) + 1);
        memcpy(t, note, pre);
        strcpy(t + pre, r->tamper);
        strcat(t, at + strlen(r->tamper_at));
        free(note);
        note = t;
    }
    return note;
}

static void test_acceptance_and_refusal_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row_t *r = &rows[i];
        char *note = build_note(r);
        char why[200] = "";
        uint64_t size = 99;
        uint8_t root[32];
        char *got_origin = NULL;
        enlace_err_t rc =
            checkpoint_open_why(note, origin, pub, &got_origin, &size, root, why, sizeof(why));
        print_message("%-55s -> %s (%s)\n", r->name, enlace_err_str(rc), why);
        assert_int_equal(rc, r->want);
        if (rc == ENLACE_OK) {
            assert_int_equal(size, 7);
            free(got_origin);
        } else {
            assert_null(got_origin);
            assert_int_equal(size, 99);
        }
        free(note);
    }
}

static void test_known_key_twice_and_too_many_signatures(void **state)
{
    (void)state;
    char *line = sig_line(key, origin, BODY);
    char *twice = concat(BODY, "\n", line, line);
    uint64_t size;
    uint8_t root[32];
    assert_int_equal(checkpoint_open(twice, origin, pub, NULL, &size, root), ENLACE_ERR_MALFORMED);
    free(twice);

    char *other_line = sig_line(other, "witness.example", BODY);
    size_t cap = strlen(BODY) + 2 + 101 * strlen(other_line) + strlen(line) + 1;
    char *many = malloc(cap);
    snprintf(many, cap, "%s\n", BODY);
    for (int i = 0; i < CHECKPOINT_MAX_SIGS; i++) {
        strcat(many, other_line);
    }
    strcat(many, line); /* the 101st */
    assert_int_equal(checkpoint_open(many, origin, pub, NULL, &size, root), ENLACE_ERR_MALFORMED);
    /* 99 unknown + the known one: accepted. */
    snprintf(many, cap, "%s\n", BODY);
    for (int i = 0; i < CHECKPOINT_MAX_SIGS - 1; i++) {
        strcat(many, other_line);
    }
    strcat(many, line);
    assert_int_equal(checkpoint_open(many, origin, pub, NULL, &size, root), ENLACE_OK);
    free(many);
    free(other_line);
    free(line);
}

static void test_oversized_and_empty_notes(void **state)
{
    (void)state;
    uint64_t size;
    uint8_t root[32];
    size_t n = CHECKPOINT_MAX_NOTE + 10;
    char *body = malloc(n + 1);
    memset(body, 'a', n);
    memcpy(body, "o\n7\n" ROOT_B64 "\n", strlen("o\n7\n" ROOT_B64 "\n"));
    body[n - 1] = '\n';
    body[n] = '\0';
    char *line = sig_line(key, origin, body);
    char *note = concat(body, "\n", line, "");
    assert_int_equal(checkpoint_open(note, origin, pub, NULL, &size, root), ENLACE_ERR_MALFORMED);
    assert_int_equal(checkpoint_open("", origin, pub, NULL, &size, root), ENLACE_ERR_MALFORMED);
    assert_int_equal(checkpoint_open("\n\n", origin, pub, NULL, &size, root), ENLACE_ERR_MALFORMED);
    assert_int_equal(checkpoint_open(NULL, origin, pub, NULL, &size, root), ENLACE_ERR_MALFORMED);
    assert_int_equal(checkpoint_open(BODY, origin, pub, NULL, &size, root), ENLACE_ERR_MALFORMED);
    free(body);
    free(line);
    free(note);
}

static void test_signing_refusals(void **state)
{
    (void)state;
    char *note = (char *)"unchanged";
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ec);
    assert_int_equal(checkpoint_sign(ec, origin, BODY, &note), ENLACE_ERR_INVALID);
    assert_null(note);
    const char *bad_names[] = {"", "a b", "a+b", "tab\there", "nl\nx", "nbsp\xc2\xa0x"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        assert_int_equal(checkpoint_sign(key, bad_names[i], BODY, &note), ENLACE_ERR_INVALID);
        uint8_t id[4];
        assert_int_equal(note_key_id(bad_names[i], pub, id), ENLACE_ERR_INVALID);
    }
    const char *bad_bodies[] = {"",          "no newline",     "blank\n\nline\n", "\nleading\n",
                                "ctl\x01\n", "bad utf8 \xff\n"};
    for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
        assert_int_equal(checkpoint_sign(key, origin, bad_bodies[i], &note), ENLACE_ERR_INVALID);
    }
    uint8_t root[32] = {0};
    char *body = (char *)"unchanged";
    const char *bad_origins[] = {"", "two\nlines", "ctl\x02", "bad\xc3"};
    for (size_t i = 0; i < sizeof(bad_origins) / sizeof(bad_origins[0]); i++) {
        assert_int_equal(checkpoint_format(bad_origins[i], 1, root, &body), ENLACE_ERR_INVALID);
        assert_null(body);
    }
    /* A public-only key cannot sign. */
    EVP_PKEY *pub_only = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    assert_int_equal(checkpoint_sign(pub_only, origin, BODY, &note), ENLACE_ERR_CRYPTO);
    EVP_PKEY_free(pub_only);
    EVP_PKEY_free(ec);
    uint64_t size;
    assert_int_equal(checkpoint_open(BODY "\n", "bad name", pub, NULL, &size, root),
                     ENLACE_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_note_vector),
        cmocka_unit_test(test_verifier_key_refusals),
        cmocka_unit_test(test_checkpoint_format_and_round_trip),
        cmocka_unit_test(test_signature_matches_openssl_cli),
        cmocka_unit_test(test_acceptance_and_refusal_table),
        cmocka_unit_test(test_known_key_twice_and_too_many_signatures),
        cmocka_unit_test(test_oversized_and_empty_notes),
        cmocka_unit_test(test_signing_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
