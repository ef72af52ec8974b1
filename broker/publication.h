/* publication — one published message as the broker routes it.
 *
 * The io thread that accepts a Publish builds it once: the envelope packed once, the
 * signer's certificate, and the header fields routing needs (topic, TLP, recipients).
 * The sequencer logs it (the Published record is written around the same packed
 * envelope, log_append_kind), stamps seq and time, and hands a reference to every io
 * thread with the head announcement, so live delivery never reads the log back nor
 * decodes anything: a Deliver is written straight from these bytes, with the
 * subscription id in front (protobuf fields may come in any order; the bytes are
 * nonetheless exactly what protobuf-c would pack). Cursors catching up on older
 * records build the same object from the log (pub_from_record).
 *
 * Immutable once shared; reference-counted (atomically: several io threads hold it).
 */
#ifndef ENLACE_PUBLICATION_H
#define ENLACE_PUBLICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enlace.pb-c.h"
#include "log_store.h"

typedef struct publication {
    int refs;                /* references (atomic) */
    uint64_t seq;            /* log seq (set by the sequencer before sharing) */
    uint64_t time_ms;        /* log time of the record (idem) */
    uint64_t session_id;     /* publishing session */
    uint8_t message_id[16];  /* header message id */
    char *sender;            /* header sender (agency id) */
    char *topic;             /* header topic */
    Enlace__Tlp tlp;         /* header TLP */
    size_t n_recipients;     /* header recipients (may be 0) */
    char **recipients;       /* agency ids */
    uint8_t *envelope;       /* packed Envelope */
    size_t envelope_len;     /* bytes in envelope */
    uint8_t *cert;           /* signer certificate DER (NULL when unknown) */
    size_t cert_len;         /* bytes in cert */
    uint8_t cert_sha256[32]; /* SHA-256 of cert */
} publication_t;

/* Built by the io thread from an accepted envelope and its decoded header, signed by
 * the DER certificate `cert` (whose SHA-256 is cert_sha256). NULL when out of memory. */
publication_t *pub_new(uint64_t session_id, const Enlace__Header *h, const Enlace__Envelope *env,
                       const uint8_t *cert, size_t cert_len, const uint8_t cert_sha256[32]);

/* Built from a logged Published record whose header decodes (header given) and the
 * signer certificate resolved by the caller (NULL if unknown). NULL when out of memory. */
publication_t *pub_from_record(const Enlace__Record *r, const Enlace__Header *h,
                               const uint8_t *cert, size_t cert_len);

publication_t *pub_ref(publication_t *p);
void pub_unref(publication_t **p);

/* The encoded `published` field (12) of the Record that logs p: the certificate inline
 * (inline_cert) or a reference to record cert_seq that carries it. Fills parts (at most
 * PUB_RECORD_PARTS, pointing into p and into scratch) and returns how many. */
#define PUB_RECORD_PARTS 4
#define PUB_RECORD_SCRATCH 96
size_t pub_record_parts(const publication_t *p, bool inline_cert, uint64_t cert_seq,
                        uint8_t scratch[PUB_RECORD_SCRATCH], log_bytes_t parts[PUB_RECORD_PARTS]);

/* Bytes of the framed Deliver of p on subscription sub_id (4-byte length + Frame). */
size_t pub_deliver_size(const publication_t *p, uint32_t sub_id);
/* Writes that framed Deliver at dst (pub_deliver_size bytes). */
void pub_deliver_write(const publication_t *p, uint32_t sub_id, uint8_t *dst);

#endif
