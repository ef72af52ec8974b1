/* codec — bounded decoding of untrusted bytes and frame encoding (see codec.h).
 *
 * Cost model of protobuf-c 1.4.1's unpack, which the budget has to cover: one
 * allocation for the message struct, one array per repeated field, one copy
 * per string/bytes field and unknown field, and, for a message with more than
 * 16 fields on the wire, "scanned member" slabs of 32 bytes per field
 * occurrence that live until the message is done. Everything is charged as
 * it is allocated and never credited back on free, so the budget also bounds
 * the work of pathological inputs (a sub-message repeated many times is
 * unpacked and merged each time).
 */
#include "codec.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"
#include "wire.h"

/* Nesting the wire pre-scan follows; the schema nests 3 deep, so this is
 * only a guard. */
#define WIRE_MAX_DEPTH 16
/* A decoder keeps a buffer up to this size between frames; a larger one is
 * freed once its frame is decoded, so idle sessions hold little. */
#define DECODER_KEEP_BUFFER 4096

size_t codec_default_budget(size_t len)
{
    if (len > (SIZE_MAX - 65536) / 4)
        return SIZE_MAX;
    return 4 * len + 65536;
}

__attribute__((format(printf, 4, 5))) static enlace_err_t say(enlace_err_t rc, char *why,
                                                              size_t why_len, const char *fmt, ...)
{
    if (why != NULL && why_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---- budget allocator ------------------------------------------------------ */

/* State of one unpack call. */
typedef struct {
    size_t used;  /* bytes charged so far, overhead included */
    size_t limit; /* the budget */
    bool refused; /* an allocation was refused because of the budget */
    bool failed;  /* malloc itself failed below the budget */
} budget_t;

/* What an allocation really costs with glibc malloc: an 8-byte header,
 * 16-byte alignment, 32 bytes at least. */
static size_t chunk_cost(size_t size)
{
    if (size > SIZE_MAX - 64)
        return SIZE_MAX;
    size_t c = (size + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

static void *budget_alloc(void *data, size_t size)
{
    budget_t *b = data;
    size_t cost = chunk_cost(size);
    if (cost > b->limit - b->used) { /* used <= limit always holds */
        b->refused = true;
        return NULL;
    }
    void *p = malloc(size ? size : 1);
    if (p == NULL) {
        b->failed = true;
        return NULL;
    }
    b->used += cost;
    return p;
}

/* Plain free: memory is not credited back (see the top of this file), which
 * also lets codec_free() use protobuf-c's default allocator. */
static void budget_free(void *data, void *p)
{
    (void)data;
    free(p);
}

/* ---- wire pre-scan --------------------------------------------------------- */

typedef enum {
    WIRE_OK,  /* well formed as far as this scan looks */
    WIRE_BAD, /* broken wire encoding */
    WIRE_NUL, /* a string field holds a NUL byte */
} wire_rc_t;

static bool read_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64 && *i < len; shift += 7) {
        uint8_t byte = p[(*i)++];
        r |= (uint64_t)(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* Walks the encoding of a `desc` message without allocating: refuses broken
 * keys and lengths, and string fields containing NUL, which protobuf-c would
 * turn into a shorter C string than the bytes that were signed. Recurses only
 * into fields the schema declares as messages, so depth is the schema's. */
static wire_rc_t wire_scan(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
                           unsigned depth, const char **where)
{
    if (depth > WIRE_MAX_DEPTH)
        return WIRE_BAD;
    size_t i = 0;
    while (i < len) {
        uint64_t key, n;
        if (!read_varint(p, len, &i, &key))
            return WIRE_BAD;
        uint64_t field = key >> 3;
        if (field == 0 || field > 536870911u) /* 2^29 - 1, the largest field number */
            return WIRE_BAD;
        switch (key & 7) {
        case 0:
            if (!read_varint(p, len, &i, &n))
                return WIRE_BAD;
            break;
        case 1:
            if (len - i < 8)
                return WIRE_BAD;
            i += 8;
            break;
        case 5:
            if (len - i < 4)
                return WIRE_BAD;
            i += 4;
            break;
        case 2: {
            if (!read_varint(p, len, &i, &n) || n > len - i)
                return WIRE_BAD;
            const ProtobufCFieldDescriptor *fd =
                protobuf_c_message_descriptor_get_field(desc, (unsigned)field);
            if (fd != NULL && fd->type == PROTOBUF_C_TYPE_STRING && n > 0 &&
                memchr(p + i, 0, n) != NULL) {
                *where = fd->name;
                return WIRE_NUL;
            }
            if (fd != NULL && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                wire_rc_t rc = wire_scan(fd->descriptor, p + i, n, depth + 1, where);
                if (rc != WIRE_OK)
                    return rc;
            }
            i += n;
            break;
        }
        default: return WIRE_BAD; /* groups (3, 4) and undefined types */
        }
    }
    return WIRE_OK;
}

/* ---- unpack ---------------------------------------------------------------- */

static enlace_err_t unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                           size_t budget, ProtobufCMessage **out, char *why, size_t why_len)
{
    assert(desc != NULL && out != NULL);
    *out = NULL;
    if (len > budget || len > INT32_MAX)
        return say(ENLACE_ERR_TOO_LARGE, why, why_len, "%s of %zu bytes is above its limit",
                   desc->name, len);
    if (len > 0 && data == NULL)
        return say(ENLACE_ERR_MALFORMED, why, why_len, "%s: no data", desc->name);

    const char *where = NULL;
    switch (wire_scan(desc, data, len, 0, &where)) {
    case WIRE_OK: break;
    case WIRE_BAD:
        return say(ENLACE_ERR_MALFORMED, why, why_len, "%s: undecodable protobuf (bad wire data)",
                   desc->name);
    case WIRE_NUL:
        return say(ENLACE_ERR_MALFORMED, why, why_len, "%s: NUL byte inside string field %s",
                   desc->name, where ? where : "?");
    }

    budget_t b = {.used = 0, .limit = budget, .refused = false, .failed = false};
    ProtobufCAllocator alloc = {.alloc = budget_alloc, .free = budget_free, .allocator_data = &b};
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &alloc, len, data);
    if (m == NULL) {
        if (b.refused)
            return say(ENLACE_ERR_OVER_BUDGET, why, why_len,
                       "%s of %zu bytes would expand past its memory budget of %zu bytes",
                       desc->name, len, budget);
        if (b.failed)
            return say(ENLACE_ERR_NOMEM, why, why_len, "%s: out of memory", desc->name);
        return say(ENLACE_ERR_MALFORMED, why, why_len,
                   "%s: undecodable protobuf (wrong field type or a required field missing)",
                   desc->name);
    }
    *out = m;
    return ENLACE_OK;
}

enlace_err_t codec_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                          size_t budget, ProtobufCMessage **out)
{
    return unpack(desc, data, len, budget, out, NULL, 0);
}

void codec_free(ProtobufCMessage **msg)
{
    if (msg == NULL || *msg == NULL)
        return;
    protobuf_c_message_free_unpacked(*msg, NULL);
    *msg = NULL;
}

enlace_err_t codec_decode_header(const uint8_t *data, size_t len, Enlace__Header **out, char *why,
                                 size_t why_len)
{
    ProtobufCMessage *m = NULL;
    *out = NULL;
    if (len > CODEC_MAX_HEADER)
        return say(ENLACE_ERR_TOO_LARGE, why, why_len, "header of %zu bytes, at most %d", len,
                   CODEC_MAX_HEADER);
    enlace_err_t rc =
        unpack(&enlace__header__descriptor, data, len, codec_default_budget(len), &m, why, why_len);
    if (rc != ENLACE_OK)
        return rc;
    rc = validate_header((Enlace__Header *)m, why, why_len);
    if (rc != ENLACE_OK) {
        codec_free(&m);
        return rc;
    }
    *out = (Enlace__Header *)m;
    return ENLACE_OK;
}

enlace_err_t codec_decode_record(const uint8_t *data, size_t len, Enlace__Record **out, char *why,
                                 size_t why_len)
{
    ProtobufCMessage *m = NULL;
    *out = NULL;
    if (len > CODEC_MAX_RECORD)
        return say(ENLACE_ERR_TOO_LARGE, why, why_len, "record of %zu bytes, at most %u", len,
                   CODEC_MAX_RECORD);
    enlace_err_t rc =
        unpack(&enlace__record__descriptor, data, len, codec_default_budget(len), &m, why, why_len);
    if (rc != ENLACE_OK)
        return rc;
    rc = validate_record((Enlace__Record *)m, why, why_len);
    if (rc != ENLACE_OK) {
        codec_free(&m);
        return rc;
    }
    *out = (Enlace__Record *)m;
    return ENLACE_OK;
}

/* ---- encode ---------------------------------------------------------------- */

enlace_err_t codec_pack(const ProtobufCMessage *msg, uint8_t **out, size_t *out_len)
{
    assert(msg != NULL && out != NULL && out_len != NULL);
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return ENLACE_ERR_NOMEM;
    *out_len = protobuf_c_message_pack(msg, buf);
    *out = buf;
    return ENLACE_OK;
}

enlace_err_t codec_encode_frame(const Enlace__Frame *frame, uint8_t **out, size_t *out_len)
{
    assert(frame != NULL && out != NULL && out_len != NULL);
    size_t n = enlace__frame__get_packed_size(frame);
    if (n > UINT32_MAX)
        return ENLACE_ERR_TOO_LARGE;
    uint8_t *buf = malloc(CODEC_LENGTH_PREFIX + n);
    if (buf == NULL)
        return ENLACE_ERR_NOMEM;
    wire_put_be32(buf, (uint32_t)n);
    enlace__frame__pack(frame, buf + CODEC_LENGTH_PREFIX);
    *out = buf;
    *out_len = CODEC_LENGTH_PREFIX + n;
    return ENLACE_OK;
}

/* ---- incremental decoder ----------------------------------------------------- */

struct codec_decoder {
    size_t max_frame;                    /* largest frame body accepted */
    uint8_t prefix[CODEC_LENGTH_PREFIX]; /* length prefix being read */
    size_t prefix_have;                  /* bytes of prefix read so far (0..4) */
    size_t body_len;                     /* declared body length, once prefix is whole */
    uint8_t *buf;                        /* body bytes received so far (partial frame) */
    size_t buf_have;                     /* bytes in buf */
    size_t buf_cap;                      /* allocated size of buf */
    enlace_err_t failed;                 /* terminal error; ENLACE_OK while usable */
    char failed_why[256];                /* its reason, repeated on later calls */
};

codec_decoder_t *codec_decoder_new(size_t max_frame)
{
    codec_decoder_t *dec = calloc(1, sizeof(*dec));
    if (dec == NULL)
        return NULL;
    if (max_frame == 0)
        max_frame = CODEC_DEFAULT_MAX_FRAME;
    dec->max_frame = max_frame > INT32_MAX ? INT32_MAX : max_frame;
    return dec;
}

void codec_decoder_destroy(codec_decoder_t **dec)
{
    if (dec == NULL || *dec == NULL)
        return;
    free((*dec)->buf);
    free(*dec);
    *dec = NULL;
}

size_t codec_decoder_pending(const codec_decoder_t *dec)
{
    return dec ? dec->prefix_have + dec->buf_have : 0;
}

/* Makes the decoder unusable and reports `rc` with the reason already in
 * dec->failed_why. */
static enlace_err_t fail_terminal(codec_decoder_t *dec, enlace_err_t rc, char *why, size_t why_len)
{
    dec->failed = rc;
    free(dec->buf);
    dec->buf = NULL;
    dec->buf_cap = dec->buf_have = 0;
    dec->prefix_have = 0;
    dec->body_len = 0;
    if (why != NULL && why_len > 0)
        snprintf(why, why_len, "%s", dec->failed_why);
    return rc;
}

/* Room for `more` body bytes: capacity doubles (at least 4 KiB) but never
 * exceeds the declared body length. */
static bool reserve(codec_decoder_t *dec, size_t more)
{
    size_t need = dec->buf_have + more;
    if (need <= dec->buf_cap)
        return true;
    size_t cap = dec->buf_cap ? dec->buf_cap * 2 : DECODER_KEEP_BUFFER;
    if (cap < need)
        cap = need;
    if (cap > dec->body_len)
        cap = dec->body_len;
    uint8_t *p = realloc(dec->buf, cap);
    if (p == NULL)
        return false;
    dec->buf = p;
    dec->buf_cap = cap;
    return true;
}

static enlace_err_t decode_frame(const uint8_t *body, size_t n, Enlace__Frame **out, char *why,
                                 size_t why_len)
{
    ProtobufCMessage *m = NULL;
    enlace_err_t rc =
        unpack(&enlace__frame__descriptor, body, n, codec_default_budget(n), &m, why, why_len);
    if (rc != ENLACE_OK || m == NULL)
        return rc;
    Enlace__Frame *f = (Enlace__Frame *)m;
    if (f->kind_case == ENLACE__FRAME__KIND__NOT_SET) {
        codec_free(&m);
        return say(ENLACE_ERR_MALFORMED, why, why_len, "frame has no kind set");
    }
    rc = validate_frame(f, why, why_len);
    if (rc != ENLACE_OK) {
        codec_free(&m);
        return rc;
    }
    *out = f;
    return ENLACE_OK;
}

enlace_err_t codec_decoder_next(codec_decoder_t *dec, const uint8_t *in, size_t len,
                                size_t *consumed, Enlace__Frame **out, char *why, size_t why_len)
{
    size_t off = 0;
    assert(dec != NULL && consumed != NULL && out != NULL && (in != NULL || len == 0));
    *consumed = 0;
    *out = NULL;
    if (dec->failed != ENLACE_OK)
        return fail_terminal(dec, dec->failed, why, why_len);

    while (dec->prefix_have < CODEC_LENGTH_PREFIX) {
        if (off == len) {
            *consumed = off;
            return ENLACE_ERR_AGAIN;
        }
        dec->prefix[dec->prefix_have++] = in[off++];
        if (dec->prefix_have < CODEC_LENGTH_PREFIX)
            continue;
        /* The length is judged here, from its 4 bytes, before anything is allocated. */
        uint32_t n = wire_get_be32(dec->prefix);
        *consumed = off;
        if (n == 0) {
            snprintf(dec->failed_why, sizeof(dec->failed_why), "zero-length frame");
            return fail_terminal(dec, ENLACE_ERR_MALFORMED, why, why_len);
        }
        if (n > dec->max_frame) {
            snprintf(dec->failed_why, sizeof(dec->failed_why),
                     "frame length %u exceeds the maximum of %zu bytes", n, dec->max_frame);
            return fail_terminal(dec, ENLACE_ERR_TOO_LARGE, why, why_len);
        }
        dec->body_len = n;
    }

    const uint8_t *body;
    size_t need = dec->body_len - dec->buf_have;
    size_t avail = len - off;
    if (dec->buf_have == 0 && avail >= need) {
        body = in + off; /* whole frame in the caller's buffer: no copy */
        off += need;
    } else {
        size_t take = avail < need ? avail : need;
        if (take > 0) {
            if (!reserve(dec, take)) {
                *consumed = off;
                snprintf(dec->failed_why, sizeof(dec->failed_why),
                         "out of memory buffering a frame");
                return fail_terminal(dec, ENLACE_ERR_NOMEM, why, why_len);
            }
            memcpy(dec->buf + dec->buf_have, in + off, take);
            dec->buf_have += take;
            off += take;
        }
        *consumed = off;
        if (dec->buf_have < dec->body_len)
            return ENLACE_ERR_AGAIN;
        body = dec->buf;
    }
    *consumed = off;

    enlace_err_t rc =
        decode_frame(body, dec->body_len, out, dec->failed_why, sizeof(dec->failed_why));
    dec->prefix_have = 0;
    dec->body_len = 0;
    dec->buf_have = 0;
    if (dec->buf_cap > DECODER_KEEP_BUFFER) {
        free(dec->buf);
        dec->buf = NULL;
        dec->buf_cap = 0;
    }
    if (rc != ENLACE_OK)
        return fail_terminal(dec, rc, why, why_len);
    return ENLACE_OK;
}
