/* test_merkle — specification of common/merkle.{h,c}.
 *
 * Published vectors: the RFC 6962 / certificate-transparency test data (8 leaves, roots
 * of sizes 0..8, the reference implementation's inclusion and consistency proofs) and
 * the RFC 9162 section 2.1.5 seven-leaf example with its named nodes (a..l).
 * Exhaustive small trees: every inclusion proof (index < size <= 8) and consistency
 * proof (1 <= m < n <= 8) equals a literal transcription of the RFC's recursive
 * definitions written in this file, verifies, and fails once tampered with (every node,
 * wrong index, wrong leaf, wrong root, truncated, extended). A 5000-leaf tree checks the
 * same past the storage chunk boundary, and a compact tree gives the same roots.
 * Refusals: impossible sizes and indexes, short output arrays.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void assert_hash(const uint8_t h[32], const char *hex)
{
    uint8_t want[32];
    unhex(hex, want, 32);
    assert_memory_equal(h, want, 32);
}

/* The RFC 6962 test leaves. */
static const struct {
    const char *hex;
} ct_leaves[8] = {{""},
                  {"00"},
                  {"10"},
                  {"2021"},
                  {"3031"},
                  {"40414243"},
                  {"5051525354555657"},
                  {"606162636465666768696a6b6c6d6e6f"}};

/* MTH(D[n]) for n = 0..8, as published. */
static const char *ct_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static uint8_t ct_leaf_hash[8][32];

static int setup_ct(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++) {
        uint8_t data[16];
        size_t n = strlen(ct_leaves[i].hex) / 2;
        unhex(ct_leaves[i].hex, data, n);
        merkle_leaf_hash(data, n, ct_leaf_hash[i]);
    }
    return 0;
}

static merkle_t *tree_of(const uint8_t (*leaves)[32], uint64_t n)
{
    merkle_t *m = merkle_new();
    assert_non_null(m);
    for (uint64_t i = 0; i < n; i++) {
        assert_int_equal(merkle_append(m, leaves[i]), ENLACE_OK);
    }
    return m;
}

/* ---- a literal transcription of RFC 9162 section 2.1 (independent of merkle.c) ----------- */

static uint64_t ref_k(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n) {
        k *= 2;
    }
    return k;
}

static void ref_mth(const uint8_t (*d)[32], uint64_t n, uint8_t out[32])
{
    if (n == 0) {
        merkle_empty_root(out);
    } else if (n == 1) {
        memcpy(out, d[0], 32);
    } else {
        uint64_t k = ref_k(n);
        uint8_t l[32], r[32];
        ref_mth(d, k, l);
        ref_mth(d + k, n - k, r);
        merkle_node_hash(l, r, out);
    }
}

static void ref_path(uint64_t m, const uint8_t (*d)[32], uint64_t n, uint8_t (*out)[32],
                     size_t *len)
{
    if (n == 1) {
        return;
    }
    uint64_t k = ref_k(n);
    if (m < k) {
        ref_path(m, d, k, out, len);
        ref_mth(d + k, n - k, out[(*len)++]);
    } else {
        ref_path(m - k, d + k, n - k, out, len);
        ref_mth(d, k, out[(*len)++]);
    }
}

static void ref_subproof(uint64_t m, const uint8_t (*d)[32], uint64_t n, int b, uint8_t (*out)[32],
                         size_t *len)
{
    if (m == n) {
        if (!b) {
            ref_mth(d, n, out[(*len)++]);
        }
        return;
    }
    uint64_t k = ref_k(n);
    if (m <= k) {
        ref_subproof(m, d, k, b, out, len);
        ref_mth(d + k, n - k, out[(*len)++]);
    } else {
        ref_subproof(m - k, d + k, n - k, 0, out, len);
        ref_mth(d, k, out[(*len)++]);
    }
}

/* ---- hashing and roots --------------------------------------------------------------- */

static void test_leaf_and_node_hashes_are_domain_separated(void **state)
{
    (void)state;
    uint8_t h[32], zero = 0;
    merkle_leaf_hash(NULL, 0, h);
    assert_hash(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    merkle_leaf_hash(&zero, 1, h);
    assert_hash(h, "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
    merkle_empty_root(h);
    assert_hash(h, ct_roots[0]);
    /* node(a, b) differs from leaf(a || b). */
    uint8_t ab[64], node[32], leaf[32];
    memcpy(ab, ct_leaf_hash[0], 32);
    memcpy(ab + 32, ct_leaf_hash[1], 32);
    merkle_node_hash(ct_leaf_hash[0], ct_leaf_hash[1], node);
    merkle_leaf_hash(ab, 64, leaf);
    assert_memory_not_equal(node, leaf, 32);
    assert_hash(node, ct_roots[2]);
}

static void test_roots_of_every_size_match_published_values(void **state)
{
    (void)state;
    merkle_t *full = tree_of(ct_leaf_hash, 8);
    for (uint64_t n = 0; n <= 8; n++) {
        uint8_t r[32];
        merkle_t *m = tree_of(ct_leaf_hash, n);
        assert_int_equal(merkle_size(m), n);
        assert_int_equal(merkle_root(m, n, r), ENLACE_OK); /* current size */
        assert_hash(r, ct_roots[n]);
        assert_int_equal(merkle_root(full, n, r), ENLACE_OK); /* earlier size */
        assert_hash(r, ct_roots[n]);
        merkle_destroy(&m);
        merkle_destroy(&m);
        assert_null(m);
    }
    merkle_destroy(&full);
}

static void test_compact_tree_gives_the_same_roots_and_no_proofs(void **state)
{
    (void)state;
    merkle_t *c = merkle_new_compact();
    uint8_t r[32], p[MERKLE_MAX_PROOF][32];
    size_t n = 99;
    assert_true(merkle_is_compact(c));
    assert_int_equal(merkle_root(c, 0, r), ENLACE_OK);
    assert_hash(r, ct_roots[0]);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(merkle_append(c, ct_leaf_hash[i]), ENLACE_OK);
        assert_int_equal(merkle_root(c, (uint64_t)i + 1, r), ENLACE_OK);
        assert_hash(r, ct_roots[i + 1]);
    }
    assert_int_equal(merkle_root(c, 4, r), ENLACE_ERR_INVALID);
    assert_int_equal(merkle_leaf(c, 0, r), ENLACE_ERR_INVALID);
    assert_int_equal(merkle_inclusion_proof(c, 0, 8, p, MERKLE_MAX_PROOF, &n), ENLACE_ERR_INVALID);
    assert_int_equal(n, 0);
    assert_int_equal(merkle_consistency_proof(c, 2, 8, p, MERKLE_MAX_PROOF, &n),
                     ENLACE_ERR_INVALID);
    merkle_destroy(&c);
}

/* ---- published proofs ---------------------------------------------------------------- */

typedef struct {
    uint64_t a, b;      /* (index, size) or (old, new) */
    size_t n;           /* proof length */
    const char *hex[4]; /* proof */
} proof_vector_t;

static const proof_vector_t ct_inclusion[] = {
    {0, 1, 0, {NULL}},
    {0,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static const proof_vector_t ct_consistency[] = {
    {1, 1, 0, {NULL}},
    {1,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static void test_published_inclusion_proofs(void **state)
{
    (void)state;
    merkle_t *m = tree_of(ct_leaf_hash, 8);
    for (size_t v = 0; v < sizeof(ct_inclusion) / sizeof(ct_inclusion[0]); v++) {
        const proof_vector_t *pv = &ct_inclusion[v];
        uint8_t p[MERKLE_MAX_PROOF][32], root[32];
        size_t n;
        assert_int_equal(merkle_inclusion_proof(m, pv->a, pv->b, p, MERKLE_MAX_PROOF, &n),
                         ENLACE_OK);
        assert_int_equal(n, pv->n);
        for (size_t i = 0; i < n; i++) {
            assert_hash(p[i], pv->hex[i]);
        }
        unhex(ct_roots[pv->b], root, 32);
        assert_int_equal(merkle_verify_inclusion(ct_leaf_hash[pv->a], pv->a, pv->b,
                                                 (const uint8_t(*)[32])p, n, root),
                         ENLACE_OK);
    }
    merkle_destroy(&m);
}

static void test_published_consistency_proofs(void **state)
{
    (void)state;
    merkle_t *m = tree_of(ct_leaf_hash, 8);
    for (size_t v = 0; v < sizeof(ct_consistency) / sizeof(ct_consistency[0]); v++) {
        const proof_vector_t *pv = &ct_consistency[v];
        uint8_t p[MERKLE_MAX_PROOF][32], r1[32], r2[32];
        size_t n;
        assert_int_equal(merkle_consistency_proof(m, pv->a, pv->b, p, MERKLE_MAX_PROOF, &n),
                         ENLACE_OK);
        assert_int_equal(n, pv->n);
        for (size_t i = 0; i < n; i++) {
            assert_hash(p[i], pv->hex[i]);
        }
        unhex(ct_roots[pv->a], r1, 32);
        unhex(ct_roots[pv->b], r2, 32);
        assert_int_equal(
            merkle_verify_consistency(pv->a, pv->b, r1, r2, (const uint8_t(*)[32])p, n), ENLACE_OK);
    }
    merkle_destroy(&m);
}

/* RFC 9162 section 2.1.5: the 7-leaf tree with named nodes. */
static void test_rfc9162_seven_leaf_example(void **state)
{
    (void)state;
    const uint8_t(*d)[32] = ct_leaf_hash; /* a..f and j are the leaf hashes of d0..d6 */
    uint8_t g[32], h[32], i_[32], k[32], l[32], root[32];
    merkle_node_hash(d[0], d[1], g);
    merkle_node_hash(d[2], d[3], h);
    merkle_node_hash(d[4], d[5], i_);
    merkle_node_hash(g, h, k);
    merkle_node_hash(i_, d[6], l);
    merkle_node_hash(k, l, root);
    merkle_t *m = tree_of(ct_leaf_hash, 7);
    uint8_t r[32];
    assert_int_equal(merkle_root(m, 7, r), ENLACE_OK);
    assert_memory_equal(r, root, 32);
    assert_hash(r, ct_roots[7]);

    const struct {
        uint64_t index;
        size_t n;
        const uint8_t *nodes[3];
    } incl[] = {
        {0, 3, {d[1], h, l}},    /* "The inclusion proof for d0 is [b, h, l]." */
        {3, 3, {d[2], g, l}},    /* d3: [c, g, l] */
        {4, 3, {d[5], d[6], k}}, /* d4: [f, j, k] */
        {6, 2, {i_, k}},         /* d6: [i, k] */
    };
    for (size_t t = 0; t < sizeof(incl) / sizeof(incl[0]); t++) {
        uint8_t p[MERKLE_MAX_PROOF][32];
        size_t n;
        assert_int_equal(merkle_inclusion_proof(m, incl[t].index, 7, p, MERKLE_MAX_PROOF, &n),
                         ENLACE_OK);
        assert_int_equal(n, incl[t].n);
        for (size_t j = 0; j < n; j++) {
            assert_memory_equal(p[j], incl[t].nodes[j], 32);
        }
    }
    const struct {
        uint64_t old;
        size_t n;
        const uint8_t *nodes[4];
    } cons[] = {
        {3, 4, {d[2], d[3], g, l}}, /* PROOF(3, D[7]) = [c, d, g, l] */
        {4, 1, {l}},                /* PROOF(4, D[7]) = [l] */
        {6, 3, {i_, d[6], k}},      /* PROOF(6, D[7]) = [i, j, k] */
    };
    for (size_t t = 0; t < sizeof(cons) / sizeof(cons[0]); t++) {
        uint8_t p[MERKLE_MAX_PROOF][32], old_root[32];
        size_t n;
        assert_int_equal(merkle_consistency_proof(m, cons[t].old, 7, p, MERKLE_MAX_PROOF, &n),
                         ENLACE_OK);
        assert_int_equal(n, cons[t].n);
        for (size_t j = 0; j < n; j++) {
            assert_memory_equal(p[j], cons[t].nodes[j], 32);
        }
        assert_int_equal(merkle_root(m, cons[t].old, old_root), ENLACE_OK);
        assert_int_equal(
            merkle_verify_consistency(cons[t].old, 7, old_root, root, (const uint8_t(*)[32])p, n),
            ENLACE_OK);
    }
    merkle_destroy(&m);
}

/* ---- exhaustive proofs + tampering ------------------------------------------------------- */

/* Check every inclusion proof of `leaves` for sizes up to max_size against the reference,
 * with tampering. */
static void check_all_inclusion(const uint8_t (*leaves)[32], uint64_t max_size, uint64_t step)
{
    merkle_t *m = tree_of(leaves, max_size);
    for (uint64_t size = 1; size <= max_size; size += step) {
        uint8_t root[32];
        ref_mth(leaves, size, root);
        for (uint64_t idx = 0; idx < size; idx += (size > 64 ? size / 7 + 1 : 1)) {
            uint8_t p[MERKLE_MAX_PROOF][32], want[MERKLE_MAX_PROOF][32];
            size_t n, wn = 0;
            assert_int_equal(merkle_inclusion_proof(m, idx, size, p, MERKLE_MAX_PROOF, &n),
                             ENLACE_OK);
            ref_path(idx, leaves, size, want, &wn);
            assert_int_equal(n, wn);
            assert_memory_equal(p, want, n * 32);
            const uint8_t(*cp)[32] = (const uint8_t(*)[32])p;
            assert_int_equal(merkle_verify_inclusion(leaves[idx], idx, size, cp, n, root),
                             ENLACE_OK);
            for (size_t j = 0; j < n; j++) { /* each node tampered */
                p[j][j % 32] ^= 0x01;
                assert_int_equal(merkle_verify_inclusion(leaves[idx], idx, size, cp, n, root),
                                 ENLACE_ERR_HASH_MISMATCH);
                p[j][j % 32] ^= 0x01;
            }
            uint8_t other[32];
            memcpy(other, leaves[idx], 32);
            other[0] ^= 0x80;
            assert_int_not_equal(merkle_verify_inclusion(other, idx, size, cp, n, root), ENLACE_OK);
            if (size > 1) {
                uint64_t wrong = (idx + 1) % size;
                assert_int_not_equal(merkle_verify_inclusion(leaves[idx], wrong, size, cp, n, root),
                                     ENLACE_OK);
                assert_int_equal(merkle_verify_inclusion(leaves[idx], idx, size, cp, n - 1, root),
                                 ENLACE_ERR_INVALID);
            }
            memcpy(p[n], root, 32);
            assert_int_equal(merkle_verify_inclusion(leaves[idx], idx, size, cp, n + 1, root),
                             ENLACE_ERR_INVALID);
            uint8_t bad_root[32];
            memcpy(bad_root, root, 32);
            bad_root[31] ^= 1;
            assert_int_equal(merkle_verify_inclusion(leaves[idx], idx, size, cp, n, bad_root),
                             ENLACE_ERR_HASH_MISMATCH);
        }
    }
    merkle_destroy(&m);
}

static void check_all_consistency(const uint8_t (*leaves)[32], uint64_t max_size, uint64_t step)
{
    merkle_t *m = tree_of(leaves, max_size);
    for (uint64_t n2 = 2; n2 <= max_size; n2 += step) {
        uint8_t r2[32];
        ref_mth(leaves, n2, r2);
        for (uint64_t n1 = 1; n1 < n2; n1 += (n2 > 64 ? n2 / 5 + 1 : 1)) {
            uint8_t r1[32], p[MERKLE_MAX_PROOF][32], want[MERKLE_MAX_PROOF][32];
            size_t n, wn = 0;
            ref_mth(leaves, n1, r1);
            assert_int_equal(merkle_consistency_proof(m, n1, n2, p, MERKLE_MAX_PROOF, &n),
                             ENLACE_OK);
            ref_subproof(n1, leaves, n2, 1, want, &wn);
            assert_int_equal(n, wn);
            assert_memory_equal(p, want, n * 32);
            const uint8_t(*cp)[32] = (const uint8_t(*)[32])p;
            assert_int_equal(merkle_verify_consistency(n1, n2, r1, r2, cp, n), ENLACE_OK);
            for (size_t j = 0; j < n; j++) {
                p[j][(j * 5) % 32] ^= 0x10;
                assert_int_equal(merkle_verify_consistency(n1, n2, r1, r2, cp, n),
                                 ENLACE_ERR_HASH_MISMATCH);
                p[j][(j * 5) % 32] ^= 0x10;
            }
            uint8_t bad[32];
            memcpy(bad, r1, 32);
            bad[0] ^= 1;
            assert_int_equal(merkle_verify_consistency(n1, n2, bad, r2, cp, n),
                             ENLACE_ERR_HASH_MISMATCH);
            memcpy(bad, r2, 32);
            bad[0] ^= 1;
            assert_int_equal(merkle_verify_consistency(n1, n2, r1, bad, cp, n),
                             ENLACE_ERR_HASH_MISMATCH);
            assert_int_not_equal(merkle_verify_consistency(n1, n2, r1, r2, cp, n - 1), ENLACE_OK);
            memcpy(p[n], r2, 32);
            assert_int_not_equal(merkle_verify_consistency(n1, n2, r1, r2, cp, n + 1), ENLACE_OK);
            /* A proof between other sizes does not transfer. */
            if (n1 + 1 < n2) {
                uint8_t r1b[32];
                ref_mth(leaves, n1 + 1, r1b);
                assert_int_not_equal(merkle_verify_consistency(n1 + 1, n2, r1b, r2, cp, n),
                                     ENLACE_OK);
            }
        }
    }
    merkle_destroy(&m);
}

static void test_every_inclusion_proof_up_to_8_leaves(void **state)
{
    (void)state;
    check_all_inclusion(ct_leaf_hash, 8, 1);
}

static void test_every_consistency_proof_up_to_8_leaves(void **state)
{
    (void)state;
    check_all_consistency(ct_leaf_hash, 8, 1);
}

static void test_larger_tree_across_storage_chunks(void **state)
{
    (void)state;
    enum { N = 5000 };
    uint8_t(*leaves)[32] = malloc(N * 32);
    assert_non_null(leaves);
    for (uint32_t i = 0; i < N; i++) {
        uint8_t b[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        merkle_leaf_hash(b, 4, leaves[i]);
    }
    check_all_inclusion((const uint8_t(*)[32])leaves, 70, 1);
    check_all_inclusion((const uint8_t(*)[32])leaves, N, 997);
    check_all_consistency((const uint8_t(*)[32])leaves, 40, 1);
    check_all_consistency((const uint8_t(*)[32])leaves, N, 1231);
    merkle_t *m = tree_of((const uint8_t(*)[32])leaves, N);
    uint64_t sizes[] = {1, 2, 3, 4095, 4096, 4097, 4999, 5000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t a[32], b[32];
        assert_int_equal(merkle_root(m, sizes[i], a), ENLACE_OK);
        ref_mth((const uint8_t(*)[32])leaves, sizes[i], b);
        assert_memory_equal(a, b, 32);
        assert_int_equal(merkle_leaf(m, sizes[i] - 1, a), ENLACE_OK);
        assert_memory_equal(a, leaves[sizes[i] - 1], 32);
    }
    merkle_destroy(&m);
    free(leaves);
}

/* ---- refusals ------------------------------------------------------------------------- */

static void test_refuses_impossible_arguments(void **state)
{
    (void)state;
    merkle_t *m = tree_of(ct_leaf_hash, 8);
    uint8_t p[MERKLE_MAX_PROOF][32], r[32], r8[32], r4[32];
    size_t n = 7;
    unhex(ct_roots[8], r8, 32);
    unhex(ct_roots[4], r4, 32);
    const uint8_t(*cp)[32] = (const uint8_t(*)[32])p;

    assert_int_equal(merkle_root(m, 9, r), ENLACE_ERR_INVALID);
    assert_int_equal(merkle_leaf(m, 8, r), ENLACE_ERR_NOT_FOUND);
    assert_int_equal(merkle_inclusion_proof(m, 8, 8, p, MERKLE_MAX_PROOF, &n), ENLACE_ERR_INVALID);
    assert_int_equal(n, 0);
    assert_int_equal(merkle_inclusion_proof(m, 0, 9, p, MERKLE_MAX_PROOF, &n), ENLACE_ERR_INVALID);
    assert_int_equal(merkle_inclusion_proof(m, 0, 8, p, 2, &n), ENLACE_ERR_INVALID); /* needs 3 */
    assert_int_equal(merkle_consistency_proof(m, 5, 4, p, MERKLE_MAX_PROOF, &n),
                     ENLACE_ERR_INVALID);
    assert_int_equal(merkle_consistency_proof(m, 4, 9, p, MERKLE_MAX_PROOF, &n),
                     ENLACE_ERR_INVALID);
    assert_int_equal(merkle_consistency_proof(m, 3, 8, p, 1, &n), ENLACE_ERR_INVALID);
    /* Nothing to prove: empty proofs. */
    assert_int_equal(merkle_consistency_proof(m, 0, 8, p, MERKLE_MAX_PROOF, &n), ENLACE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(merkle_consistency_proof(m, 8, 8, p, MERKLE_MAX_PROOF, &n), ENLACE_OK);
    assert_int_equal(n, 0);

    assert_int_equal(merkle_verify_inclusion(ct_leaf_hash[0], 8, 8, cp, 3, r8), ENLACE_ERR_INVALID);
    assert_int_equal(merkle_verify_inclusion(ct_leaf_hash[0], 0, 0, cp, 0, r8), ENLACE_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(8, 4, r8, r4, cp, 0), ENLACE_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(8, 8, r8, r8, cp, 0), ENLACE_OK);
    assert_int_equal(merkle_verify_consistency(8, 8, r8, r8, cp, 1), ENLACE_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(8, 8, r4, r8, cp, 0), ENLACE_ERR_HASH_MISMATCH);
    uint8_t empty[32];
    merkle_empty_root(empty);
    assert_int_equal(merkle_verify_consistency(0, 8, empty, r8, cp, 0), ENLACE_OK);
    assert_int_equal(merkle_verify_consistency(0, 8, r4, r8, cp, 0), ENLACE_ERR_HASH_MISMATCH);
    assert_int_equal(merkle_verify_consistency(4, 8, r4, r8, cp, 0), ENLACE_ERR_INVALID);
    assert_int_equal(merkle_verify_consistency(4, 8, r4, r8, cp, MERKLE_MAX_PROOF + 1),
                     ENLACE_ERR_INVALID);
    merkle_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_and_node_hashes_are_domain_separated),
        cmocka_unit_test(test_roots_of_every_size_match_published_values),
        cmocka_unit_test(test_compact_tree_gives_the_same_roots_and_no_proofs),
        cmocka_unit_test(test_published_inclusion_proofs),
        cmocka_unit_test(test_published_consistency_proofs),
        cmocka_unit_test(test_rfc9162_seven_leaf_example),
        cmocka_unit_test(test_every_inclusion_proof_up_to_8_leaves),
        cmocka_unit_test(test_every_consistency_proof_up_to_8_leaves),
        cmocka_unit_test(test_larger_tree_across_storage_chunks),
        cmocka_unit_test(test_refuses_impossible_arguments),
    };
    return cmocka_run_group_tests(tests, setup_ct, NULL);
}
