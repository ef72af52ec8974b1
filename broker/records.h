/* records — builders for the audit records the broker writes.
 *
 * Each function encodes one Record as its kind field (seq and time are written
 * by the log store at append: log_append_kind) into a new bus message ready for
 * bus_send() to the sequencer. Published records are built from a publication_t
 * instead (publication.h). They
 * cover DESIGN.md section 7: who (agency, certificate), what (operation),
 * when (broker time, set at append), to whom (Delivered) and why (Denied).
 * All return NULL when out of memory. Borrowed arguments are copied.
 */
#ifndef ENLACE_RECORDS_H
#define ENLACE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "enlace.pb-c.h"

/* der (the client certificate, may be NULL) also travels in the message's `cert`. */
bus_msg_t *rec_session_opened(uint64_t session_id, const char *agency, const uint8_t cert[32],
                              const char *peer, const uint8_t *der, size_t der_len);
bus_msg_t *rec_session_closed(uint64_t session_id, const char *agency, const char *reason);
/* agency, cert, peer, topic, message_id may be NULL when unknown. */
bus_msg_t *rec_denied(const char *agency, const uint8_t *cert, const char *operation,
                      Enlace__ErrorCode code, const char *reason, const char *peer,
                      const char *topic, const uint8_t *message_id);
bus_msg_t *rec_config_loaded(const char *what, const char *path, const uint8_t sha[32],
                             bool accepted, const char *detail);
/* A BUS_DELIVERED request: recipient acknowledged seqs[0..n) of subscription name. */
bus_msg_t *rec_delivered(const char *recipient, const char *name, const uint64_t *seqs, size_t n);

#endif
