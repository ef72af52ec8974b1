/* message — building a received message from a Deliver frame (internal to libenlace).
 *
 * message_from_deliver() runs every recipient-side check of DESIGN.md section 5 on one
 * delivery and produces the enlace_message_t handed to the application (enlace.h),
 * verified or rejected with a reason. The accessors live in message.c too.
 */
#ifndef ENLACE_CLIENT_MESSAGE_H
#define ENLACE_CLIENT_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"

/* Verify delivery d of subscription sub and build *out (enlace_message_free).
 * *out is set whenever memory allows; its status says verified (ENLACE_OK) or why not.
 * Returns the status (ENLACE_OK, ENLACE_ERR_BAD_CERT, ENLACE_ERR_BAD_SIGNATURE,
 * ENLACE_ERR_HASH_MISMATCH, ENLACE_ERR_MALFORMED, ENLACE_ERR_PROTOCOL, ENLACE_ERR_DECRYPT),
 * or ENLACE_ERR_NOMEM with *out NULL. */
enlace_err_t message_from_deliver(enlace_conn_t *conn, const Enlace__Deliver *d,
                                  const conn_sub_t *sub, enlace_message_t **out);

/* Where an acknowledgement of m goes: local and broker subscription ids, the connection
 * generation and the sequence number. False for NULL. */
bool message_ack_target(const enlace_message_t *m, uint32_t *local, uint32_t *remote,
                        uint32_t *generation, uint64_t *seq);

#endif
