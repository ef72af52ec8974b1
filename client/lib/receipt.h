/* receipt — verifying a message's log receipt (internal to libenlace).
 *
 * receipt_verify() is the offline half of enlace_receipt(): given the broker's Receipt
 * frame, the message id asked for and the checkpoint key, it checks (DESIGN.md section
 * 7, RFC 9162, C2SP signed-note / tlog-checkpoint):
 *   1. the checkpoint is a signed note with a valid signature by (key_name, key), and
 *      its origin is key_name (the broker signs with key name = log origin);
 *   2. Receipt.tree_size equals the checkpoint's size and seq < size;
 *   3. the inclusion proof of SHA-256(0x00 || record) at index seq reproduces the
 *      checkpoint's root;
 *   4. the record decodes, has that seq, is a Published record, and its envelope's
 *      header carries the message id asked for.
 * Separate from the connection so tests can feed hand-built trees.
 */
#ifndef ENLACE_CLIENT_RECEIPT_H
#define ENLACE_CLIENT_RECEIPT_H

#include <stdbool.h>
#include <stdint.h>

#include "enlace.h"
#include "enlace.pb-c.h"

/* A new, empty, unverified receipt (status ENLACE_ERR_MALFORMED). NULL when out of memory. */
enlace_receipt_t *receipt_new(bool key_pinned);

/* Verify rc for message_id with the checkpoint key (key_name, key) into r (see above).
 * Returns and records in r the status: ENLACE_OK, ENLACE_ERR_BAD_SIGNATURE (checkpoint
 * signature), ENLACE_ERR_HASH_MISMATCH (proof does not reach the root),
 * ENLACE_ERR_MALFORMED (anything inconsistent: origin, sizes, proof length, record,
 * message id) or ENLACE_ERR_NOMEM; enlace_receipt_error(r) says why. */
enlace_err_t receipt_verify(enlace_receipt_t *r, const Enlace__Receipt *rc,
                            const uint8_t message_id[ENLACE_MESSAGE_ID_LEN], const char *key_name,
                            const uint8_t key[32]);

#endif
