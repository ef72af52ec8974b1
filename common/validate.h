/* validate — field checks for every message that arrives from outside.
 *
 * protobuf-c enforces only the presence of proto2 `required` fields and the
 * wire syntax. Everything else a peer or a log file could get wrong is
 * checked here, once, so the broker, the client library and enlace-audit can
 * trust a decoded message: enum values (protobuf-c lets unknown integers
 * through), byte lengths (ids, digests, keys, proofs), UTF-8 text without
 * control characters and within bounds, topic syntax (topic.h), agency ids,
 * list sizes, and fields that only make sense together. Semantic questions
 * that need state (is this agency in the policy, is the TLP label acceptable,
 * is the message expired) are the broker's, not this module's: a header with
 * TLP_UNLABELLED passes here and is refused by the broker with TLP_VIOLATION.
 *
 * codec.c calls validate_frame() on every decoded frame and
 * validate_header()/validate_record() in codec_decode_header()/_record(),
 * so callers of the codec rarely call these directly; the client library may
 * call them on messages it built before sending.
 *
 * Every validate_* function returns ENLACE_OK or ENLACE_ERR_MALFORMED; on
 * failure `why` (may be NULL) receives "field.path: reason", e.g.
 * "subscribe.filter: not a valid topic filter". Messages built in memory may
 * have NULL pointers where the wire cannot: they are reported as missing.
 */
#ifndef ENLACE_VALIDATE_H
#define ENLACE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "enlace.pb-c.h"
#include "enlace_err.h"

#define AGENCY_ID_MAX_LEN 64 /* [A-Z0-9] then [A-Z0-9._-], e.g. "MX.FGR", "INTERPOL.NCB-MEX" */

/* Sizes fixed by the protocol. */
#define VALIDATE_MESSAGE_ID_LEN 16  /* Header.message_id, in_reply_to, ReceiptRequest.message_id */
#define VALIDATE_SHA256_LEN 32      /* every *_sha256 field, leaf_hash, proof entries */
#define VALIDATE_ED25519_KEY_LEN 32 /* Welcome.checkpoint_key */

/* Upper bounds on what a peer or log may send. */
#define VALIDATE_MAX_RECIPIENTS 256      /* Header.recipients */
#define VALIDATE_MAX_PROOF 64            /* Receipt.proof entries (tree of 2^64 leaves) */
#define VALIDATE_MAX_TEXT 1024           /* free text: reasons, details, client name, ... */
#define VALIDATE_MAX_CASE_REF 128        /* Header.case_ref */
#define VALIDATE_MAX_LANGUAGE 35         /* Header.language, BCP 47 [A-Za-z0-9-] */
#define VALIDATE_MAX_CONTENT_TYPE 128    /* Header.content_type */
#define VALIDATE_MAX_NAME 64             /* durable subscription names, [A-Za-z0-9._-] */
#define VALIDATE_MAX_ENV_HEADER 65536    /* Envelope.header bytes */
#define VALIDATE_MAX_SIGNATURE 1024      /* Envelope.signature bytes */
#define VALIDATE_MAX_CERT 16384          /* DER certificates carried in frames and records */
#define VALIDATE_MAX_NOTE 8192           /* C2SP signed-note checkpoints */
#define VALIDATE_MAX_DIRECTORY 4096      /* Directory.entries */
#define VALIDATE_MAX_AUDIT_RECORDS 65536 /* AuditRecords.records */
/* Delivered.message_seqs per record: the broker splits a larger acknowledgement
 * into several Delivered records (keeps each record well inside the codec's
 * unpack budget, since proto2 repeated integers are not packed). */
#define VALIDATE_MAX_DELIVERED_SEQS 1024

/* True when `id` is 1..AGENCY_ID_MAX_LEN characters, the first of [A-Z0-9],
 * the rest of [A-Z0-9._-]. NULL is invalid. */
bool validate_agency_id(const char *id);

/* True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code
 * points above U+10FFFF), has no control characters (C0, DEL, C1; the NUL
 * that ends the C string is not part of it), and is at most max_len bytes.
 * The empty string is valid; NULL is not. */
bool validate_utf8(const char *s, size_t max_len);

/* True when `name` is a durable subscription name: 1..VALIDATE_MAX_NAME
 * characters of [A-Za-z0-9._-]. */
bool validate_name(const char *name);

/* Frame: exactly one kind set, and every field of that kind valid. */
enlace_err_t validate_frame(const Enlace__Frame *f, char *why, size_t why_len);

/* Header (decoded from Envelope.header): ids and digests of the right length,
 * sender/recipients agency ids (recipients at most 256, no duplicates), topic
 * name syntax, enums known (message_type not UNSPECIFIED; tlp any known value,
 * UNLABELLED included), expires_at_ms after created_at_ms when set, text
 * fields bounded. */
enlace_err_t validate_header(const Enlace__Header *h, char *why, size_t why_len);

/* Record (audit log entry): kind set and that kind's fields valid. */
enlace_err_t validate_record(const Enlace__Record *r, char *why, size_t why_len);

/* Envelope as carried in Publish, Deliver and Published: header
 * 1..VALIDATE_MAX_ENV_HEADER bytes, payload non-empty, signature
 * 1..VALIDATE_MAX_SIGNATURE bytes. The header bytes themselves are decoded
 * and checked by envelope_verify() (codec_decode_header). */
enlace_err_t validate_envelope(const Enlace__Envelope *e, char *why, size_t why_len);

#endif
