/* merkle — RFC 9162 Merkle tree (see merkle.h). */
#include "merkle.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* Hashes per storage chunk: 4096 * 32 bytes = 128 KiB, so growing the tree allocates a
 * chunk and never copies earlier hashes. */
#define CHUNK_BITS 12
#define CHUNK_HASHES (1u << CHUNK_BITS)
#define MAX_LEVELS 64
#define MAX_LEAVES (UINT64_C(1) << 63)

/* A growable array of 32-byte hashes in fixed-size chunks. */
typedef struct {
    uint8_t (**chunks)[32]; /* chunk pointers; chunk i holds hashes i*CHUNK_HASHES.. */
    size_t n_chunks;        /* chunks allocated */
    size_t cap_chunks;      /* capacity of the chunks pointer array */
    uint64_t count;         /* hashes stored */
} hash_vec_t;

struct merkle {
    uint64_t size;                     /* leaves appended */
    bool compact;                      /* true: only `frontier` is kept */
    uint8_t frontier[MAX_LEVELS][32];  /* per level: the last node completed as a left
                                          child (the roots of the perfect subtrees that
                                          make up the current tree, by size bits) */
    hash_vec_t levels[MAX_LEVELS / 2]; /* levels[j]: complete nodes of level 2j */
};

/* SHA-256 fetched once: an implicit fetch per hash (EVP_sha256()) costs twice the hash
 * of a 65-byte node itself. Kept for the life of the process. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* out = SHA-256(prefix || a || b). Aborts if OpenSSL cannot hash: a Merkle tree that
 * silently produced a wrong hash would be worse than no broker. */
static void hash3(uint8_t prefix, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                  uint8_t out[32])
{
    pthread_once(&sha256_once, sha256_fetch);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int outlen = 0;
    uint8_t tmp[32];
    if (sha256_md == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(ctx, &prefix, 1) != 1 ||
        (alen > 0 && EVP_DigestUpdate(ctx, a, alen) != 1) ||
        (blen > 0 && EVP_DigestUpdate(ctx, b, blen) != 1) ||
        EVP_DigestFinal_ex(ctx, tmp, &outlen) != 1 || outlen != 32) {
        abort();
    }
    EVP_MD_CTX_free(ctx);
    memcpy(out, tmp, 32);
}

void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[32])
{
    hash3(0x00, data, len, NULL, 0, out);
}

void merkle_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
    hash3(0x01, left, 32, right, 32, out);
}

void merkle_empty_root(uint8_t out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    pthread_once(&sha256_once, sha256_fetch);
    unsigned int outlen = 0;
    if (sha256_md == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, sha256_md, NULL) != 1 ||
        EVP_DigestFinal_ex(ctx, out, &outlen) != 1 || outlen != 32) {
        abort();
    }
    EVP_MD_CTX_free(ctx);
}

/* ---- hash vector ---------------------------------------------------------------------- */

static const uint8_t *vec_get(const hash_vec_t *v, uint64_t i)
{
    assert(i < v->count);
    return v->chunks[i >> CHUNK_BITS][i & (CHUNK_HASHES - 1)];
}

static enlace_err_t vec_push(hash_vec_t *v, const uint8_t h[32])
{
    size_t chunk = (size_t)(v->count >> CHUNK_BITS);
    if (chunk == v->n_chunks) {
        if (v->n_chunks == v->cap_chunks) {
            size_t cap = v->cap_chunks ? v->cap_chunks * 2 : 16;
            void *p = realloc(v->chunks, cap * sizeof(*v->chunks));
            if (p == NULL) {
                return ENLACE_ERR_NOMEM;
            }
            v->chunks = p;
            v->cap_chunks = cap;
        }
        v->chunks[chunk] = malloc(CHUNK_HASHES * 32);
        if (v->chunks[chunk] == NULL) {
            return ENLACE_ERR_NOMEM;
        }
        v->n_chunks++;
    }
    memcpy(v->chunks[chunk][v->count & (CHUNK_HASHES - 1)], h, 32);
    v->count++;
    return ENLACE_OK;
}

static void vec_free(hash_vec_t *v)
{
    for (size_t i = 0; i < v->n_chunks; i++) {
        free(v->chunks[i]);
    }
    free(v->chunks);
    memset(v, 0, sizeof(*v));
}

/* ---- tree ------------------------------------------------------------------------------ */

static merkle_t *tree_new(bool compact)
{
    merkle_t *m = calloc(1, sizeof(*m));
    if (m != NULL) {
        m->compact = compact;
    }
    return m;
}

merkle_t *merkle_new(void)
{
    return tree_new(false);
}

merkle_t *merkle_new_compact(void)
{
    return tree_new(true);
}

void merkle_destroy(merkle_t **m)
{
    if (m == NULL || *m == NULL) {
        return;
    }
    for (size_t j = 0; j < MAX_LEVELS / 2; j++) {
        vec_free(&(*m)->levels[j]);
    }
    free(*m);
    *m = NULL;
}

uint64_t merkle_size(const merkle_t *m)
{
    return m->size;
}

bool merkle_is_compact(const merkle_t *m)
{
    return m->compact;
}

enlace_err_t merkle_append(merkle_t *m, const uint8_t leaf_hash[32])
{
    if (m->size >= MAX_LEAVES) {
        return ENLACE_ERR_INVALID;
    }
    /* Reserve room on every even level the append will touch before changing anything,
     * so an allocation failure leaves the tree as it was: compute the new nodes first. */
    uint8_t made[MAX_LEVELS][32]; /* made[L]: the node of level L this append completes */
    unsigned top = 0;             /* highest level completed */
    memcpy(made[0], leaf_hash, 32);
    uint64_t idx = m->size;
    while (idx & 1) {
        merkle_node_hash(m->frontier[top], made[top], made[top + 1]);
        idx >>= 1;
        top++;
    }
    if (!m->compact) {
        unsigned pushed = 0;
        for (unsigned L = 0; L <= top; L += 2) {
            if (vec_push(&m->levels[L / 2], made[L]) != ENLACE_OK) {
                /* Undo the levels already pushed (their chunks stay allocated). */
                for (unsigned u = 0; u < pushed; u++) {
                    m->levels[u].count--;
                }
                return ENLACE_ERR_NOMEM;
            }
            pushed++;
        }
    }
    /* The node completed at the top level has an even index: it is a left child
     * waiting for its sibling (or a root of the current decomposition). */
    memcpy(m->frontier[top], made[top], 32);
    m->size++;
    return ENLACE_OK;
}

/* Hash of the complete node at (level, index): stored on even levels, one hash of its
 * stored children on odd ones. The node must be complete within m->size leaves. */
static void node_at(const merkle_t *m, unsigned level, uint64_t index, uint8_t out[32])
{
    if (level % 2 == 0) {
        memcpy(out, vec_get(&m->levels[level / 2], index), 32);
        return;
    }
    const hash_vec_t *below = &m->levels[(level - 1) / 2];
    merkle_node_hash(vec_get(below, 2 * index), vec_get(below, 2 * index + 1), out);
}

/* Largest power of two strictly smaller than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    assert(n >= 2);
    uint64_t k = UINT64_C(1) << (63 - __builtin_clzll(n - 1));
    return k;
}

/* MTH(D[begin:end]) for end > begin. In RFC 9162 proofs every range is either a
 * complete, aligned subtree (one stored node) or splits into one and a smaller range. */
static void range_hash(const merkle_t *m, uint64_t begin, uint64_t end, uint8_t out[32])
{
    uint64_t n = end - begin;
    assert(n >= 1);
    if ((n & (n - 1)) == 0 && (begin & (n - 1)) == 0) {
        node_at(m, (unsigned)__builtin_ctzll(n), begin >> __builtin_ctzll(n), out);
        return;
    }
    if (n == 1) {
        node_at(m, 0, begin, out);
        return;
    }
    uint64_t k = split_point(n);
    uint8_t left[32], right[32];
    range_hash(m, begin, begin + k, left);
    range_hash(m, begin + k, end, right);
    merkle_node_hash(left, right, out);
}

enlace_err_t merkle_root(const merkle_t *m, uint64_t size, uint8_t out[32])
{
    if (size > m->size || (m->compact && size != m->size)) {
        return ENLACE_ERR_INVALID;
    }
    if (size == 0) {
        merkle_empty_root(out);
        return ENLACE_OK;
    }
    if (size == m->size) {
        /* Fold the frontier from the smallest perfect subtree up: O(log n) hashes. */
        uint8_t acc[32];
        bool have = false;
        for (unsigned L = 0; L < MAX_LEVELS; L++) {
            if (!(size >> L & 1)) {
                continue;
            }
            if (have) {
                merkle_node_hash(m->frontier[L], acc, acc);
            } else {
                memcpy(acc, m->frontier[L], 32);
                have = true;
            }
        }
        memcpy(out, acc, 32);
        return ENLACE_OK;
    }
    range_hash(m, 0, size, out);
    return ENLACE_OK;
}

enlace_err_t merkle_leaf(const merkle_t *m, uint64_t index, uint8_t out[32])
{
    if (m->compact) {
        return ENLACE_ERR_INVALID;
    }
    if (index >= m->size) {
        return ENLACE_ERR_NOT_FOUND;
    }
    memcpy(out, vec_get(&m->levels[0], index), 32);
    return ENLACE_OK;
}

/* Output buffer of a proof under construction. */
typedef struct {
    uint8_t (*proof)[32]; /* caller's array */
    size_t max;           /* its capacity */
    size_t n;             /* hashes written */
    bool overflow;        /* a hash did not fit */
} proof_out_t;

static void emit_range(const merkle_t *m, proof_out_t *o, uint64_t begin, uint64_t end)
{
    if (o->n >= o->max) {
        o->overflow = true;
        return;
    }
    range_hash(m, begin, end, o->proof[o->n++]);
}

/* PATH(index, D[lo:lo+n]) of RFC 9162 section 2.1.3.1, written deepest first. */
static void path(const merkle_t *m, proof_out_t *o, uint64_t index, uint64_t lo, uint64_t n)
{
    if (n == 1) {
        return;
    }
    uint64_t k = split_point(n);
    if (index < k) {
        path(m, o, index, lo, k);
        emit_range(m, o, lo + k, lo + n);
    } else {
        path(m, o, index - k, lo + k, n - k);
        emit_range(m, o, lo, lo + k);
    }
}

/* SUBPROOF(old, D[lo:lo+n], complete) of RFC 9162 section 2.1.4.1. */
static void subproof(const merkle_t *m, proof_out_t *o, uint64_t old, uint64_t lo, uint64_t n,
                     bool complete)
{
    if (old == n) {
        if (!complete) {
            emit_range(m, o, lo, lo + n);
        }
        return;
    }
    uint64_t k = split_point(n);
    if (old <= k) {
        subproof(m, o, old, lo, k, complete);
        emit_range(m, o, lo + k, lo + n);
    } else {
        subproof(m, o, old - k, lo + k, n - k, false);
        emit_range(m, o, lo, lo + k);
    }
}

enlace_err_t merkle_inclusion_proof(const merkle_t *m, uint64_t index, uint64_t size,
                                    uint8_t (*proof)[32], size_t max, size_t *n)
{
    *n = 0;
    if (m->compact || index >= size || size > m->size) {
        return ENLACE_ERR_INVALID;
    }
    proof_out_t o = {.proof = proof, .max = max};
    path(m, &o, index, 0, size);
    if (o.overflow) {
        return ENLACE_ERR_INVALID;
    }
    *n = o.n;
    return ENLACE_OK;
}

enlace_err_t merkle_consistency_proof(const merkle_t *m, uint64_t old_size, uint64_t new_size,
                                      uint8_t (*proof)[32], size_t max, size_t *n)
{
    *n = 0;
    if (m->compact || old_size > new_size || new_size > m->size) {
        return ENLACE_ERR_INVALID;
    }
    if (old_size == 0 || old_size == new_size) {
        return ENLACE_OK;
    }
    proof_out_t o = {.proof = proof, .max = max};
    subproof(m, &o, old_size, 0, new_size, true);
    if (o.overflow) {
        return ENLACE_ERR_INVALID;
    }
    *n = o.n;
    return ENLACE_OK;
}

/* ---- verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) ------------------------------ */

enlace_err_t merkle_verify_inclusion(const uint8_t leaf[32], uint64_t index, uint64_t size,
                                     const uint8_t (*proof)[32], size_t n, const uint8_t root[32])
{
    if (index >= size || n > MERKLE_MAX_PROOF) {
        return ENLACE_ERR_INVALID;
    }
    uint64_t fn = index, sn = size - 1;
    uint8_t r[32];
    memcpy(r, leaf, 32);
    for (size_t i = 0; i < n; i++) {
        if (sn == 0) {
            return ENLACE_ERR_INVALID; /* proof longer than the path */
        }
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(proof[i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) {
        return ENLACE_ERR_INVALID; /* proof shorter than the path */
    }
    return CRYPTO_memcmp(r, root, 32) == 0 ? ENLACE_OK : ENLACE_ERR_HASH_MISMATCH;
}

enlace_err_t merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                                       const uint8_t old_root[32], const uint8_t new_root[32],
                                       const uint8_t (*proof)[32], size_t n)
{
    if (old_size > new_size || n > MERKLE_MAX_PROOF) {
        return ENLACE_ERR_INVALID;
    }
    if (old_size == new_size || old_size == 0) {
        if (n != 0) {
            return ENLACE_ERR_INVALID;
        }
        uint8_t empty[32];
        merkle_empty_root(empty);
        const uint8_t *want = old_size == 0 ? empty : new_root;
        return CRYPTO_memcmp(old_root, want, 32) == 0 ? ENLACE_OK : ENLACE_ERR_HASH_MISMATCH;
    }
    if (n == 0) {
        return ENLACE_ERR_INVALID;
    }
    /* Step 2: when old_size is a power of two, old_root itself starts the path. */
    size_t i = 0;
    uint8_t fr[32], sr[32];
    if ((old_size & (old_size - 1)) == 0) {
        memcpy(fr, old_root, 32);
    } else {
        memcpy(fr, proof[0], 32);
        i = 1;
    }
    memcpy(sr, fr, 32);
    uint64_t fn = old_size - 1, sn = new_size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < n; i++) {
        if (sn == 0) {
            return ENLACE_ERR_INVALID;
        }
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(proof[i], fr, fr);
            merkle_node_hash(proof[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) {
        return ENLACE_ERR_INVALID;
    }
    bool ok = CRYPTO_memcmp(fr, old_root, 32) == 0;
    ok &= CRYPTO_memcmp(sr, new_root, 32) == 0;
    return ok ? ENLACE_OK : ENLACE_ERR_HASH_MISMATCH;
}
