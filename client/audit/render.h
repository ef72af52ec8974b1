/* render — how show and replay print one audit-log record.
 *
 * Three forms, each answering "who did what, to whom, when":
 *   table   one line per record: SEQ, TIME (ISO 8601 UTC), KIND, AGENCY, DETAILS
 *           (topic, recipients, TLP, handling, message id, case ref, reason ...);
 *   replay  a block per record with every field, header fields included;
 *   JSON    one object per line (JSON Lines), with more fields when `full`.
 * Delivered records carry message seqs only; the renderer resolves them to message
 * ids, senders and topics through the published-record index (pubindex.h).
 * Record fields are untrusted: tables escape control characters (audit_put_text) and
 * JSON strings are always valid (json.h).
 */
#ifndef ENLACE_AUDIT_RENDER_H
#define ENLACE_AUDIT_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "enlace.pb-c.h"
#include "pubindex.h"

/* What a renderer needs to know about one record. All borrowed. */
typedef struct {
    const Enlace__Record *rec; /* the record (unpacked, not validated) */
    const Enlace__Header *hdr; /* published: its decoded header, or NULL if it does not
                                  decode */
    const pubindex_t *ix;      /* published records seen so far (for delivered) */
    const char *segment;       /* where the record lies (replay/JSON full) */
    uint64_t offset;           /* byte offset of its frame */
    size_t len;                /* record length in bytes */
} render_rec_t;

/* Column titles of the table. */
void render_table_header(FILE *out);

/* One table line. */
void render_table_row(FILE *out, const render_rec_t *r);

/* A multi-line replay block (ends with an empty line). */
void render_replay(FILE *out, const render_rec_t *r);

/* One JSON object and a newline; `full` adds every header field and the location. */
void render_json(FILE *out, const render_rec_t *r, bool full);

#endif
