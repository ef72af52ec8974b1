/* test_client_receipt — specification of receipt verification in libenlace
 * (client/lib/receipt.c: receipt_verify), against hand-built logs.
 *
 * A receipt holds the record (the Merkle leaf), its index, the tree size, an RFC 9162
 * inclusion proof and a C2SP signed checkpoint. It verifies only when the checkpoint is
 * signed by the given key under the given name with that name as its origin, the tree
 * size is the checkpoint's, the proof leads from SHA-256(0x00 || record) at that index to
 * the checkpoint root, and the record is the Published record of the message asked for
 * at that sequence number. Each failure has its own code and reason.
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

#include "checkpoint.h"
#include "codec.h"
#include "merkle.h"
#include "receipt.h"

#define ORIGIN "enlace.test/log"
#define N_LEAVES 7
#define MSG_INDEX 3 /* the Published record of the message */

static EVP_PKEY *log_key, *other_key;
static uint8_t log_pub[32], other_pub[32];
static uint8_t msg_id[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static uint8_t *leaves[N_LEAVES]; /* serialized records */
static size_t leaf_len[N_LEAVES];
static merkle_t *tree;

/* Serialized Record seq i: Published (of msg_id, or another id) or BrokerStarted. */
static void make_record(uint64_t seq, bool published, const uint8_t id[16], uint8_t **out,
                        size_t *len)
{
    uint8_t digest[32];
    memset(digest, 0x11, sizeof digest);
    Enlace__Header h = ENLACE__HEADER__INIT;
    h.message_id.data = (uint8_t *)id;
    h.message_id.len = 16;
    h.sender = "MX.FGR";
    h.topic = "alerts/x";
    h.created_at_ms = 1714564800000ULL;
    h.message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_ALERT;
    h.tlp = ENLACE__TLP__TLP_AMBER;
    h.payload_sha256.data = digest;
    h.payload_sha256.len = 32;
    h.signer_cert_sha256.data = digest;
    h.signer_cert_sha256.len = 32;
    uint8_t *hdr = NULL;
    size_t hdr_len = 0;
    assert_int_equal(codec_pack((const ProtobufCMessage *)&h, &hdr, &hdr_len), ENLACE_OK);
    uint8_t body[] = "ciphertext";
    Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
    env.header.data = hdr;
    env.header.len = hdr_len;
    env.payload.data = body;
    env.payload.len = sizeof body;
    env.signature.data = body;
    env.signature.len = 4;
    Enlace__Published pub = ENLACE__PUBLISHED__INIT;
    pub.session_id = 1;
    pub.envelope = &env;
    Enlace__BrokerStarted started = ENLACE__BROKER_STARTED__INIT;
    started.version = "0.1.0";
    started.origin = ORIGIN;
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.seq = seq;
    r.time_ms = 1714564800000ULL + seq;
    if (published) {
        r.kind_case = ENLACE__RECORD__KIND_PUBLISHED;
        r.published = &pub;
    } else {
        r.kind_case = ENLACE__RECORD__KIND_BROKER_STARTED;
        r.broker_started = &started;
    }
    assert_int_equal(codec_pack((const ProtobufCMessage *)&r, out, len), ENLACE_OK);
    free(hdr);
}

static int setup(void **state)
{
    (void)state;
    log_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    other_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!log_key || !other_key || checkpoint_public_key(log_key, log_pub) != ENLACE_OK ||
        checkpoint_public_key(other_key, other_pub) != ENLACE_OK)
        return -1;
    tree = merkle_new();
    uint8_t other_id[16];
    memset(other_id, 0x77, sizeof other_id);
    for (uint64_t i = 0; i < N_LEAVES; i++) {
        /* 0: broker started; 3: our message; others: other messages */
        make_record(i, i != 0, i == MSG_INDEX ? msg_id : other_id, &leaves[i], &leaf_len[i]);
        uint8_t h[32];
        merkle_leaf_hash(leaves[i], leaf_len[i], h);
        if (merkle_append(tree, h) != ENLACE_OK)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_LEAVES; i++)
        free(leaves[i]);
    merkle_destroy(&tree);
    EVP_PKEY_free(log_key);
    EVP_PKEY_free(other_key);
    return 0;
}

/* A receipt for leaf `index` in the tree of `size`, checkpoint by `key` as `name` with
 * `origin`. Heap parts are released by receipt_release. */
typedef struct {
    Enlace__Receipt rc;
    ProtobufCBinaryData proof[MERKLE_MAX_PROOF];
    uint8_t hashes[MERKLE_MAX_PROOF][32];
    char *note;
} receipt_fixture_t;

static void build(receipt_fixture_t *f, uint64_t index, uint64_t size, EVP_PKEY *key,
                  const char *name, const char *origin)
{
    memset(f, 0, sizeof *f);
    enlace__receipt__init(&f->rc);
    uint8_t root[32];
    size_t n = 0;
    assert_int_equal(merkle_root(tree, size, root), ENLACE_OK);
    assert_int_equal(merkle_inclusion_proof(tree, index, size, f->hashes, MERKLE_MAX_PROOF, &n),
                     ENLACE_OK);
    for (size_t i = 0; i < n; i++) {
        f->proof[i].data = f->hashes[i];
        f->proof[i].len = 32;
    }
    char *body = NULL;
    assert_int_equal(checkpoint_format(origin, size, root, &body), ENLACE_OK);
    assert_int_equal(checkpoint_sign(key, name, body, &f->note), ENLACE_OK);
    free(body);
    f->rc.correlation_id = 9;
    f->rc.seq = index;
    f->rc.record.data = leaves[index];
    f->rc.record.len = leaf_len[index];
    f->rc.tree_size = size;
    f->rc.n_proof = n;
    f->rc.proof = f->proof;
    f->rc.checkpoint = f->note;
}

static void release(receipt_fixture_t *f)
{
    free(f->note);
    f->note = NULL;
}

/* Verify and check the verdict; returns the receipt for more checks (caller frees). */
static enlace_receipt_t *verify(const receipt_fixture_t *f, const uint8_t id[16],
                                const uint8_t key[32], enlace_err_t want, const char *why)
{
    enlace_receipt_t *r = receipt_new(true);
    assert_non_null(r);
    enlace_err_t got = receipt_verify(r, &f->rc, id, ORIGIN, key);
    if (got != want || enlace_receipt_status(r) != want ||
        strstr(enlace_receipt_error(r), why) == NULL)
        fail_msg("got %s '%s', want %s '%s'", enlace_err_str(got), enlace_receipt_error(r),
                 enlace_err_str(want), why);
    return r;
}

/* ---- verified receipts -------------------------------------------------------------- */

static void test_good_receipt(void **state)
{
    (void)state;
    receipt_fixture_t f;
    build(&f, MSG_INDEX, N_LEAVES, log_key, ORIGIN, ORIGIN);
    enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_OK, "");
    assert_int_equal(enlace_receipt_seq(r), MSG_INDEX);
    assert_int_equal(enlace_receipt_tree_size(r), N_LEAVES);
    assert_true(enlace_receipt_key_pinned(r));
    assert_string_equal(enlace_receipt_origin(r), ORIGIN);
    assert_string_equal(enlace_receipt_sender(r), "MX.FGR");
    assert_int_equal(enlace_receipt_logged_at_ms(r), 1714564800000ULL + MSG_INDEX);
    assert_string_equal(enlace_receipt_checkpoint(r), f.note);
    uint8_t root[32], leaf[32];
    assert_int_equal(merkle_root(tree, N_LEAVES, root), ENLACE_OK);
    assert_memory_equal(enlace_receipt_root(r), root, 32);
    assert_int_equal(merkle_leaf(tree, MSG_INDEX, leaf), ENLACE_OK);
    assert_memory_equal(enlace_receipt_leaf_hash(r), leaf, 32);
    enlace_receipt_free(&r);
    assert_null(r);
    enlace_receipt_free(&r);
    release(&f);
}

static void test_every_tree_size_containing_the_message(void **state)
{
    (void)state;
    /* The same message proven in each later tree (proof lengths 2..3 hashes). */
    for (uint64_t size = MSG_INDEX + 1; size <= N_LEAVES; size++) {
        receipt_fixture_t f;
        build(&f, MSG_INDEX, size, log_key, ORIGIN, ORIGIN);
        enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_OK, "");
        enlace_receipt_free(&r);
        release(&f);
    }
}

static void test_single_leaf_tree(void **state)
{
    (void)state;
    /* A one-record log whose record is the message: the proof is empty. */
    merkle_t *saved = tree;
    uint8_t *saved_leaf = leaves[0];
    size_t saved_len = leaf_len[0];
    tree = merkle_new();
    make_record(0, true, msg_id, &leaves[0], &leaf_len[0]);
    uint8_t h[32];
    merkle_leaf_hash(leaves[0], leaf_len[0], h);
    assert_int_equal(merkle_append(tree, h), ENLACE_OK);
    receipt_fixture_t f;
    build(&f, 0, 1, log_key, ORIGIN, ORIGIN);
    assert_int_equal(f.rc.n_proof, 0);
    enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_OK, "");
    enlace_receipt_free(&r);
    release(&f);
    free(leaves[0]);
    merkle_destroy(&tree);
    tree = saved;
    leaves[0] = saved_leaf;
    leaf_len[0] = saved_len;
}

/* ---- refusals ------------------------------------------------------------------------- */

static void test_checkpoint_signed_by_another_key(void **state)
{
    (void)state;
    receipt_fixture_t f;
    build(&f, MSG_INDEX, N_LEAVES, other_key, ORIGIN, ORIGIN);
    enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_ERR_BAD_SIGNATURE, "checkpoint:");
    assert_string_equal(enlace_receipt_origin(r), ""); /* nothing vouched for */
    enlace_receipt_free(&r);
    /* The same note verifies with the key that did sign it. */
    r = verify(&f, msg_id, other_pub, ENLACE_OK, "");
    enlace_receipt_free(&r);
    release(&f);
    build(&f, MSG_INDEX, N_LEAVES, log_key, ORIGIN, ORIGIN);
    r = verify(&f, msg_id, other_pub, ENLACE_ERR_BAD_SIGNATURE, "checkpoint:");
    enlace_receipt_free(&r);
    release(&f);
}

static void test_checkpoint_signed_under_another_name(void **state)
{
    (void)state;
    receipt_fixture_t f;
    build(&f, MSG_INDEX, N_LEAVES, log_key, "other.test/log", ORIGIN);
    enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_ERR_BAD_SIGNATURE, "checkpoint:");
    enlace_receipt_free(&r);
    release(&f);
}

static void test_checkpoint_of_another_log(void **state)
{
    (void)state;
    /* Signed by our key under our name, but the body is another log's. */
    receipt_fixture_t f;
    build(&f, MSG_INDEX, N_LEAVES, log_key, ORIGIN, "other.test/log");
    enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_ERR_MALFORMED,
                                 "checkpoint of log 'other.test/log', expected '" ORIGIN "'");
    enlace_receipt_free(&r);
    release(&f);
}

static void test_garbage_checkpoint(void **state)
{
    (void)state;
    receipt_fixture_t f;
    build(&f, MSG_INDEX, N_LEAVES, log_key, ORIGIN, ORIGIN);
    f.rc.checkpoint = "not a signed note";
    enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_ERR_MALFORMED, "checkpoint:");
    assert_string_equal(enlace_receipt_checkpoint(r), "not a signed note");
    enlace_receipt_free(&r);
    release(&f);
}

static void test_tree_size_differs_from_checkpoint(void **state)
{
    (void)state;
    receipt_fixture_t f;
    build(&f, MSG_INDEX, N_LEAVES, log_key, ORIGIN, ORIGIN);
    f.rc.tree_size = N_LEAVES - 1;
    enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_ERR_MALFORMED,
                                 "receipt is for tree size 6, checkpoint for 7");
    enlace_receipt_free(&r);
    release(&f);
}

static void test_seq_outside_tree(void **state)
{
    (void)state;
    receipt_fixture_t f;
    build(&f, MSG_INDEX, MSG_INDEX + 1, log_key, ORIGIN, ORIGIN);
    f.rc.seq = MSG_INDEX + 1;
    enlace_receipt_t *r =
        verify(&f, msg_id, log_pub, ENLACE_ERR_MALFORMED, "outside the tree of 4 records");
    enlace_receipt_free(&r);
    release(&f);
}

static void test_tampered_proof(void **state)
{
    (void)state;
    receipt_fixture_t f;
    build(&f, MSG_INDEX, N_LEAVES, log_key, ORIGIN, ORIGIN);
    for (size_t i = 0; i < f.rc.n_proof; i++) {
        f.hashes[i][7] ^= 0x20;
        enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_ERR_HASH_MISMATCH,
                                     "does not lead to the checkpoint root");
        enlace_receipt_free(&r);
        f.hashes[i][7] ^= 0x20;
    }
    release(&f);
}

static void test_proof_of_wrong_length(void **state)
{
    (void)state;
    receipt_fixture_t f;
    build(&f, MSG_INDEX, N_LEAVES, log_key, ORIGIN, ORIGIN);
    f.rc.n_proof--;
    enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_ERR_MALFORMED, "does not fit");
    enlace_receipt_free(&r);
    f.rc.n_proof++;
    f.proof[1].len = 31;
    r = verify(&f, msg_id, log_pub, ENLACE_ERR_MALFORMED, "proof hash 1 is not 32 bytes");
    enlace_receipt_free(&r);
    release(&f);
}

static void test_record_swapped_for_another_leaf(void **state)
{
    (void)state;
    /* The proof of leaf 3 with the record of leaf 4: the path does not reach the root. */
    receipt_fixture_t f;
    build(&f, MSG_INDEX, N_LEAVES, log_key, ORIGIN, ORIGIN);
    f.rc.record.data = leaves[MSG_INDEX + 1];
    f.rc.record.len = leaf_len[MSG_INDEX + 1];
    enlace_receipt_t *r = verify(&f, msg_id, log_pub, ENLACE_ERR_HASH_MISMATCH, "");
    enlace_receipt_free(&r);
    release(&f);
}

static void test_proof_of_another_message(void **state)
{
    (void)state;
    /* A valid proof of a valid record, but not of the message asked for. */
    receipt_fixture_t f;
    build(&f, MSG_INDEX + 1, N_LEAVES, log_key, ORIGIN, ORIGIN);
    enlace_receipt_t *r =
        verify(&f, msg_id, log_pub, ENLACE_ERR_MALFORMED, "record 4 holds another message");
    enlace_receipt_free(&r);
    release(&f);
}

static void test_proof_of_a_non_publish_record(void **state)
{
    (void)state;
    receipt_fixture_t f;
    build(&f, 0, N_LEAVES, log_key, ORIGIN, ORIGIN);
    enlace_receipt_t *r =
        verify(&f, msg_id, log_pub, ENLACE_ERR_MALFORMED, "record 0 is not a published message");
    enlace_receipt_free(&r);
    release(&f);
}

static void test_record_seq_disagrees(void **state)
{
    (void)state;
    /* A log whose leaf 5 says it is record 3 (the message, re-logged): the proof holds,
     * the record's own sequence number does not. */
    merkle_t *t = merkle_new();
    uint8_t *rec[6];
    size_t len[6];
    for (uint64_t i = 0; i < 6; i++) {
        make_record(i == 5 ? MSG_INDEX : i, true, msg_id, &rec[i], &len[i]);
        uint8_t h[32];
        merkle_leaf_hash(rec[i], len[i], h);
        assert_int_equal(merkle_append(t, h), ENLACE_OK);
    }
    merkle_t *saved = tree;
    tree = t;
    receipt_fixture_t f;
    build(&f, 0, 6, log_key, ORIGIN, ORIGIN); /* proof shape of a 6-leaf tree */
    size_t n = 0;
    assert_int_equal(merkle_inclusion_proof(t, 5, 6, f.hashes, MERKLE_MAX_PROOF, &n), ENLACE_OK);
    for (size_t i = 0; i < n; i++) {
        f.proof[i].data = f.hashes[i];
        f.proof[i].len = 32;
    }
    f.rc.n_proof = n;
    f.rc.seq = 5;
    f.rc.record.data = rec[5];
    f.rc.record.len = len[5];
    enlace_receipt_t *r =
        verify(&f, msg_id, log_pub, ENLACE_ERR_MALFORMED, "record says seq 3, receipt says 5");
    enlace_receipt_free(&r);
    release(&f);
    tree = saved;
    for (size_t i = 0; i < 6; i++)
        free(rec[i]);
    merkle_destroy(&t);
}

static void test_undecodable_record(void **state)
{
    (void)state;
    /* A leaf of junk bytes, correctly proven: included, but not a record. */
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    merkle_t *t = merkle_new();
    uint8_t h[32];
    merkle_leaf_hash(junk, sizeof junk, h);
    assert_int_equal(merkle_append(t, h), ENLACE_OK);
    merkle_t *saved = tree;
    uint8_t *saved_leaf = leaves[0];
    size_t saved_len = leaf_len[0];
    tree = t;
    leaves[0] = junk;
    leaf_len[0] = sizeof junk;
    receipt_fixture_t f;
    build(&f, 0, 1, log_key, ORIGIN, ORIGIN);
    enlace_receipt_t *r =
        verify(&f, msg_id, log_pub, ENLACE_ERR_MALFORMED, "record does not decode");
    enlace_receipt_free(&r);
    release(&f);
    tree = saved;
    leaves[0] = saved_leaf;
    leaf_len[0] = saved_len;
    merkle_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_receipt),
        cmocka_unit_test(test_every_tree_size_containing_the_message),
        cmocka_unit_test(test_single_leaf_tree),
        cmocka_unit_test(test_checkpoint_signed_by_another_key),
        cmocka_unit_test(test_checkpoint_signed_under_another_name),
        cmocka_unit_test(test_checkpoint_of_another_log),
        cmocka_unit_test(test_garbage_checkpoint),
        cmocka_unit_test(test_tree_size_differs_from_checkpoint),
        cmocka_unit_test(test_seq_outside_tree),
        cmocka_unit_test(test_tampered_proof),
        cmocka_unit_test(test_proof_of_wrong_length),
        cmocka_unit_test(test_record_swapped_for_another_leaf),
        cmocka_unit_test(test_proof_of_another_message),
        cmocka_unit_test(test_proof_of_a_non_publish_record),
        cmocka_unit_test(test_record_seq_disagrees),
        cmocka_unit_test(test_undecodable_record),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
