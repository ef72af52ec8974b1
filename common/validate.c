/* validate — field checks for messages from outside (see validate.h).
 *
 * Each message type has one static checker that reads like the rules in
 * validate.h; the small helpers below format the "field: reason" text only
 * when a check fails, so the happy path costs no formatting.
 */
#include "validate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"

/* Where a failure reason goes. */
typedef struct {
    char *why;      /* caller's buffer, may be NULL */
    size_t why_len; /* its size */
} vctx_t;

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        enlace_err_t rc_ = (expr);                                                                 \
        if (rc_ != ENLACE_OK)                                                                      \
            return rc_;                                                                            \
    } while (0)

__attribute__((format(printf, 2, 3))) static enlace_err_t fail(vctx_t *v, const char *fmt, ...)
{
    if (v->why != NULL && v->why_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->why, v->why_len, fmt, ap);
        va_end(ap);
    }
    return ENLACE_ERR_MALFORMED;
}

/* ---- character-level checks ---------------------------------------------- */

/* UTF-8 per RFC 3629 section 4 (no overlongs, no surrogates, <= U+10FFFF),
 * refusing control characters (C0, DEL, C1) except '\n' when allowed. */
static bool utf8_ok(const char *s, size_t max_len, bool allow_newline)
{
    if (s == NULL)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (p[i] != 0) {
        if (i >= max_len)
            return false;
        unsigned c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && !(allow_newline && c == '\n')) || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t extra;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false; /* continuation byte first, C0/C1 overlong lead, or > F4 */
        }
        for (size_t k = 1; k <= extra; k++) {
            unsigned d = p[i + k]; /* stops at the NUL: 0 is not a continuation */
            if ((d & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        if (cp <= 0x9f) /* C1 controls U+0080..U+009F */
            return false;
        i += extra + 1;
    }
    return i <= max_len;
}

bool validate_utf8(const char *s, size_t max_len)
{
    return utf8_ok(s, max_len, false);
}

static bool is_upper_digit(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return is_upper_digit(c) || (c >= 'a' && c <= 'z');
}

bool validate_agency_id(const char *id)
{
    if (id == NULL || !is_upper_digit(id[0]))
        return false;
    size_t i = 1;
    for (; id[i] != '\0'; i++) {
        if (i >= AGENCY_ID_MAX_LEN)
            return false;
        char c = id[i];
        if (!is_upper_digit(c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

bool validate_name(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return false;
    for (size_t i = 0; name[i] != '\0'; i++) {
        if (i >= VALIDATE_MAX_NAME)
            return false;
        char c = name[i];
        if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

/* BCP 47 tags use letters, digits and '-' only; full tag grammar is the
 * reader's business, a bounded charset is ours. */
static bool language_ok(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return false;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (i >= VALIDATE_MAX_LANGUAGE)
            return false;
        if (!is_alnum(s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

/* ---- field helpers: each returns ENLACE_OK or a formatted failure -------- */

static enlace_err_t chk_bytes(vctx_t *v, const char *field, const ProtobufCBinaryData *b,
                              size_t min, size_t max)
{
    if (b->len > 0 && b->data == NULL)
        return fail(v, "%s: missing", field);
    if (b->len < min && max == SIZE_MAX)
        return fail(v, "%s: empty", field);
    if (b->len < min || b->len > max) {
        if (min == max)
            return fail(v, "%s: %zu bytes, must be %zu", field, b->len, min);
        return fail(v, "%s: %zu bytes, must be %zu..%zu", field, b->len, min, max);
    }
    return ENLACE_OK;
}

static enlace_err_t chk_opt_bytes(vctx_t *v, const char *field, bool has,
                                  const ProtobufCBinaryData *b, size_t min, size_t max)
{
    return has ? chk_bytes(v, field, b, min, max) : ENLACE_OK;
}

/* Text of min..max bytes of UTF-8 without control characters. */
static enlace_err_t chk_text(vctx_t *v, const char *field, const char *s, size_t min, size_t max)
{
    if (s == NULL)
        return fail(v, "%s: missing", field);
    if (!validate_utf8(s, max))
        return fail(v, "%s: not UTF-8 text without control characters of at most %zu bytes", field,
                    max);
    if (strlen(s) < min)
        return fail(v, "%s: empty", field);
    return ENLACE_OK;
}

/* Optional text: absent (NULL) is fine, present must satisfy chk_text. */
static enlace_err_t chk_opt_text(vctx_t *v, const char *field, const char *s, size_t min,
                                 size_t max)
{
    return s == NULL ? ENLACE_OK : chk_text(v, field, s, min, max);
}

/* A C2SP signed note: UTF-8 lines; newline is the only control allowed. */
static enlace_err_t chk_note(vctx_t *v, const char *field, const char *s)
{
    if (s == NULL)
        return fail(v, "%s: missing", field);
    if (s[0] == '\0' || !utf8_ok(s, VALIDATE_MAX_NOTE, true))
        return fail(v, "%s: not a signed note of 1..%d bytes of UTF-8 lines", field,
                    VALIDATE_MAX_NOTE);
    return ENLACE_OK;
}

static enlace_err_t chk_agency(vctx_t *v, const char *field, const char *s)
{
    if (s == NULL)
        return fail(v, "%s: missing", field);
    if (!validate_agency_id(s))
        return fail(v, "%s: not a valid agency id", field);
    return ENLACE_OK;
}

static enlace_err_t chk_name(vctx_t *v, const char *field, const char *s)
{
    if (s == NULL)
        return fail(v, "%s: missing", field);
    if (!validate_name(s))
        return fail(v, "%s: not 1..%d characters of [A-Za-z0-9._-]", field, VALIDATE_MAX_NAME);
    return ENLACE_OK;
}

static enlace_err_t chk_topic(vctx_t *v, const char *field, const char *s)
{
    if (s == NULL)
        return fail(v, "%s: missing", field);
    if (!topic_name_valid(s))
        return fail(v, "%s: not a valid topic name", field);
    return ENLACE_OK;
}

static enlace_err_t chk_filter(vctx_t *v, const char *field, const char *s)
{
    if (s == NULL)
        return fail(v, "%s: missing", field);
    if (!topic_filter_valid(s))
        return fail(v, "%s: not a valid topic filter", field);
    return ENLACE_OK;
}

/* protobuf-c stores any integer it reads into an enum field; only values the
 * schema names are accepted, and 0 (the UNSPECIFIED/NONE value) only when
 * `zero_ok`. */
static enlace_err_t chk_enum(vctx_t *v, const char *field, const ProtobufCEnumDescriptor *d,
                             int value, bool zero_ok)
{
    if (protobuf_c_enum_descriptor_get_value(d, value) == NULL)
        return fail(v, "%s: unknown value %d", field, value);
    if (value == 0 && !zero_ok)
        return fail(v, "%s: unspecified", field);
    return ENLACE_OK;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Agency-id list: at most `max`, each valid, no duplicates. */
static enlace_err_t chk_agency_list(vctx_t *v, const char *field, char *const *ids, size_t n,
                                    size_t max)
{
    const char *sorted[VALIDATE_MAX_RECIPIENTS];
    if (n > 0 && ids == NULL)
        return fail(v, "%s: missing", field);
    if (n > max || n > VALIDATE_MAX_RECIPIENTS)
        return fail(v, "%s: %zu entries, at most %zu", field, n, max);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == NULL || !validate_agency_id(ids[i]))
            return fail(v, "%s[%zu]: not a valid agency id", field, i);
        sorted[i] = ids[i];
    }
    if (n > 1) {
        qsort(sorted, n, sizeof(sorted[0]), cmp_str_ptr);
        for (size_t i = 1; i < n; i++)
            if (strcmp(sorted[i - 1], sorted[i]) == 0)
                return fail(v, "%s: duplicate agency id %s", field, sorted[i]);
    }
    return ENLACE_OK;
}

/* ---- envelope and header ------------------------------------------------- */

static enlace_err_t v_envelope(vctx_t *v, const char *field, const Enlace__Envelope *e)
{
    char f[96];
    if (e == NULL)
        return fail(v, "%s: missing", field);
    snprintf(f, sizeof(f), "%s.header", field);
    CHECK(chk_bytes(v, f, &e->header, 1, VALIDATE_MAX_ENV_HEADER));
    snprintf(f, sizeof(f), "%s.payload", field);
    CHECK(chk_bytes(v, f, &e->payload, 1, SIZE_MAX));
    snprintf(f, sizeof(f), "%s.signature", field);
    CHECK(chk_bytes(v, f, &e->signature, 1, VALIDATE_MAX_SIGNATURE));
    return ENLACE_OK;
}

enlace_err_t validate_envelope(const Enlace__Envelope *e, char *why, size_t why_len)
{
    vctx_t v = {why, why_len};
    return v_envelope(&v, "envelope", e);
}

static enlace_err_t v_header(vctx_t *v, const Enlace__Header *h)
{
    if (h == NULL)
        return fail(v, "header: missing");
    CHECK(chk_bytes(v, "header.message_id", &h->message_id, VALIDATE_MESSAGE_ID_LEN,
                    VALIDATE_MESSAGE_ID_LEN));
    CHECK(chk_agency(v, "header.sender", h->sender));
    CHECK(chk_topic(v, "header.topic", h->topic));
    CHECK(chk_agency_list(v, "header.recipients", h->recipients, h->n_recipients,
                          VALIDATE_MAX_RECIPIENTS));
    if (h->has_expires_at_ms && h->expires_at_ms != 0 && h->expires_at_ms <= h->created_at_ms)
        return fail(v, "header.expires_at_ms: not after created_at_ms");
    CHECK(chk_enum(v, "header.message_type", &enlace__message_type__descriptor,
                   (int)h->message_type, false));
    if (h->has_notice_kind)
        CHECK(chk_enum(v, "header.notice_kind", &enlace__notice_kind__descriptor,
                       (int)h->notice_kind, true));
    CHECK(chk_opt_text(v, "header.case_ref", h->case_ref, 1, VALIDATE_MAX_CASE_REF));
    CHECK(chk_opt_bytes(v, "header.in_reply_to", h->has_in_reply_to, &h->in_reply_to,
                        VALIDATE_MESSAGE_ID_LEN, VALIDATE_MESSAGE_ID_LEN));
    /* TLP_UNLABELLED is a policy refusal (TLP_VIOLATION), not a syntax error. */
    CHECK(chk_enum(v, "header.tlp", &enlace__tlp__descriptor, (int)h->tlp, true));
    if (h->has_handling)
        CHECK(
            chk_enum(v, "header.handling", &enlace__handling__descriptor, (int)h->handling, true));
    if (h->has_source_reliability)
        CHECK(chk_enum(v, "header.source_reliability", &enlace__source_reliability__descriptor,
                       (int)h->source_reliability, true));
    if (h->has_info_accuracy)
        CHECK(chk_enum(v, "header.info_accuracy", &enlace__info_accuracy__descriptor,
                       (int)h->info_accuracy, true));
    if (h->language != NULL && !language_ok(h->language))
        return fail(v, "header.language: not 1..%d characters of [A-Za-z0-9-]",
                    VALIDATE_MAX_LANGUAGE);
    CHECK(chk_opt_text(v, "header.content_type", h->content_type, 1, VALIDATE_MAX_CONTENT_TYPE));
    CHECK(chk_bytes(v, "header.payload_sha256", &h->payload_sha256, VALIDATE_SHA256_LEN,
                    VALIDATE_SHA256_LEN));
    CHECK(chk_bytes(v, "header.signer_cert_sha256", &h->signer_cert_sha256, VALIDATE_SHA256_LEN,
                    VALIDATE_SHA256_LEN));
    return ENLACE_OK;
}

enlace_err_t validate_header(const Enlace__Header *h, char *why, size_t why_len)
{
    vctx_t v = {why, why_len};
    return v_header(&v, h);
}

/* ---- frames --------------------------------------------------------------- */

static enlace_err_t v_hello(vctx_t *v, const Enlace__Hello *m)
{
    CHECK(chk_opt_text(v, "hello.client_name", m->client_name, 0, VALIDATE_MAX_TEXT));
    if (m->has_max_frame && m->max_frame == 0)
        return fail(v, "hello.max_frame: zero");
    return ENLACE_OK;
}

static enlace_err_t v_welcome(vctx_t *v, const Enlace__Welcome *m)
{
    CHECK(chk_agency(v, "welcome.agency_id", m->agency_id));
    CHECK(chk_enum(v, "welcome.role", &enlace__role__descriptor, (int)m->role, false));
    if (m->max_frame == 0)
        return fail(v, "welcome.max_frame: zero");
    CHECK(chk_text(v, "welcome.log_origin", m->log_origin, 1, VALIDATE_MAX_TEXT));
    return chk_bytes(v, "welcome.checkpoint_key", &m->checkpoint_key, VALIDATE_ED25519_KEY_LEN,
                     VALIDATE_ED25519_KEY_LEN);
}

static enlace_err_t v_subscribe(vctx_t *v, const Enlace__Subscribe *m)
{
    CHECK(chk_name(v, "subscribe.name", m->name));
    CHECK(chk_filter(v, "subscribe.filter", m->filter));
    CHECK(chk_enum(v, "subscribe.start", &enlace__start_mode__descriptor, (int)m->start, false));
    bool from_seq = m->start == ENLACE__START_MODE__START_FROM_SEQ;
    bool from_time = m->start == ENLACE__START_MODE__START_FROM_TIME;
    if (from_seq != (m->has_from_seq != 0))
        return fail(v, from_seq ? "subscribe.from_seq: required by START_FROM_SEQ"
                                : "subscribe.from_seq: only allowed with START_FROM_SEQ");
    if (from_time != (m->has_from_time_ms != 0))
        return fail(v, from_time ? "subscribe.from_time_ms: required by START_FROM_TIME"
                                 : "subscribe.from_time_ms: only allowed with START_FROM_TIME");
    return ENLACE_OK;
}

static enlace_err_t v_deliver(vctx_t *v, const Enlace__Deliver *m)
{
    CHECK(v_envelope(v, "deliver.envelope", m->envelope));
    return chk_opt_bytes(v, "deliver.signer_cert", m->has_signer_cert, &m->signer_cert, 1,
                         VALIDATE_MAX_CERT);
}

static enlace_err_t v_directory(vctx_t *v, const Enlace__Directory *m)
{
    if (m->n_entries > VALIDATE_MAX_DIRECTORY)
        return fail(v, "directory.entries: %zu entries, at most %d", m->n_entries,
                    VALIDATE_MAX_DIRECTORY);
    if (m->n_entries > 0 && m->entries == NULL)
        return fail(v, "directory.entries: missing");
    for (size_t i = 0; i < m->n_entries; i++) {
        const Enlace__DirectoryEntry *e = m->entries[i];
        if (e == NULL)
            return fail(v, "directory.entries[%zu]: missing", i);
        if (e->agency_id == NULL || !validate_agency_id(e->agency_id))
            return fail(v, "directory.entries[%zu].agency_id: not a valid agency id", i);
        if (protobuf_c_enum_descriptor_get_value(&enlace__role__descriptor, (int)e->role) == NULL ||
            e->role == ENLACE__ROLE__ROLE_UNSPECIFIED)
            return fail(v, "directory.entries[%zu].role: unknown value %d", i, (int)e->role);
        if (e->has_certificate && (e->certificate.len == 0 || e->certificate.data == NULL ||
                                   e->certificate.len > VALIDATE_MAX_CERT))
            return fail(v, "directory.entries[%zu].certificate: %zu bytes, must be 1..%d", i,
                        e->certificate.len, VALIDATE_MAX_CERT);
    }
    return ENLACE_OK;
}

static enlace_err_t v_receipt(vctx_t *v, const Enlace__Receipt *m)
{
    if (m->seq >= m->tree_size)
        return fail(v, "receipt.seq: %llu not below tree_size %llu", (unsigned long long)m->seq,
                    (unsigned long long)m->tree_size);
    CHECK(chk_bytes(v, "receipt.record", &m->record, 1, SIZE_MAX));
    if (m->n_proof > VALIDATE_MAX_PROOF)
        return fail(v, "receipt.proof: %zu entries, at most %d", m->n_proof, VALIDATE_MAX_PROOF);
    if (m->n_proof > 0 && m->proof == NULL)
        return fail(v, "receipt.proof: missing");
    for (size_t i = 0; i < m->n_proof; i++)
        if (m->proof[i].len != VALIDATE_SHA256_LEN || m->proof[i].data == NULL)
            return fail(v, "receipt.proof[%zu]: %zu bytes, must be %d", i, m->proof[i].len,
                        VALIDATE_SHA256_LEN);
    return chk_note(v, "receipt.checkpoint", m->checkpoint);
}

static enlace_err_t v_audit_records(vctx_t *v, const Enlace__AuditRecords *m)
{
    if (m->n_records > VALIDATE_MAX_AUDIT_RECORDS)
        return fail(v, "audit_records.records: %zu entries, at most %d", m->n_records,
                    VALIDATE_MAX_AUDIT_RECORDS);
    if (m->n_records > 0 && m->records == NULL)
        return fail(v, "audit_records.records: missing");
    for (size_t i = 0; i < m->n_records; i++)
        if (m->records[i].len == 0 || m->records[i].data == NULL)
            return fail(v, "audit_records.records[%zu]: empty", i);
    return m->checkpoint ? chk_note(v, "audit_records.checkpoint", m->checkpoint) : ENLACE_OK;
}

/* The kind's message pointer, checked for NULL once for every kind. */
static const void *frame_member(const Enlace__Frame *f)
{
    switch (f->kind_case) {
    case ENLACE__FRAME__KIND_HELLO: return f->hello;
    case ENLACE__FRAME__KIND_WELCOME: return f->welcome;
    case ENLACE__FRAME__KIND_PUBLISH: return f->publish;
    case ENLACE__FRAME__KIND_PUBLISH_ACK: return f->publish_ack;
    case ENLACE__FRAME__KIND_SUBSCRIBE: return f->subscribe;
    case ENLACE__FRAME__KIND_SUBSCRIBED: return f->subscribed;
    case ENLACE__FRAME__KIND_UNSUBSCRIBE: return f->unsubscribe;
    case ENLACE__FRAME__KIND_DELIVER: return f->deliver;
    case ENLACE__FRAME__KIND_DELIVER_ACK: return f->deliver_ack;
    case ENLACE__FRAME__KIND_DIRECTORY_REQUEST: return f->directory_request;
    case ENLACE__FRAME__KIND_DIRECTORY: return f->directory;
    case ENLACE__FRAME__KIND_RECEIPT_REQUEST: return f->receipt_request;
    case ENLACE__FRAME__KIND_RECEIPT: return f->receipt;
    case ENLACE__FRAME__KIND_AUDIT_FETCH: return f->audit_fetch;
    case ENLACE__FRAME__KIND_AUDIT_RECORDS: return f->audit_records;
    case ENLACE__FRAME__KIND_PING: return f->ping;
    case ENLACE__FRAME__KIND_PONG: return f->pong;
    case ENLACE__FRAME__KIND_ERROR: return f->error;
    case ENLACE__FRAME__KIND_GOODBYE: return f->goodbye;
    default: return NULL;
    }
}

enlace_err_t validate_frame(const Enlace__Frame *f, char *why, size_t why_len)
{
    vctx_t v = {why, why_len};
    if (f == NULL)
        return fail(&v, "frame: missing");
    if (f->kind_case == ENLACE__FRAME__KIND__NOT_SET)
        return fail(&v, "frame: no kind set");
    if (frame_member(f) == NULL)
        return fail(&v, "frame: kind %d unknown or missing", (int)f->kind_case);

    switch (f->kind_case) {
    case ENLACE__FRAME__KIND_HELLO: return v_hello(&v, f->hello);
    case ENLACE__FRAME__KIND_WELCOME: return v_welcome(&v, f->welcome);
    case ENLACE__FRAME__KIND_PUBLISH:
        return v_envelope(&v, "publish.envelope", f->publish->envelope);
    case ENLACE__FRAME__KIND_PUBLISH_ACK:
        return chk_bytes(&v, "publish_ack.leaf_hash", &f->publish_ack->leaf_hash,
                         VALIDATE_SHA256_LEN, VALIDATE_SHA256_LEN);
    case ENLACE__FRAME__KIND_SUBSCRIBE: return v_subscribe(&v, f->subscribe);
    case ENLACE__FRAME__KIND_DELIVER: return v_deliver(&v, f->deliver);
    case ENLACE__FRAME__KIND_DIRECTORY_REQUEST:
        return f->directory_request->topic
                   ? chk_topic(&v, "directory_request.topic", f->directory_request->topic)
                   : ENLACE_OK;
    case ENLACE__FRAME__KIND_DIRECTORY: return v_directory(&v, f->directory);
    case ENLACE__FRAME__KIND_RECEIPT_REQUEST:
        return chk_bytes(&v, "receipt_request.message_id", &f->receipt_request->message_id,
                         VALIDATE_MESSAGE_ID_LEN, VALIDATE_MESSAGE_ID_LEN);
    case ENLACE__FRAME__KIND_RECEIPT: return v_receipt(&v, f->receipt);
    case ENLACE__FRAME__KIND_AUDIT_RECORDS: return v_audit_records(&v, f->audit_records);
    case ENLACE__FRAME__KIND_ERROR:
        CHECK(chk_enum(&v, "error.code", &enlace__error_code__descriptor, (int)f->error->code,
                       false));
        return chk_text(&v, "error.text", f->error->text, 0, VALIDATE_MAX_TEXT);
    case ENLACE__FRAME__KIND_GOODBYE:
        return chk_text(&v, "goodbye.reason", f->goodbye->reason, 0, VALIDATE_MAX_TEXT);
    /* Only integers, all of whose values are acceptable on the wire. */
    case ENLACE__FRAME__KIND_SUBSCRIBED:
    case ENLACE__FRAME__KIND_UNSUBSCRIBE:
    case ENLACE__FRAME__KIND_DELIVER_ACK:
    case ENLACE__FRAME__KIND_AUDIT_FETCH:
    case ENLACE__FRAME__KIND_PING:
    case ENLACE__FRAME__KIND_PONG: return ENLACE_OK;
    default: return fail(&v, "frame: kind %d unknown", (int)f->kind_case);
    }
}

/* ---- audit records --------------------------------------------------------- */

static enlace_err_t v_published(vctx_t *v, const Enlace__Record *r, const Enlace__Published *m)
{
    CHECK(v_envelope(v, "published.envelope", m->envelope));
    CHECK(chk_opt_bytes(v, "published.signer_cert", m->has_signer_cert, &m->signer_cert, 1,
                        VALIDATE_MAX_CERT));
    if (m->has_signer_cert && m->has_cert_record_seq)
        return fail(v, "published: both signer_cert and cert_record_seq");
    if (m->has_cert_record_seq && m->cert_record_seq >= r->seq)
        return fail(v, "published.cert_record_seq: %llu does not precede record %llu",
                    (unsigned long long)m->cert_record_seq, (unsigned long long)r->seq);
    return ENLACE_OK;
}

static enlace_err_t v_delivered(vctx_t *v, const Enlace__Record *r, const Enlace__Delivered *m)
{
    CHECK(chk_agency(v, "delivered.recipient", m->recipient));
    CHECK(chk_name(v, "delivered.subscription", m->subscription));
    if (m->n_message_seqs > VALIDATE_MAX_DELIVERED_SEQS)
        return fail(v, "delivered.message_seqs: %zu entries, at most %d", m->n_message_seqs,
                    VALIDATE_MAX_DELIVERED_SEQS);
    if (m->n_message_seqs > 0 && m->message_seqs == NULL)
        return fail(v, "delivered.message_seqs: missing");
    for (size_t i = 0; i < m->n_message_seqs; i++)
        if (m->message_seqs[i] >= r->seq)
            return fail(v, "delivered.message_seqs[%zu]: %llu does not precede record %llu", i,
                        (unsigned long long)m->message_seqs[i], (unsigned long long)r->seq);
    return ENLACE_OK;
}

static enlace_err_t v_denied(vctx_t *v, const Enlace__Denied *m)
{
    if (m->agency_id != NULL)
        CHECK(chk_agency(v, "denied.agency_id", m->agency_id));
    CHECK(chk_opt_bytes(v, "denied.cert_sha256", m->has_cert_sha256, &m->cert_sha256,
                        VALIDATE_SHA256_LEN, VALIDATE_SHA256_LEN));
    CHECK(chk_text(v, "denied.operation", m->operation, 1, VALIDATE_MAX_NAME));
    CHECK(chk_enum(v, "denied.code", &enlace__error_code__descriptor, (int)m->code, false));
    CHECK(chk_text(v, "denied.reason", m->reason, 0, VALIDATE_MAX_TEXT));
    CHECK(chk_opt_text(v, "denied.peer_address", m->peer_address, 1, VALIDATE_MAX_TEXT));
    /* What was refused may itself be a bad topic or a filter: text, not syntax. */
    CHECK(chk_opt_text(v, "denied.topic", m->topic, 0, VALIDATE_MAX_TEXT));
    return chk_opt_bytes(v, "denied.message_id", m->has_message_id, &m->message_id,
                         VALIDATE_MESSAGE_ID_LEN, VALIDATE_MESSAGE_ID_LEN);
}

static enlace_err_t v_config_loaded(vctx_t *v, const Enlace__ConfigLoaded *m)
{
    CHECK(chk_text(v, "config_loaded.what", m->what, 1, VALIDATE_MAX_NAME));
    CHECK(chk_text(v, "config_loaded.path", m->path, 1, VALIDATE_MAX_TEXT));
    CHECK(
        chk_bytes(v, "config_loaded.sha256", &m->sha256, VALIDATE_SHA256_LEN, VALIDATE_SHA256_LEN));
    return chk_opt_text(v, "config_loaded.detail", m->detail, 0, VALIDATE_MAX_TEXT);
}

static const void *record_member(const Enlace__Record *r)
{
    switch (r->kind_case) {
    case ENLACE__RECORD__KIND_SESSION_OPENED: return r->session_opened;
    case ENLACE__RECORD__KIND_SESSION_CLOSED: return r->session_closed;
    case ENLACE__RECORD__KIND_PUBLISHED: return r->published;
    case ENLACE__RECORD__KIND_DELIVERED: return r->delivered;
    case ENLACE__RECORD__KIND_DENIED: return r->denied;
    case ENLACE__RECORD__KIND_CONFIG_LOADED: return r->config_loaded;
    case ENLACE__RECORD__KIND_BROKER_STARTED: return r->broker_started;
    case ENLACE__RECORD__KIND_BROKER_STOPPED: return r->broker_stopped;
    case ENLACE__RECORD__KIND_RECOVERY: return r->recovery;
    case ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED: return r->subscription_changed;
    default: return NULL;
    }
}

enlace_err_t validate_record(const Enlace__Record *r, char *why, size_t why_len)
{
    vctx_t v = {why, why_len};
    if (r == NULL)
        return fail(&v, "record: missing");
    if (r->kind_case == ENLACE__RECORD__KIND__NOT_SET)
        return fail(&v, "record: no kind set");
    if (record_member(r) == NULL)
        return fail(&v, "record: kind %d unknown or missing", (int)r->kind_case);

    switch (r->kind_case) {
    case ENLACE__RECORD__KIND_SESSION_OPENED:
        CHECK(chk_agency(&v, "session_opened.agency_id", r->session_opened->agency_id));
        CHECK(chk_bytes(&v, "session_opened.cert_sha256", &r->session_opened->cert_sha256,
                        VALIDATE_SHA256_LEN, VALIDATE_SHA256_LEN));
        return chk_text(&v, "session_opened.peer_address", r->session_opened->peer_address, 1,
                        VALIDATE_MAX_TEXT);
    case ENLACE__RECORD__KIND_SESSION_CLOSED:
        CHECK(chk_agency(&v, "session_closed.agency_id", r->session_closed->agency_id));
        return chk_text(&v, "session_closed.reason", r->session_closed->reason, 0,
                        VALIDATE_MAX_TEXT);
    case ENLACE__RECORD__KIND_PUBLISHED: return v_published(&v, r, r->published);
    case ENLACE__RECORD__KIND_DELIVERED: return v_delivered(&v, r, r->delivered);
    case ENLACE__RECORD__KIND_DENIED: return v_denied(&v, r->denied);
    case ENLACE__RECORD__KIND_CONFIG_LOADED: return v_config_loaded(&v, r->config_loaded);
    case ENLACE__RECORD__KIND_BROKER_STARTED:
        CHECK(chk_text(&v, "broker_started.version", r->broker_started->version, 1,
                       VALIDATE_MAX_NAME));
        return chk_text(&v, "broker_started.origin", r->broker_started->origin, 1,
                        VALIDATE_MAX_TEXT);
    case ENLACE__RECORD__KIND_BROKER_STOPPED:
        return chk_text(&v, "broker_stopped.reason", r->broker_stopped->reason, 0,
                        VALIDATE_MAX_TEXT);
    case ENLACE__RECORD__KIND_RECOVERY:
        return chk_text(&v, "recovery.detail", r->recovery->detail, 0, VALIDATE_MAX_TEXT);
    case ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED:
        CHECK(chk_agency(&v, "subscription_changed.agency_id", r->subscription_changed->agency_id));
        CHECK(chk_name(&v, "subscription_changed.name", r->subscription_changed->name));
        return chk_filter(&v, "subscription_changed.filter", r->subscription_changed->filter);
    default: return fail(&v, "record: kind %d unknown", (int)r->kind_case);
    }
}
