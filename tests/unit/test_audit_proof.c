/* test_audit_proof — specification of enlace-audit's printed proofs
 * (client/audit/proof.c, with pinned.c for the pinned key).
 *
 * A proof printed by proof_write parses back to the same fields; inclusion and
 * consistency proofs made from a real tree with a really signed checkpoint check out,
 * and every alteration (a hash, the record, the leaf index, the sizes, the note, the
 * pinned key) is refused. The parser is strict: one table of malformed texts, each
 * refused with the line it stopped at. CRLF line ends are accepted (files that went
 * through mail). enlace-audit is a program, so its modules are compiled in here.
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

#include "../../client/audit/audit_util.c"
#include "../../client/audit/pinned.c"
#include "../../client/audit/proof.c"
#include "../../client/audit/records.c"

#define LEAVES 13

/* A tree of LEAVES serialized records, a checkpoint key and two signed checkpoints. */
typedef struct {
    EVP_PKEY *key;
    pinned_key_t pin;
    merkle_t *tree;
    uint8_t *rec[LEAVES];
    size_t rec_len[LEAVES];
    char *note_old; /* size 5 */
    char *note_new; /* size LEAVES */
} fixture_t;

static char *sign_size(fixture_t *fx, uint64_t size)
{
    uint8_t root[32];
    char *body = NULL, *note = NULL;
    assert_int_equal(merkle_root(fx->tree, size, root), ENLACE_OK);
    assert_int_equal(checkpoint_format("audit.test/log", size, root, &body), ENLACE_OK);
    assert_int_equal(checkpoint_sign(fx->key, "audit.test/log", body, &note), ENLACE_OK);
    free(body);
    return note;
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    fx->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    fx->tree = merkle_new();
    assert_non_null(fx->key);
    for (uint64_t i = 0; i < LEAVES; i++) {
        Enlace__Record r = ENLACE__RECORD__INIT;
        Enlace__BrokerStopped bs = ENLACE__BROKER_STOPPED__INIT;
        char reason[32];
        snprintf(reason, sizeof(reason), "record %u", (unsigned)i);
        bs.reason = reason;
        r.seq = i;
        r.time_ms = 1700000000000ull + i;
        r.kind_case = ENLACE__RECORD__KIND_BROKER_STOPPED;
        r.broker_stopped = &bs;
        assert_int_equal(codec_pack((const ProtobufCMessage *)&r, &fx->rec[i], &fx->rec_len[i]),
                         ENLACE_OK);
        uint8_t leaf[32];
        merkle_leaf_hash(fx->rec[i], fx->rec_len[i], leaf);
        assert_int_equal(merkle_append(fx->tree, leaf), ENLACE_OK);
    }
    uint8_t pub[32];
    assert_int_equal(checkpoint_public_key(fx->key, pub), ENLACE_OK);
    char *vkey = NULL;
    assert_int_equal(note_verifier_key("audit.test/log", pub, &vkey), ENLACE_OK);
    assert_int_equal(pinned_load(vkey, NULL, &fx->pin, NULL, 0), ENLACE_OK);
    free(vkey);
    fx->note_old = sign_size(fx, 5);
    fx->note_new = sign_size(fx, LEAVES);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    for (int i = 0; i < LEAVES; i++) {
        free(fx->rec[i]);
    }
    free(fx->note_old);
    free(fx->note_new);
    merkle_destroy(&fx->tree);
    pinned_clear(&fx->pin);
    EVP_PKEY_free(fx->key);
    free(fx);
    return 0;
}

/* Print p to a string. */
static char *print(const proof_t *p, const char *comment)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_int_equal(proof_write(f, p, comment), ENLACE_OK);
    fclose(f);
    return buf;
}

/* Parse text and check it as check-proof does; returns the exit status. */
static int check_text(fixture_t *fx, const char *text)
{
    proof_t p;
    pinned_cp_t a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    char why[200];
    int status = AUDIT_EXIT_FAILED;
    if (proof_parse(text, strlen(text), &p, why, sizeof(why)) != ENLACE_OK) {
        goto done;
    }
    if (p.kind == PROOF_CONSISTENCY &&
        pinned_check_note(&fx->pin, p.old_note, PINNED_FROM_FILE, 0, &a) != ENLACE_OK) {
        goto done;
    }
    if (pinned_check_note(&fx->pin, p.note, PINNED_FROM_FILE, 0, &b) != ENLACE_OK) {
        goto done;
    }
    status = p.kind == PROOF_INCLUSION ? check_inclusion(&p, &fx->pin, &b, NULL)
                                       : check_consistency(&p, &fx->pin, &a, &b);
done:
    free(a.note);
    free(b.note);
    proof_clear(&p);
    return status;
}

static char *inclusion_text(fixture_t *fx, uint64_t index)
{
    uint8_t hashes[MERKLE_MAX_PROOF][32];
    size_t n = 0;
    assert_int_equal(merkle_inclusion_proof(fx->tree, index, LEAVES, hashes, MERKLE_MAX_PROOF, &n),
                     ENLACE_OK);
    proof_t p = {.kind = PROOF_INCLUSION,
                 .leaf_index = index,
                 .tree_size = LEAVES,
                 .record = fx->rec[index],
                 .record_len = fx->rec_len[index],
                 .hashes = hashes,
                 .n_hashes = n,
                 .note = fx->note_new};
    return print(&p, "a comment\nover two lines");
}

static char *consistency_text(fixture_t *fx)
{
    uint8_t hashes[MERKLE_MAX_PROOF][32];
    size_t n = 0;
    assert_int_equal(merkle_consistency_proof(fx->tree, 5, LEAVES, hashes, MERKLE_MAX_PROOF, &n),
                     ENLACE_OK);
    proof_t p = {.kind = PROOF_CONSISTENCY,
                 .old_size = 5,
                 .new_size = LEAVES,
                 .hashes = hashes,
                 .n_hashes = n,
                 .note = fx->note_new,
                 .old_note = fx->note_old};
    return print(&p, NULL);
}

/* Replace the first occurrence of `from` in text by `to` (new string). */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

static void test_round_trip_every_leaf(void **state)
{
    fixture_t *fx = *state;
    for (uint64_t i = 0; i < LEAVES; i++) {
        char *text = inclusion_text(fx, i);
        proof_t p;
        char why[200];
        assert_int_equal(proof_parse(text, strlen(text), &p, why, sizeof(why)), ENLACE_OK);
        assert_int_equal(p.kind, PROOF_INCLUSION);
        assert_int_equal(p.leaf_index, i);
        assert_int_equal(p.tree_size, LEAVES);
        assert_int_equal(p.record_len, fx->rec_len[i]);
        assert_memory_equal(p.record, fx->rec[i], p.record_len);
        assert_string_equal(p.note, fx->note_new);
        proof_clear(&p);
        assert_int_equal(check_text(fx, text), AUDIT_EXIT_OK);
        free(text);
    }
}

static void test_consistency_round_trip(void **state)
{
    fixture_t *fx = *state;
    char *text = consistency_text(fx);
    assert_int_equal(check_text(fx, text), AUDIT_EXIT_OK);
    /* The notes swapped: sizes no longer match the proof. */
    char *a = replace(text, "old-size 5", "old-size 6");
    assert_int_equal(check_text(fx, a), AUDIT_EXIT_FAILED);
    free(a);
    free(text);
}

static void test_crlf_accepted(void **state)
{
    fixture_t *fx = *state;
    char *text = inclusion_text(fx, 3);
    size_t n = strlen(text), lines = 0;
    for (size_t i = 0; i < n; i++) {
        lines += text[i] == '\n';
    }
    char *crlf = malloc(n + lines + 1), *q = crlf;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\n') {
            *q++ = '\r';
        }
        *q++ = text[i];
    }
    *q = '\0';
    assert_int_equal(check_text(fx, crlf), AUDIT_EXIT_OK);
    free(crlf);
    free(text);
}

static void test_alterations_refused(void **state)
{
    fixture_t *fx = *state;
    char *text = inclusion_text(fx, 6);
    char idx[32], size[32];
    snprintf(idx, sizeof(idx), "leaf-index 6\n");
    snprintf(size, sizeof(size), "tree-size %d\n", LEAVES);
    const char *hash = strstr(text, "\nhash ") + 6;
    char first_hash[8];
    snprintf(first_hash, sizeof(first_hash), "%.4s", hash);
    char other_hash[8];
    snprintf(other_hash, sizeof(other_hash), "%c%.3s", hash[0] == 'A' ? 'B' : 'A', hash + 1);
    const char *rec = strstr(text, "\nrecord ") + 8;
    char other_rec[8];
    snprintf(other_rec, sizeof(other_rec), "%.4s", rec);
    char rec_alt[8];
    snprintf(rec_alt, sizeof(rec_alt), "%c%.3s", rec[0] == 'C' ? 'D' : 'C', rec + 1);
    const struct {
        const char *from, *to;
    } EDITS[] = {
        {idx, "leaf-index 5\n"},  /* another leaf */
        {idx, "leaf-index 99\n"}, /* beyond the tree */
        {size, "tree-size 12\n"}, /* not the signed size */
        {first_hash, other_hash}, /* a proof hash */
        {other_rec, rec_alt},     /* the record */
        {"| 13\n", "| 12\n"},     /* the signed size inside the note */
        {"\nhash ", "\n# hash "}, /* a hash dropped (now a comment) */
    };
    for (size_t i = 0; i < sizeof(EDITS) / sizeof(EDITS[0]); i++) {
        char *bad = replace(text, EDITS[i].from, EDITS[i].to);
        assert_int_equal(check_text(fx, bad), AUDIT_EXIT_FAILED);
        free(bad);
    }
    /* Another pinned key. */
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    uint8_t pub[32];
    checkpoint_public_key(other, pub);
    pinned_key_t saved = fx->pin;
    memcpy(fx->pin.pub, pub, 32);
    assert_int_equal(check_text(fx, text), AUDIT_EXIT_FAILED);
    memcpy(fx->pin.pub, saved.pub, 32);
    assert_int_equal(check_text(fx, text), AUDIT_EXIT_OK);
    EVP_PKEY_free(other);
    free(text);
}

static void test_parser_refusals(void **state)
{
    (void)state;
    static const char *HDR = "enlace-proof v1\ntype inclusion\n";
    static const char *NOTE =
        "checkpoint\n| o\n| 1\n| AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n|\n"
        "| \xe2\x80\x94 o AAAA\n";
    static const char *REC = "leaf-index 0\ntree-size 1\nrecord CAA=\n";
    char good[512];
    snprintf(good, sizeof(good), "%s%s%send\n", HDR, REC, NOTE);
    proof_t p;
    char why[200];
    assert_int_equal(proof_parse(good, strlen(good), &p, why, sizeof(why)), ENLACE_OK);
    proof_clear(&p);

    char bad[32][512];
    int n = 0;
    snprintf(bad[n++], 512, "%s", "");                                                /* empty */
    snprintf(bad[n++], 512, "enlace-proof v2\ntype inclusion\n%s%send\n", REC, NOTE); /* version */
    snprintf(bad[n++], 512, "%s%s%s", HDR, REC, NOTE);                                /* no end */
    snprintf(bad[n++], 512, "%s%s%send\nextra 1\n", HDR, REC, NOTE);            /* after end */
    snprintf(bad[n++], 512, "%s%s%s%send\n", HDR, REC, "leaf-index 0\n", NOTE); /* twice */
    snprintf(bad[n++], 512, "%sleaf-index 01\ntree-size 1\nrecord CAA=\n%send\n", HDR, NOTE);
    snprintf(bad[n++], 512, "%sleaf-index -1\ntree-size 1\nrecord CAA=\n%send\n", HDR, NOTE);
    snprintf(bad[n++], 512, "%s%shash AAAA\n%send\n", HDR, REC, NOTE); /* short hash */
    snprintf(bad[n++], 512, "%sleaf-index 0\ntree-size 1\nrecord CA=\n%send\n", HDR, NOTE);
    snprintf(bad[n++], 512, "%sleaf-index 0\ntree-size 1\nrecord \n%send\n", HDR, NOTE);
    snprintf(bad[n++], 512, "%s%scheckpoint\n|x\nend\n", HDR, REC);       /* no space */
    snprintf(bad[n++], 512, "%s%scheckpoint\nend\n", HDR, REC);           /* empty note */
    snprintf(bad[n++], 512, "%s%s%sold-size 1\nend\n", HDR, REC, NOTE);   /* other type */
    snprintf(bad[n++], 512, "%s%s%sfrobnicate 1\nend\n", HDR, REC, NOTE); /* unknown */
    snprintf(bad[n++], 512, "enlace-proof v1\ntype exclusion\n%s%send\n", REC, NOTE);
    snprintf(bad[n++], 512, "type inclusion\n%s%send\n", REC, NOTE); /* no magic */
    snprintf(bad[n++], 512, "%s%s%s", "enlace-proof v1\ntype consistency\n", "old-size 1\n",
             "end\n"); /* incomplete consistency */
    for (int i = 0; i < n; i++) {
        assert_int_equal(proof_parse(bad[i], strlen(bad[i]), &p, why, sizeof(why)),
                         ENLACE_ERR_MALFORMED);
        proof_clear(&p);
    }
    /* A NUL byte inside. */
    char nul[600];
    size_t len = (size_t)snprintf(nul, sizeof(nul), "%s%s%send\n", HDR, REC, NOTE);
    nul[10] = '\0';
    assert_int_equal(proof_parse(nul, len, &p, why, sizeof(why)), ENLACE_ERR_MALFORMED);
    proof_clear(&p);
    /* More hashes than any tree needs. */
    char *many = malloc(MERKLE_MAX_PROOF * 60 + 1024), *q = many;
    q += sprintf(q, "%s%s", HDR, REC);
    for (int i = 0; i <= MERKLE_MAX_PROOF; i++) {
        q += sprintf(q, "hash AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    }
    sprintf(q, "%send\n", NOTE);
    assert_int_equal(proof_parse(many, strlen(many), &p, why, sizeof(why)), ENLACE_ERR_MALFORMED);
    assert_non_null(strstr(why, "more than"));
    proof_clear(&p);
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_leaf), cmocka_unit_test(test_consistency_round_trip),
        cmocka_unit_test(test_crlf_accepted),         cmocka_unit_test(test_alterations_refused),
        cmocka_unit_test(test_parser_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
