/* codec — the one bounded decoder for untrusted bytes, and frame encoding.
 *
 * Every byte that arrives from a socket or a file becomes a protobuf message
 * here and nowhere else (STYLE.md rule 7). Three defences, in this order:
 *   1. sizes are checked before anything is allocated: a frame's 4-byte length
 *      against the negotiated maximum, a header or record against its cap;
 *   2. protobuf-c unpacks through an allocator that refuses once the bytes
 *      allocated for this call (each allocation charged with the allocator's
 *      chunk overhead) would pass a budget, because protobuf-c has no cap of
 *      its own (a repeated empty sub-message costs 2 input bytes and about 100
 *      bytes of memory); unpack then fails and protobuf-c frees what it took;
 *   3. the decoded message is validated field by field (validate.h). String
 *      fields holding a NUL byte are refused before unpacking, since the C
 *      string would silently end there while the signed bytes go on.
 *
 * Wire framing (DESIGN.md section 4): a 4-byte big-endian length, then a
 * packed enlace.Frame of that length. A zero length is malformed.
 *
 * Typical use, an io thread reading a session's socket:
 *
 *     size_t used;
 *     Enlace__Frame *f;
 *     while (n > 0) {
 *         rc = codec_decoder_next(dec, p, n, &used, &f, why, sizeof(why));
 *         p += used, n -= used;
 *         if (rc == ENLACE_ERR_AGAIN) break;          // need more bytes
 *         if (rc != ENLACE_OK) { send Error(why); close; }
 *         handle(f);
 *         codec_free((ProtobufCMessage **)&f);
 *     }
 *
 * Messages this module returns are owned by the caller and released with
 * codec_free() (protobuf_c_message_free_unpacked with the default allocator
 * works too: the budget allocator hands out plain malloc memory).
 */
#ifndef ENLACE_CODEC_H
#define ENLACE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "enlace.pb-c.h"
#include "enlace_err.h"

#define CODEC_DEFAULT_MAX_FRAME (1u << 20) /* 1 MiB */
#define CODEC_LENGTH_PREFIX 4              /* bytes of the big-endian frame length */
#define CODEC_MAX_HEADER 65536             /* codec_decode_header input cap (Envelope.header) */
#define CODEC_MAX_RECORD (16u << 20)       /* codec_decode_record input cap */

/* Budget for unpacking `len` bytes: generous for honest frames, far below the
 * 30x worst case of protobuf-c: 4 * len + 64 KiB (saturating). */
size_t codec_default_budget(size_t len);

/* Encode: 4-byte big-endian length + packed Frame, in one malloc'ed buffer
 * the caller frees. The frame is packed as given (not validated: tests use
 * this to send what a broken peer would). Returns ENLACE_OK,
 * ENLACE_ERR_TOO_LARGE (packed size above 2^32-1) or ENLACE_ERR_NOMEM. */
enlace_err_t codec_encode_frame(const Enlace__Frame *frame, uint8_t **out, size_t *out_len);

/* Pack any message without a length prefix (e.g. a Header to sign, a Record
 * to append) into one malloc'ed buffer the caller frees; an empty message
 * gives *out_len == 0 and a non-NULL *out. Returns ENLACE_OK or
 * ENLACE_ERR_NOMEM. */
enlace_err_t codec_pack(const ProtobufCMessage *msg, uint8_t **out, size_t *out_len);

/* Unpack any message from untrusted bytes through a budget allocator; on
 * success *out must be released with codec_free(). Does not validate fields
 * (see the wrappers below). *out is NULL on failure. Errors:
 * ENLACE_ERR_MALFORMED (undecodable, a required field missing, a NUL inside
 * a string field), ENLACE_ERR_OVER_BUDGET (would allocate more than `budget`
 * bytes), ENLACE_ERR_TOO_LARGE (len > budget or len > INT32_MAX: nothing is
 * attempted), ENLACE_ERR_NOMEM (malloc failed below the budget). */
enlace_err_t codec_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                          size_t budget, ProtobufCMessage **out);

/* Frees a message from this module and sets *msg to NULL; safe on NULL and
 * twice. */
void codec_free(ProtobufCMessage **msg);

/* Unpack (default budget) + validate_header() / validate_record() in one step.
 * `why` (may be NULL) gets a reason on failure. Returns ENLACE_OK with *out
 * set (free with codec_free((ProtobufCMessage **)&hdr)), or
 * ENLACE_ERR_TOO_LARGE (len above CODEC_MAX_HEADER / CODEC_MAX_RECORD),
 * ENLACE_ERR_MALFORMED, ENLACE_ERR_OVER_BUDGET, ENLACE_ERR_NOMEM. */
enlace_err_t codec_decode_header(const uint8_t *data, size_t len, Enlace__Header **out, char *why,
                                 size_t why_len);
enlace_err_t codec_decode_record(const uint8_t *data, size_t len, Enlace__Record **out, char *why,
                                 size_t why_len);

/* Incremental frame decoder: bytes may arrive one at a time or many frames at
 * once. It holds at most one frame's bytes, growing its buffer only as bytes
 * arrive (a peer that announces 1 MiB and sends 10 bytes costs 10 bytes), and
 * decodes straight from the caller's buffer when a whole frame is there. */
typedef struct codec_decoder codec_decoder_t;

/* A decoder accepting frames of at most `max_frame` bytes (not counting the
 * length prefix); 0 means CODEC_DEFAULT_MAX_FRAME. NULL when out of memory. */
codec_decoder_t *codec_decoder_new(size_t max_frame);

/* Frees the decoder and any partial frame; sets *dec to NULL; safe twice. */
void codec_decoder_destroy(codec_decoder_t **dec);

/* Consume bytes from in[0..len) until one whole frame is read or the input is
 * used up; *consumed says how many bytes were taken. Returns ENLACE_OK with
 * *out set to a decoded AND validated frame (free with codec_free),
 * ENLACE_ERR_AGAIN when more bytes are needed (all input consumed), or a
 * terminal error (the decoder then returns the same error on every call):
 *   ENLACE_ERR_TOO_LARGE   declared length > max_frame, detected from the 4
 *                          length bytes (*consumed stops right after them),
 *                          before any allocation;
 *   ENLACE_ERR_MALFORMED   zero length, undecodable protobuf, frame with no
 *                          kind set, or failed validation;
 *   ENLACE_ERR_OVER_BUDGET unpacking would pass codec_default_budget(length);
 *   ENLACE_ERR_NOMEM       out of memory.
 * `why` (may be NULL) gets a reason for every error but AGAIN. */
enlace_err_t codec_decoder_next(codec_decoder_t *dec, const uint8_t *in, size_t len,
                                size_t *consumed, Enlace__Frame **out, char *why, size_t why_len);

/* Bytes buffered for a frame not yet complete, length prefix included (for
 * memory accounting; the buffer's capacity is at most twice this, or 4 KiB). */
size_t codec_decoder_pending(const codec_decoder_t *dec);

#endif
