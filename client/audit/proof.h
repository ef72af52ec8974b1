/* proof — the printed proof format of enlace-audit, and `enlace-audit check-proof`.
 *
 * `prove` and `consistency` print proofs that a third party can check with nothing but
 * the log's pinned checkpoint key (`check-proof`, or any RFC 9162 / C2SP implementation):
 * a small line-oriented UTF-8 text, one "keyword value" per line:
 *
 *     enlace-proof v1                  first line, always
 *     type inclusion                   or: type consistency
 *     # ...                            comment lines (anywhere; NOT covered by any check)
 *   inclusion:
 *     leaf-index N                     the record's position = its seq
 *     tree-size N                      size of the checkpoint's tree
 *     record BASE64                    the serialized enlace.Record: the Merkle leaf is
 *                                      SHA-256(0x00 || record)
 *     hash BASE64                      one line per proof hash, in RFC 9162 section 2.1.3
 *                                      order (leaf's sibling first); none for a 1-leaf tree
 *     checkpoint                       then the signed note, each line prefixed by "| "
 *     | <note line>                    ("|" alone for the note's empty line)
 *   consistency:
 *     old-size N, new-size N           the two tree sizes
 *     hash BASE64                      RFC 9162 section 2.1.4 consistency proof
 *     old-checkpoint / new-checkpoint  each followed by its "| " note lines
 *   and finally:
 *     end
 * Numbers are decimal without leading zeros; BASE64 is standard with padding; hashes
 * are 32 bytes. Lines end in "\n" ("\r\n" is accepted). Every keyword but `hash` and
 * comments appears exactly once; anything else is refused. The notes are C2SP signed
 * checkpoints (checkpoint.h): body "origin\nsize\nbase64 root\n", blank line, signature
 * lines "— name base64(keyid || Ed25519 signature)".
 *
 * Checking an inclusion proof: the note verifies under the pinned key (key name = the
 * origin); its size equals tree-size; the record's seq equals leaf-index; the leaf
 * hash with the proof hashes gives the note's root (RFC 9162 section 2.1.3.2).
 * A consistency proof: both notes verify, their sizes equal old-size/new-size, and the
 * proof links the two roots (RFC 9162 section 2.1.4.2).
 */
#ifndef ENLACE_AUDIT_PROOF_H
#define ENLACE_AUDIT_PROOF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "enlace_err.h"
#include "merkle.h"

typedef enum { PROOF_INCLUSION = 1, PROOF_CONSISTENCY = 2 } proof_kind_t;

/* A proof in memory. Pointers owned by the struct (proof_clear). */
typedef struct {
    proof_kind_t kind;
    uint64_t leaf_index; /* inclusion */
    uint64_t tree_size;  /* inclusion */
    uint8_t *record;     /* inclusion: record bytes */
    size_t record_len;
    uint64_t old_size, new_size; /* consistency */
    uint8_t (*hashes)[32];       /* proof hashes */
    size_t n_hashes;
    char *note;     /* inclusion: the checkpoint; consistency: the new one */
    char *old_note; /* consistency: the old checkpoint */
} proof_t;

/* Print p in the format above, with the lines of `comment` (may be NULL; split on '\n')
 * as "# " comments after the type line. Returns ENLACE_OK, ENLACE_ERR_IO (write failed)
 * or ENLACE_ERR_NOMEM. */
enlace_err_t proof_write(FILE *out, const proof_t *p, const char *comment);

/* Parse text[0..len) (untrusted) into *p (proof_clear it after either outcome).
 * Returns ENLACE_OK, ENLACE_ERR_MALFORMED with the line number and reason in why, or
 * ENLACE_ERR_NOMEM. Only the format is checked here, not the proof. */
enlace_err_t proof_parse(const char *text, size_t len, proof_t *p, char *why, size_t why_len);

/* Free p's fields; safe twice. */
void proof_clear(proof_t *p);

/* Run `check-proof`; argv[0] is "check-proof". Returns the process exit status. */
int cmd_check_proof(int argc, char **argv);

#endif
