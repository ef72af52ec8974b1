/* merkle — the RFC 9162 Merkle tree of the audit log: hashes, proofs, verification.
 *
 * Every log record is one leaf (DESIGN.md section 7). Hashes follow RFC 9162 section 2.1
 * with SHA-256:
 *   leaf hash  = SHA-256(0x00 || record bytes)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH({})    = SHA-256("")            (the empty tree)
 *   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n.
 *
 * merkle_t is the writer's incremental tree. merkle_append() costs O(log n) hash
 * computations (amortised 1); roots of any earlier size and inclusion/consistency
 * proofs (RFC 9162 sections 2.1.3.1 and 2.1.4.1) between any sizes are computed from
 * stored hashes in O(log n) without rereading records. Storage: the leaf hashes and the
 * complete subtree hashes of every even level (levels 0, 2, 4, ...); a node of an odd
 * level is one hash of its two stored children. That is 32 * 4/3 ≈ 43 bytes per leaf,
 * against 64 for storing every level, at the cost of at most one extra hash per proof
 * node. Storage is chunked, so the tree never copies itself to grow.
 *
 * A compact tree (merkle_new_compact) keeps only the O(log n) "frontier" hashes: it
 * appends and gives the root of its current size, for verifiers that stream a log of
 * any length (enlace-audit verify) and need no proofs.
 *
 * The verification functions are pure and follow RFC 9162 sections 2.1.3.2 and 2.1.4.2
 * exactly; digests are compared in constant time. Hashing aborts the process if OpenSSL
 * cannot compute SHA-256 (out of memory): a tree must never hold a wrong hash, and the
 * void hash functions have no error to return. A merkle_t is not thread safe: one
 * thread owns it (the log writer). The stateless functions are thread safe.
 *
 * Related: log_store.h (keeps a merkle_t of the log), checkpoint.h (signs its root).
 */
#ifndef ENLACE_MERKLE_H
#define ENLACE_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enlace_err.h"

#define MERKLE_HASH_LEN 32
/* Upper bound on the length of any proof for trees of up to 2^64 - 1 leaves:
 * an inclusion proof has at most 64 hashes, a consistency proof at most 65. Arrays of
 * this many hashes are always large enough. */
#define MERKLE_MAX_PROOF 66

/* out = SHA-256(0x00 || data[0..len)). data may be NULL when len is 0. */
void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[32]);

/* out = SHA-256(0x01 || left || right). out may alias left or right. */
void merkle_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]);

/* out = SHA-256(""), the root of the empty tree. */
void merkle_empty_root(uint8_t out[32]);

typedef struct merkle merkle_t;

/* A new, empty, full tree (stores what any proof needs). NULL when out of memory. */
merkle_t *merkle_new(void);

/* A new, empty, compact tree: O(log n) memory, append + current root only. */
merkle_t *merkle_new_compact(void);

/* Free the tree and set *m to NULL. Safe on NULL and twice. */
void merkle_destroy(merkle_t **m);

/* Append one leaf, given as its leaf hash (merkle_leaf_hash of the record).
 * Returns ENLACE_OK, ENLACE_ERR_NOMEM (the tree is unchanged) or ENLACE_ERR_INVALID
 * (the tree already holds 2^63 leaves). */
enlace_err_t merkle_append(merkle_t *m, const uint8_t leaf_hash[32]);

/* Number of leaves appended. */
uint64_t merkle_size(const merkle_t *m);

/* True for a tree made by merkle_new_compact. */
bool merkle_is_compact(const merkle_t *m);

/* out = MTH of the first `size` leaves (size 0: the empty root).
 * Returns ENLACE_OK, or ENLACE_ERR_INVALID when size > merkle_size(m), or when the
 * tree is compact and size != merkle_size(m). */
enlace_err_t merkle_root(const merkle_t *m, uint64_t size, uint8_t out[32]);

/* out = the leaf hash at `index`.
 * Returns ENLACE_OK, ENLACE_ERR_NOT_FOUND (index >= size) or ENLACE_ERR_INVALID
 * (compact tree). */
enlace_err_t merkle_leaf(const merkle_t *m, uint64_t index, uint8_t out[32]);

/* Inclusion proof PATH(index, D[size]) (RFC 9162 section 2.1.3.1) into proof[0..max),
 * deepest sibling first; *n receives the number of hashes (0 for a one-leaf tree).
 * Returns ENLACE_OK; ENLACE_ERR_INVALID when index >= size, size > merkle_size(m), the
 * tree is compact, or max is too small (MERKLE_MAX_PROOF always suffices); *n is 0 on
 * error. */
enlace_err_t merkle_inclusion_proof(const merkle_t *m, uint64_t index, uint64_t size,
                                    uint8_t (*proof)[32], size_t max, size_t *n);

/* Consistency proof PROOF(old_size, D[new_size]) (RFC 9162 section 2.1.4.1).
 * old_size 0 and old_size == new_size give an empty proof (nothing to prove).
 * Returns ENLACE_OK; ENLACE_ERR_INVALID when old_size > new_size, new_size >
 * merkle_size(m), the tree is compact, or max is too small; *n is 0 on error. */
enlace_err_t merkle_consistency_proof(const merkle_t *m, uint64_t old_size, uint64_t new_size,
                                      uint8_t (*proof)[32], size_t max, size_t *n);

/* Verify that `leaf` (a leaf hash) is at `index` in the tree of `size` leaves with
 * root `root`, using RFC 9162 section 2.1.3.2.
 * Returns ENLACE_OK; ENLACE_ERR_INVALID when index >= size or the proof length does not
 * fit the sizes (too short or too long); ENLACE_ERR_HASH_MISMATCH when the computed root
 * differs from `root`. proof may be NULL when n is 0. */
enlace_err_t merkle_verify_inclusion(const uint8_t leaf[32], uint64_t index, uint64_t size,
                                     const uint8_t (*proof)[32], size_t n, const uint8_t root[32]);

/* Verify that the tree of new_size leaves with root new_root extends the tree of
 * old_size leaves with root old_root, using RFC 9162 section 2.1.4.2.
 * Conventions for the cases the RFC algorithm leaves out: old_size == new_size needs
 * an empty proof and equal roots; old_size == 0 needs an empty proof and old_root equal
 * to the empty root (every tree extends the empty one).
 * Returns ENLACE_OK; ENLACE_ERR_INVALID when old_size > new_size or the proof length does
 * not fit the sizes; ENLACE_ERR_HASH_MISMATCH when either recomputed root differs. */
enlace_err_t merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                                       const uint8_t old_root[32], const uint8_t new_root[32],
                                       const uint8_t (*proof)[32], size_t n);

#endif
