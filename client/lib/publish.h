/* publish — building the signed header of a case message (internal to libenlace).
 *
 * publish_build_header() turns the application's enlace_publish_params_t into the
 * Header that envelope_seal() completes (payload and signer digests) and signs. It is
 * where a publish is refused locally, with a reason, before anything is encrypted or
 * sent: a missing or unknown TLP label, TLP:RED / TLP:AMBER+STRICT without named
 * recipients, bad topic, recipient ids, labels or text, an expiry in the past.
 * Exposed for the unit tests (tests/unit/test_client_publish.c).
 */
#ifndef ENLACE_CLIENT_PUBLISH_H
#define ENLACE_CLIENT_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "enlace.h"
#include "enlace.pb-c.h"

/* A header and the storage its fields point to. Strings are borrowed from the params
 * (valid while they are); message_id and in_reply_to are copied here. */
typedef struct {
    Enlace__Header hdr;                         /* the header to seal */
    uint8_t message_id[ENLACE_MESSAGE_ID_LEN];  /* fresh random id */
    uint8_t in_reply_to[ENLACE_MESSAGE_ID_LEN]; /* copy of params->in_reply_to */
    char *recipients[ENLACE_MAX_RECIPIENTS];    /* borrowed pointers */
} publish_header_t;

/* Fill *out from p for sender at time now_ms (Unix ms, also created_at_ms), with a new
 * random message id. payload_sha256 and signer_cert_sha256 are left empty for
 * envelope_seal(). Returns ENLACE_OK, ENLACE_ERR_INVALID with a reason in why, or
 * ENLACE_ERR_CRYPTO (no randomness). */
enlace_err_t publish_build_header(const enlace_publish_params_t *p, const char *sender,
                                  uint64_t now_ms, publish_header_t *out, char *why,
                                  size_t why_len);

/* Current wall-clock time, Unix milliseconds. */
uint64_t publish_now_ms(void);

#endif
