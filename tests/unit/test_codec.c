/* test_codec — framing and bounded decoding.
 *
 * Every frame kind round-trips through codec_encode_frame + the incremental
 * decoder; a stream of frames is fed whole, byte by byte and split at every
 * offset; each refusal (length too large, zero length, truncation, garbage,
 * unknown enum, no kind, NUL inside a string, budget exceeded) gives its own
 * error and reason, and leaves nothing allocated (checked by the ASan build's
 * leak detector). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <malloc.h>

#include "codec.h"
#include "validate.h"
#include "wire.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t pattern[4096]; /* deterministic non-zero bytes */

static ProtobufCBinaryData bytes(size_t n)
{
    ProtobufCBinaryData b = {n, pattern};
    return b;
}

/* ---- one valid frame of every kind ------------------------------------------ */

typedef struct {
    Enlace__Frame f;
    Enlace__Hello hello;
    Enlace__Welcome welcome;
    Enlace__Envelope env;
    Enlace__Publish publish;
    Enlace__PublishAck publish_ack;
    Enlace__Subscribe subscribe;
    Enlace__Subscribed subscribed;
    Enlace__Unsubscribe unsubscribe;
    Enlace__Deliver deliver;
    Enlace__DeliverAck deliver_ack;
    Enlace__DirectoryRequest directory_request;
    Enlace__DirectoryEntry entry[2];
    Enlace__DirectoryEntry *entries[2];
    Enlace__Directory directory;
    Enlace__ReceiptRequest receipt_request;
    ProtobufCBinaryData proof[3];
    Enlace__Receipt receipt;
    Enlace__AuditFetch audit_fetch;
    ProtobufCBinaryData records[2];
    Enlace__AuditRecords audit_records;
    Enlace__Ping ping;
    Enlace__Pong pong;
    Enlace__Error error;
    Enlace__Goodbye goodbye;
} sample_t;

static void sample_init(sample_t *s, int kind)
{
    static const Enlace__Frame f0 = ENLACE__FRAME__INIT;
    static const Enlace__Hello hello0 = ENLACE__HELLO__INIT;
    static const Enlace__Welcome welcome0 = ENLACE__WELCOME__INIT;
    static const Enlace__Envelope env0 = ENLACE__ENVELOPE__INIT;
    static const Enlace__Publish publish0 = ENLACE__PUBLISH__INIT;
    static const Enlace__PublishAck ack0 = ENLACE__PUBLISH_ACK__INIT;
    static const Enlace__Subscribe sub0 = ENLACE__SUBSCRIBE__INIT;
    static const Enlace__Subscribed subd0 = ENLACE__SUBSCRIBED__INIT;
    static const Enlace__Unsubscribe unsub0 = ENLACE__UNSUBSCRIBE__INIT;
    static const Enlace__Deliver deliver0 = ENLACE__DELIVER__INIT;
    static const Enlace__DeliverAck dack0 = ENLACE__DELIVER_ACK__INIT;
    static const Enlace__DirectoryRequest dreq0 = ENLACE__DIRECTORY_REQUEST__INIT;
    static const Enlace__DirectoryEntry entry0 = ENLACE__DIRECTORY_ENTRY__INIT;
    static const Enlace__Directory dir0 = ENLACE__DIRECTORY__INIT;
    static const Enlace__ReceiptRequest rreq0 = ENLACE__RECEIPT_REQUEST__INIT;
    static const Enlace__Receipt receipt0 = ENLACE__RECEIPT__INIT;
    static const Enlace__AuditFetch af0 = ENLACE__AUDIT_FETCH__INIT;
    static const Enlace__AuditRecords ar0 = ENLACE__AUDIT_RECORDS__INIT;
    static const Enlace__Ping ping0 = ENLACE__PING__INIT;
    static const Enlace__Pong pong0 = ENLACE__PONG__INIT;
    static const Enlace__Error err0 = ENLACE__ERROR__INIT;
    static const Enlace__Goodbye bye0 = ENLACE__GOODBYE__INIT;

    s->f = f0;
    s->hello = hello0;
    s->hello.version = 1;
    s->hello.client_name = "enlace-cli/0.1";
    s->hello.has_max_frame = 1;
    s->hello.max_frame = 1u << 20;
    s->welcome = welcome0;
    s->welcome.version = 1;
    s->welcome.agency_id = "MX.FGR";
    s->welcome.role = ENLACE__ROLE__ROLE_AGENCY;
    s->welcome.max_frame = 1u << 20;
    s->welcome.log_origin = "enlace.example/log";
    s->welcome.checkpoint_key = bytes(32);
    s->welcome.has_log_size = 1;
    s->welcome.log_size = 123456;
    s->env = env0;
    s->env.header = bytes(180);
    s->env.payload = bytes(1024);
    s->env.signature = bytes(71);
    s->publish = publish0;
    s->publish.correlation_id = 42;
    s->publish.envelope = &s->env;
    s->publish_ack = ack0;
    s->publish_ack.correlation_id = 42;
    s->publish_ack.seq = 1000;
    s->publish_ack.leaf_hash = bytes(32);
    s->publish_ack.has_duplicate = 1;
    s->subscribe = sub0;
    s->subscribe.correlation_id = 43;
    s->subscribe.name = "alerts-mx";
    s->subscribe.filter = "alerts/+/MX";
    s->subscribe.start = ENLACE__START_MODE__START_FROM_SEQ;
    s->subscribe.has_from_seq = 1;
    s->subscribe.from_seq = 17;
    s->subscribed = subd0;
    s->subscribed.correlation_id = 43;
    s->subscribed.subscription_id = 3;
    s->subscribed.next_seq = 17;
    s->unsubscribe = unsub0;
    s->unsubscribe.subscription_id = 3;
    s->deliver = deliver0;
    s->deliver.subscription_id = 3;
    s->deliver.seq = 18;
    s->deliver.envelope = &s->env;
    s->deliver.logged_at_ms = 1700000000123ull;
    s->deliver.has_signer_cert = 1;
    s->deliver.signer_cert = bytes(650);
    s->deliver_ack = dack0;
    s->deliver_ack.subscription_id = 3;
    s->deliver_ack.seq = 18;
    s->directory_request = dreq0;
    s->directory_request.correlation_id = 44;
    s->directory_request.topic = "alerts/trafficking";
    for (size_t i = 0; i < 2; i++) {
        s->entry[i] = entry0;
        s->entry[i].agency_id = i ? "EU.EDPS" : "CO.DIJIN";
        s->entry[i].role = i ? ENLACE__ROLE__ROLE_AUDITOR : ENLACE__ROLE__ROLE_AGENCY;
        s->entry[i].has_certificate = i == 0;
        s->entry[i].certificate = bytes(640);
        s->entries[i] = &s->entry[i];
    }
    s->directory = dir0;
    s->directory.correlation_id = 44;
    s->directory.entries = s->entries;
    s->directory.n_entries = 2;
    s->receipt_request = rreq0;
    s->receipt_request.correlation_id = 45;
    s->receipt_request.message_id = bytes(16);
    for (size_t i = 0; i < 3; i++)
        s->proof[i] = bytes(32);
    s->receipt = receipt0;
    s->receipt.correlation_id = 45;
    s->receipt.seq = 5;
    s->receipt.record = bytes(400);
    s->receipt.tree_size = 7;
    s->receipt.proof = s->proof;
    s->receipt.n_proof = 3;
    s->receipt.checkpoint = "enlace.example/log\n7\nq6rB\n\n\xe2\x80\x94 enlace AAAA\n";
    s->audit_fetch = af0;
    s->audit_fetch.from_seq = 100;
    s->audit_fetch.has_max_records = 1;
    s->audit_fetch.max_records = 500;
    s->records[0] = bytes(90);
    s->records[1] = bytes(1500);
    s->audit_records = ar0;
    s->audit_records.records = s->records;
    s->audit_records.n_records = 2;
    s->audit_records.log_size = 102;
    s->ping = ping0;
    s->ping.nonce = 0xfeedfacecafebeefull;
    s->pong = pong0;
    s->pong.nonce = 0xfeedfacecafebeefull;
    s->error = err0;
    s->error.code = ENLACE__ERROR_CODE__ERROR_BAD_SIGNATURE;
    s->error.text = "signature does not verify";
    s->error.has_correlation_id = 1;
    s->error.correlation_id = 42;
    s->goodbye = bye0;
    s->goodbye.reason = "certificate revoked";

    s->f.kind_case = (Enlace__Frame__KindCase)kind;
    switch (kind) {
    case ENLACE__FRAME__KIND_HELLO: s->f.hello = &s->hello; break;
    case ENLACE__FRAME__KIND_WELCOME: s->f.welcome = &s->welcome; break;
    case ENLACE__FRAME__KIND_PUBLISH: s->f.publish = &s->publish; break;
    case ENLACE__FRAME__KIND_PUBLISH_ACK: s->f.publish_ack = &s->publish_ack; break;
    case ENLACE__FRAME__KIND_SUBSCRIBE: s->f.subscribe = &s->subscribe; break;
    case ENLACE__FRAME__KIND_SUBSCRIBED: s->f.subscribed = &s->subscribed; break;
    case ENLACE__FRAME__KIND_UNSUBSCRIBE: s->f.unsubscribe = &s->unsubscribe; break;
    case ENLACE__FRAME__KIND_DELIVER: s->f.deliver = &s->deliver; break;
    case ENLACE__FRAME__KIND_DELIVER_ACK: s->f.deliver_ack = &s->deliver_ack; break;
    case ENLACE__FRAME__KIND_DIRECTORY_REQUEST:
        s->f.directory_request = &s->directory_request;
        break;
    case ENLACE__FRAME__KIND_DIRECTORY: s->f.directory = &s->directory; break;
    case ENLACE__FRAME__KIND_RECEIPT_REQUEST: s->f.receipt_request = &s->receipt_request; break;
    case ENLACE__FRAME__KIND_RECEIPT: s->f.receipt = &s->receipt; break;
    case ENLACE__FRAME__KIND_AUDIT_FETCH: s->f.audit_fetch = &s->audit_fetch; break;
    case ENLACE__FRAME__KIND_AUDIT_RECORDS: s->f.audit_records = &s->audit_records; break;
    case ENLACE__FRAME__KIND_PING: s->f.ping = &s->ping; break;
    case ENLACE__FRAME__KIND_PONG: s->f.pong = &s->pong; break;
    case ENLACE__FRAME__KIND_ERROR: s->f.error = &s->error; break;
    case ENLACE__FRAME__KIND_GOODBYE: s->f.goodbye = &s->goodbye; break;
    default: break;
    }
}

#define FIRST_KIND 1
#define LAST_KIND 19

/* The packed form of a decoded frame must equal what was sent. */
static void assert_same_frame(const Enlace__Frame *got, const uint8_t *wire, size_t wire_len)
{
    uint8_t *packed;
    size_t n;
    assert_int_equal(codec_pack(&got->base, &packed, &n), ENLACE_OK);
    assert_int_equal(n + CODEC_LENGTH_PREFIX, wire_len);
    assert_memory_equal(packed, wire + CODEC_LENGTH_PREFIX, n);
    free(packed);
}

/* ---- round trips ---------------------------------------------------------------- */

static void test_round_trip_every_kind(void **state)
{
    (void)state;
    static sample_t s;
    for (int k = FIRST_KIND; k <= LAST_KIND; k++) {
        sample_init(&s, k);
        uint8_t *wire;
        size_t wire_len, used;
        char why[256] = "";
        assert_int_equal(codec_encode_frame(&s.f, &wire, &wire_len), ENLACE_OK);
        uint32_t declared = wire_get_be32(wire);
        assert_int_equal(declared, wire_len - 4);

        codec_decoder_t *dec = codec_decoder_new(0);
        assert_non_null(dec);
        Enlace__Frame *f = NULL;
        enlace_err_t rc = codec_decoder_next(dec, wire, wire_len, &used, &f, why, sizeof(why));
        if (rc != ENLACE_OK)
            fail_msg("kind %d: %s %s", k, enlace_err_str(rc), why);
        assert_int_equal(used, wire_len);
        assert_int_equal((int)f->kind_case, k);
        assert_same_frame(f, wire, wire_len);
        assert_int_equal(codec_decoder_pending(dec), 0);
        codec_free((ProtobufCMessage **)&f);
        assert_null(f);
        codec_free((ProtobufCMessage **)&f); /* safe twice */

        /* nothing more: AGAIN, nothing consumed */
        assert_int_equal(codec_decoder_next(dec, wire, 0, &used, &f, why, sizeof(why)),
                         ENLACE_ERR_AGAIN);
        assert_int_equal(used, 0);
        codec_decoder_destroy(&dec);
        assert_null(dec);
        codec_decoder_destroy(&dec);
        free(wire);
    }
}

/* A stream of every kind, concatenated. */
typedef struct {
    uint8_t *buf;    /* the whole stream */
    size_t len;      /* its length */
    size_t ends[32]; /* offset just after each frame */
    size_t n_frames; /* frames in the stream */
} stream_t;

static void stream_build(stream_t *st)
{
    static sample_t s;
    memset(st, 0, sizeof(*st));
    for (int k = FIRST_KIND; k <= LAST_KIND; k++) {
        uint8_t *wire;
        size_t n;
        sample_init(&s, k);
        assert_int_equal(codec_encode_frame(&s.f, &wire, &n), ENLACE_OK);
        st->buf = realloc(st->buf, st->len + n);
        assert_non_null(st->buf);
        memcpy(st->buf + st->len, wire, n);
        st->len += n;
        st->ends[st->n_frames++] = st->len;
        free(wire);
    }
}

/* Feeds the stream in chunks whose sizes come from `chunk(i)` and checks that
 * each frame comes out once, in order, equal to what was sent. */
static void feed_stream(const stream_t *st, size_t (*chunk)(size_t i, size_t arg), size_t arg)
{
    codec_decoder_t *dec = codec_decoder_new(0);
    assert_non_null(dec);
    size_t off = 0, frames = 0, call = 0;
    char why[256];
    while (off < st->len) {
        size_t n = chunk(call++, arg);
        if (n > st->len - off)
            n = st->len - off;
        size_t pos = 0;
        while (pos < n) {
            size_t used;
            Enlace__Frame *f = NULL;
            enlace_err_t rc =
                codec_decoder_next(dec, st->buf + off + pos, n - pos, &used, &f, why, sizeof(why));
            pos += used;
            if (rc == ENLACE_ERR_AGAIN) {
                assert_int_equal(pos, n);
                assert_int_equal(codec_decoder_pending(dec) > 0, 1);
                break;
            }
            if (rc != ENLACE_OK)
                fail_msg("chunking %zu: %s %s", arg, enlace_err_str(rc), why);
            /* a frame ends exactly where the sender put its end */
            assert_int_equal(off + pos, st->ends[frames]);
            size_t start = frames ? st->ends[frames - 1] : 0;
            assert_int_equal((int)f->kind_case, (int)(FIRST_KIND + frames));
            assert_same_frame(f, st->buf + start, st->ends[frames] - start);
            codec_free((ProtobufCMessage **)&f);
            frames++;
        }
        off += n;
    }
    assert_int_equal(frames, st->n_frames);
    assert_int_equal(codec_decoder_pending(dec), 0);
    codec_decoder_destroy(&dec);
}

static size_t chunk_whole(size_t i, size_t arg)
{
    (void)i;
    (void)arg;
    return SIZE_MAX;
}

static size_t chunk_one(size_t i, size_t arg)
{
    (void)i;
    (void)arg;
    return 1;
}

/* First chunk `arg` bytes, the rest whole. */
static size_t chunk_split(size_t i, size_t arg)
{
    return i == 0 ? arg : SIZE_MAX;
}

/* Sizes 1, 2, 3, ... 17, 1, 2, ...: crosses every boundary differently. */
static size_t chunk_ramp(size_t i, size_t arg)
{
    return 1 + (i + arg) % 17;
}

static void test_stream_whole_bytewise_split(void **state)
{
    (void)state;
    stream_t st;
    stream_build(&st);
    feed_stream(&st, chunk_whole, 0);
    feed_stream(&st, chunk_one, 0);
    for (size_t split = 1; split < st.len; split++)
        feed_stream(&st, chunk_split, split);
    for (size_t r = 0; r < 17; r++)
        feed_stream(&st, chunk_ramp, r);
    free(st.buf);
}

/* ---- refusals ------------------------------------------------------------------ */

/* Feeds `in` whole to a fresh decoder and returns the result. */
static enlace_err_t decode_once(const uint8_t *in, size_t len, size_t max_frame, size_t *used,
                                char *why, size_t why_len)
{
    codec_decoder_t *dec = codec_decoder_new(max_frame);
    assert_non_null(dec);
    Enlace__Frame *f = NULL;
    enlace_err_t rc = codec_decoder_next(dec, in, len, used, &f, why, why_len);
    if (rc == ENLACE_OK)
        codec_free((ProtobufCMessage **)&f);
    assert_null(f);
    codec_decoder_destroy(&dec);
    return rc;
}

static void test_too_large_after_four_bytes(void **state)
{
    (void)state;
    const uint8_t big[] = {0x00, 0x10, 0x00, 0x01, 0x0a, 0x00, 0x00}; /* 1 MiB + 1 */
    codec_decoder_t *dec = codec_decoder_new(0);
    Enlace__Frame *f = NULL;
    size_t used;
    char why[256];
    /* byte by byte: AGAIN for three, TOO_LARGE on the fourth */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(codec_decoder_next(dec, big + i, 1, &used, &f, why, sizeof(why)),
                         ENLACE_ERR_AGAIN);
        assert_int_equal(used, 1);
    }
    assert_int_equal(codec_decoder_next(dec, big + 3, 4, &used, &f, why, sizeof(why)),
                     ENLACE_ERR_TOO_LARGE);
    assert_int_equal(used, 1); /* the fourth length byte, nothing of the body */
    assert_string_equal(why, "frame length 1048577 exceeds the maximum of 1048576 bytes");
    assert_int_equal(codec_decoder_pending(dec), 0);
    /* terminal: the same answer again, nothing consumed */
    why[0] = '\0';
    assert_int_equal(codec_decoder_next(dec, big + 4, 3, &used, &f, why, sizeof(why)),
                     ENLACE_ERR_TOO_LARGE);
    assert_int_equal(used, 0);
    assert_non_null(strstr(why, "exceeds the maximum"));
    codec_decoder_destroy(&dec);

    /* whole: consumed stops after the length */
    assert_int_equal(decode_once(big, sizeof(big), 0, &used, why, sizeof(why)),
                     ENLACE_ERR_TOO_LARGE);
    assert_int_equal(used, 4);
    /* 4 GiB - 1 declared: refused just the same, nothing attempted */
    const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(decode_once(huge, 4, 0, &used, why, sizeof(why)), ENLACE_ERR_TOO_LARGE);
    /* a smaller negotiated maximum */
    const uint8_t k2[] = {0x00, 0x00, 0x08, 0x01};
    assert_int_equal(decode_once(k2, 4, 2048, &used, why, sizeof(why)), ENLACE_ERR_TOO_LARGE);
    assert_string_equal(why, "frame length 2049 exceeds the maximum of 2048 bytes");
}

/* The decoder's memory follows the bytes that arrived, not the length that
 * was announced. mallinfo2 counts glibc's heap (it reads 0 under ASan, where
 * the check is vacuous and ASan's own accounting takes over). */
static void test_buffer_grows_with_arrivals(void **state)
{
    (void)state;
    uint8_t in[14] = {0x00, 0x10, 0x00, 0x00}; /* announces exactly 1 MiB */
    memset(in + 4, 0x0a, 10);
    codec_decoder_t *dec = codec_decoder_new(0);
    Enlace__Frame *f = NULL;
    size_t used;
    struct mallinfo2 before = mallinfo2();
    assert_int_equal(codec_decoder_next(dec, in, sizeof(in), &used, &f, NULL, 0), ENLACE_ERR_AGAIN);
    struct mallinfo2 after = mallinfo2();
    assert_int_equal(used, sizeof(in));
    assert_int_equal(codec_decoder_pending(dec), 14);
    assert_true(after.uordblks - before.uordblks <= 8192);
    codec_decoder_destroy(&dec);
}

static void test_zero_length(void **state)
{
    (void)state;
    const uint8_t zero[] = {0, 0, 0, 0, 0, 0, 0, 5};
    size_t used;
    char why[256];
    assert_int_equal(decode_once(zero, sizeof(zero), 0, &used, why, sizeof(why)),
                     ENLACE_ERR_MALFORMED);
    assert_int_equal(used, 4);
    assert_string_equal(why, "zero-length frame");
}

static void test_truncated(void **state)
{
    (void)state;
    static sample_t s;
    uint8_t *wire;
    size_t n, used;
    char why[256];
    Enlace__Frame *f = NULL;
    sample_init(&s, ENLACE__FRAME__KIND_PUBLISH);
    assert_int_equal(codec_encode_frame(&s.f, &wire, &n), ENLACE_OK);
    for (size_t cut = 0; cut < n; cut += 97) {
        codec_decoder_t *dec = codec_decoder_new(0);
        assert_int_equal(codec_decoder_next(dec, wire, cut, &used, &f, why, sizeof(why)),
                         ENLACE_ERR_AGAIN);
        assert_int_equal(used, cut);
        assert_int_equal(codec_decoder_pending(dec), cut);
        /* then nothing: still AGAIN, still nothing decoded */
        assert_int_equal(codec_decoder_next(dec, NULL, 0, &used, &f, why, sizeof(why)),
                         ENLACE_ERR_AGAIN);
        assert_int_equal(used, 0);
        assert_null(f);
        codec_decoder_destroy(&dec); /* frees the partial frame */
    }
    free(wire);
}

/* Hand-written frame bodies (after the length prefix). */
static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t truncated_field[] = {0x82, 0x01, 0x05, 0x08}; /* goodbye, length 5, 1 byte */
static const uint8_t wrong_wire_type[] = {0x98, 0x01, 0x05};       /* goodbye as a varint */
static const uint8_t group[] = {0x0b, 0x0c};                       /* field 1 start/end group */
/* subscribe{correlation_id 1, name "n", filter "a", start 9} */
static const uint8_t unknown_enum[] = {0x2a, 0x0a, 0x08, 0x01, 0x12, 0x01,
                                       'n',  0x1a, 0x01, 'a',  0x20, 0x09};
/* error{code 1234, text ""} */
static const uint8_t unknown_error_code[] = {0x92, 0x01, 0x05, 0x08, 0xd2, 0x09, 0x12, 0x00};
/* only field 99 (unknown): protobuf-c accepts it, no kind is set */
static const uint8_t no_kind[] = {0x98, 0x06, 0x01};
/* goodbye{reason "a\0b"} */
static const uint8_t nul_in_string[] = {0x9a, 0x01, 0x05, 0x0a, 0x03, 'a', 0x00, 'b'};
/* goodbye{} : required reason missing */
static const uint8_t missing_required[] = {0x9a, 0x01, 0x00};
/* ping{nonce 1} then hello{}: two kinds, the last one wins (protobuf rule) and
 * hello without its required version fails */
static const uint8_t two_kinds[] = {0x82, 0x01, 0x02, 0x08, 0x01, 0x0a, 0x00};

static const struct {
    const char *name;
    const uint8_t *body;
    size_t len;
    enlace_err_t rc;
    const char *why;
} bad_bodies[] = {
    {"garbage", garbage, sizeof(garbage), ENLACE_ERR_MALFORMED, "undecodable protobuf"},
    {"truncated field", truncated_field, sizeof(truncated_field), ENLACE_ERR_MALFORMED,
     "bad wire data"},
    {"wrong wire type", wrong_wire_type, sizeof(wrong_wire_type), ENLACE_ERR_MALFORMED,
     "wrong field type or a required field missing"},
    {"group", group, sizeof(group), ENLACE_ERR_MALFORMED, "bad wire data"},
    {"unknown enum", unknown_enum, sizeof(unknown_enum), ENLACE_ERR_MALFORMED,
     "subscribe.start: unknown value 9"},
    {"unknown error code", unknown_error_code, sizeof(unknown_error_code), ENLACE_ERR_MALFORMED,
     "error.code: unknown value 1234"},
    {"no kind", no_kind, sizeof(no_kind), ENLACE_ERR_MALFORMED, "frame has no kind set"},
    {"NUL in string", nul_in_string, sizeof(nul_in_string), ENLACE_ERR_MALFORMED,
     "NUL byte inside string field reason"},
    {"missing required", missing_required, sizeof(missing_required), ENLACE_ERR_MALFORMED,
     "required field missing"},
    {"two kinds", two_kinds, sizeof(two_kinds), ENLACE_ERR_MALFORMED, "required field missing"},
};

static void test_bad_bodies(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(bad_bodies); i++) {
        uint8_t in[64];
        size_t n = bad_bodies[i].len, used;
        char why[256] = "";
        in[0] = 0, in[1] = 0, in[2] = (uint8_t)(n >> 8), in[3] = (uint8_t)n;
        memcpy(in + 4, bad_bodies[i].body, n);
        enlace_err_t rc = decode_once(in, n + 4, 0, &used, why, sizeof(why));
        if (rc != bad_bodies[i].rc || strstr(why, bad_bodies[i].why) == NULL)
            fail_msg("%s: got %s \"%s\"", bad_bodies[i].name, enlace_err_str(rc), why);
        assert_int_equal(used, n + 4);
    }
}

/* After a terminal error the decoder refuses everything, even a good frame. */
static void test_error_is_terminal(void **state)
{
    (void)state;
    static sample_t s;
    uint8_t *wire;
    size_t n, used;
    char why[256];
    Enlace__Frame *f = NULL;
    sample_init(&s, ENLACE__FRAME__KIND_PING);
    assert_int_equal(codec_encode_frame(&s.f, &wire, &n), ENLACE_OK);
    codec_decoder_t *dec = codec_decoder_new(0);
    const uint8_t zero[4] = {0};
    assert_int_equal(codec_decoder_next(dec, zero, 4, &used, &f, why, sizeof(why)),
                     ENLACE_ERR_MALFORMED);
    assert_int_equal(codec_decoder_next(dec, wire, n, &used, &f, NULL, 0), ENLACE_ERR_MALFORMED);
    assert_int_equal(used, 0);
    assert_null(f);
    codec_decoder_destroy(&dec);
    free(wire);
}

/* ---- budget ------------------------------------------------------------------- */

/* A Directory frame of `n` minimal entries {agency_id "A", role AGENCY}:
 * 7 bytes each on the wire, about 140 bytes each in memory. Returns the whole
 * frame (length prefix included), malloc'ed. */
static uint8_t *directory_bomb(size_t n, size_t *out_len)
{
    static const uint8_t entry[] = {0x12, 0x05, 0x0a, 0x01, 'A', 0x10, 0x01};
    size_t dir_len = 2 + n * sizeof(entry);
    uint8_t *p = malloc(dir_len + 32);
    size_t o = 4;
    assert_non_null(p);
    p[o++] = 0x5a; /* field 11, length-delimited */
    o += wire_varint(p + o, dir_len);
    p[o++] = 0x08; /* correlation_id 1 */
    p[o++] = 0x01;
    for (size_t i = 0; i < n; i++, o += sizeof(entry))
        memcpy(p + o, entry, sizeof(entry));
    size_t body = o - 4;
    p[0] = (uint8_t)(body >> 24), p[1] = (uint8_t)(body >> 16);
    p[2] = (uint8_t)(body >> 8), p[3] = (uint8_t)body;
    *out_len = o;
    return p;
}

static void test_over_budget_directory(void **state)
{
    (void)state;
    size_t len, used;
    char why[256];
    /* 100 entries: fine (the validator would refuse > 4096 anyway) */
    uint8_t *ok = directory_bomb(100, &len);
    assert_int_equal(decode_once(ok, len, 0, &used, why, sizeof(why)), ENLACE_OK);
    free(ok);
    /* 30,000 entries: 210 KB in, ~4 MB out, budget 4 * 210 KB + 64 KiB */
    uint8_t *bomb = directory_bomb(30000, &len);
    assert_true(len < 256 * 1024);
    assert_int_equal(decode_once(bomb, len, 0, &used, why, sizeof(why)), ENLACE_ERR_OVER_BUDGET);
    assert_int_equal(used, len);
    assert_non_null(strstr(why, "would expand past its memory budget"));
    free(bomb);
}

/* A Record{seq 2^20, time 1, delivered{recipient "A", subscription "s",
 * message_seqs 1 x n}} built by hand: 2 bytes per seq on the wire, 40 in
 * memory (8 in the array, 32 in protobuf-c's scan slab). */
static uint8_t *delivered_bomb(size_t n, size_t *out_len)
{
    size_t del_len = 6 + 2 * n;
    uint8_t *p = malloc(del_len + 32);
    size_t o = 0;
    assert_non_null(p);
    p[o++] = 0x08; /* seq */
    o += wire_varint(p + o, 1u << 20);
    p[o++] = 0x10; /* time_ms */
    p[o++] = 0x01;
    p[o++] = 0x6a; /* field 13 delivered */
    o += wire_varint(p + o, del_len);
    memcpy(p + o,
           "\x0a\x01"
           "A"
           "\x12\x01"
           "s",
           6);
    o += 6;
    for (size_t i = 0; i < n; i++) {
        p[o++] = 0x18; /* message_seqs, unpacked */
        p[o++] = 0x01;
    }
    *out_len = o;
    return p;
}

static void test_over_budget_record(void **state)
{
    (void)state;
    size_t len;
    char why[256] = "";
    Enlace__Record *r = NULL;
    /* the most a Delivered record may hold passes the budget */
    uint8_t *ok = delivered_bomb(VALIDATE_MAX_DELIVERED_SEQS, &len);
    assert_int_equal(codec_decode_record(ok, len, &r, why, sizeof(why)), ENLACE_OK);
    assert_int_equal(r->delivered->n_message_seqs, VALIDATE_MAX_DELIVERED_SEQS);
    codec_free((ProtobufCMessage **)&r);
    free(ok);
    /* 100,000 seqs: 200 KB expanding to ~4 MB */
    uint8_t *bomb = delivered_bomb(100000, &len);
    assert_int_equal(codec_decode_record(bomb, len, &r, why, sizeof(why)), ENLACE_ERR_OVER_BUDGET);
    assert_null(r);
    assert_non_null(strstr(why, "enlace.Record of"));
    /* and through codec_unpack with an explicit budget: the same bytes pass with room */
    ProtobufCMessage *m = NULL;
    assert_int_equal(codec_unpack(&enlace__record__descriptor, bomb, len, 16u << 20, &m),
                     ENLACE_OK);
    codec_free(&m);
    assert_int_equal(codec_unpack(&enlace__record__descriptor, bomb, len, 1u << 20, &m),
                     ENLACE_ERR_OVER_BUDGET);
    assert_null(m);
    free(bomb);
}

/* Honest frames near the maximum size stay inside the default budget. */
static void test_honest_frames_fit_budget(void **state)
{
    (void)state;
    static sample_t s;
    static Enlace__DirectoryEntry entries[1400];
    static Enlace__DirectoryEntry *ptrs[1400];
    static ProtobufCBinaryData recs[4000];
    static char ids[1400][24];
    static uint8_t cert[700];
    uint8_t *wire;
    size_t n, used;
    char why[256] = "";

    /* Directory of 1400 agencies with 700-byte certificates: ~1 MB */
    sample_init(&s, ENLACE__FRAME__KIND_DIRECTORY);
    for (size_t i = 0; i < N_ELEMS(entries); i++) {
        Enlace__DirectoryEntry e = ENLACE__DIRECTORY_ENTRY__INIT;
        snprintf(ids[i], sizeof(ids[i]), "AG.%04zu", i);
        e.agency_id = ids[i];
        e.role = ENLACE__ROLE__ROLE_AGENCY;
        e.has_certificate = 1;
        e.certificate.data = cert;
        e.certificate.len = sizeof(cert);
        entries[i] = e;
        ptrs[i] = &entries[i];
    }
    s.directory.entries = ptrs;
    s.directory.n_entries = N_ELEMS(entries);
    assert_int_equal(codec_encode_frame(&s.f, &wire, &n), ENLACE_OK);
    assert_true(n <= CODEC_DEFAULT_MAX_FRAME);
    if (decode_once(wire, n, 0, &used, why, sizeof(why)) != ENLACE_OK)
        fail_msg("directory: %s", why);
    free(wire);

    /* AuditRecords of 4000 records of 250 bytes */
    sample_init(&s, ENLACE__FRAME__KIND_AUDIT_RECORDS);
    for (size_t i = 0; i < N_ELEMS(recs); i++)
        recs[i] = bytes(250);
    s.audit_records.records = recs;
    s.audit_records.n_records = N_ELEMS(recs);
    assert_int_equal(codec_encode_frame(&s.f, &wire, &n), ENLACE_OK);
    if (decode_once(wire, n, 0, &used, why, sizeof(why)) != ENLACE_OK)
        fail_msg("audit_records: %s", why);
    free(wire);

    /* Receipt with the longest proof */
    static ProtobufCBinaryData proof[VALIDATE_MAX_PROOF];
    sample_init(&s, ENLACE__FRAME__KIND_RECEIPT);
    for (size_t i = 0; i < N_ELEMS(proof); i++)
        proof[i] = bytes(32);
    s.receipt.proof = proof;
    s.receipt.n_proof = N_ELEMS(proof);
    s.receipt.tree_size = UINT64_MAX;
    assert_int_equal(codec_encode_frame(&s.f, &wire, &n), ENLACE_OK);
    assert_int_equal(decode_once(wire, n, 0, &used, why, sizeof(why)), ENLACE_OK);
    free(wire);
}

/* ---- codec_unpack / header / record ---------------------------------------------- */

static void header_sample(Enlace__Header *h)
{
    static char *recipients[] = {"US.FBI", "CO.DIJIN"};
    Enlace__Header init = ENLACE__HEADER__INIT;
    *h = init;
    h->message_id = bytes(16);
    h->sender = "MX.FGR";
    h->topic = "alerts/trafficking/MX";
    h->recipients = recipients;
    h->n_recipients = 2;
    h->created_at_ms = 1700000000000ull;
    h->message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_NOTICE;
    h->has_notice_kind = 1;
    h->notice_kind = ENLACE__NOTICE_KIND__NOTICE_KIND_YELLOW;
    h->case_ref = "FGR/2024/0815";
    h->tlp = ENLACE__TLP__TLP_AMBER_STRICT;
    h->has_handling = 1;
    h->handling = ENLACE__HANDLING__HANDLING_H2;
    h->language = "es-MX";
    h->content_type = "application/json";
    h->payload_sha256 = bytes(32);
    h->signer_cert_sha256 = bytes(32);
}

static void test_decode_header(void **state)
{
    (void)state;
    Enlace__Header h, *out = NULL;
    uint8_t *buf;
    size_t n;
    char why[256] = "";
    header_sample(&h);
    assert_int_equal(codec_pack(&h.base, &buf, &n), ENLACE_OK);
    assert_int_equal(codec_decode_header(buf, n, &out, why, sizeof(why)), ENLACE_OK);
    assert_string_equal(out->topic, "alerts/trafficking/MX");
    assert_string_equal(out->recipients[1], "CO.DIJIN");
    assert_int_equal(out->tlp, ENLACE__TLP__TLP_AMBER_STRICT);
    codec_free((ProtobufCMessage **)&out);
    free(buf);

    /* UNLABELLED passes the codec (the broker refuses it) */
    h.tlp = ENLACE__TLP__TLP_UNLABELLED;
    assert_int_equal(codec_pack(&h.base, &buf, &n), ENLACE_OK);
    assert_int_equal(codec_decode_header(buf, n, &out, why, sizeof(why)), ENLACE_OK);
    codec_free((ProtobufCMessage **)&out);
    free(buf);

    /* an unknown tlp value does not */
    h.tlp = (Enlace__Tlp)6;
    assert_int_equal(codec_pack(&h.base, &buf, &n), ENLACE_OK);
    assert_int_equal(codec_decode_header(buf, n, &out, why, sizeof(why)), ENLACE_ERR_MALFORMED);
    assert_string_equal(why, "header.tlp: unknown value 6");
    assert_null(out);
    free(buf);

    /* a NUL inside the sender: "MX.FGR\0US.FBI" must not read as "MX.FGR" */
    h.tlp = ENLACE__TLP__TLP_AMBER;
    assert_int_equal(codec_pack(&h.base, &buf, &n), ENLACE_OK);
    uint8_t *at = memmem(buf, n, "MX.FGR", 6);
    assert_non_null(at);
    at[2] = 0;
    assert_int_equal(codec_decode_header(buf, n, &out, why, sizeof(why)), ENLACE_ERR_MALFORMED);
    assert_string_equal(why, "enlace.Header: NUL byte inside string field sender");
    free(buf);

    /* missing required field (message_id): protobuf-c refuses */
    const uint8_t partial[] = {0x12, 0x01, 'A'};
    assert_int_equal(codec_decode_header(partial, sizeof(partial), &out, why, sizeof(why)),
                     ENLACE_ERR_MALFORMED);
    /* empty input */
    assert_int_equal(codec_decode_header(NULL, 0, &out, why, sizeof(why)), ENLACE_ERR_MALFORMED);
    /* above the cap: refused before looking */
    static uint8_t big[CODEC_MAX_HEADER + 1];
    assert_int_equal(codec_decode_header(big, sizeof(big), &out, why, sizeof(why)),
                     ENLACE_ERR_TOO_LARGE);
    assert_string_equal(why, "header of 65537 bytes, at most 65536");
}

static void test_decode_record_kinds(void **state)
{
    (void)state;
    Enlace__Record r = ENLACE__RECORD__INIT;
    Enlace__SessionOpened so = ENLACE__SESSION_OPENED__INIT;
    Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
    Enlace__Published pub = ENLACE__PUBLISHED__INIT;
    Enlace__Denied den = ENLACE__DENIED__INIT;
    Enlace__SubscriptionChanged chg = ENLACE__SUBSCRIPTION_CHANGED__INIT;
    Enlace__Record *out = NULL;
    uint8_t *buf;
    size_t n;
    char why[256] = "";

    r.seq = 9;
    r.time_ms = 1700000000000ull;
    so.session_id = 1;
    so.agency_id = "MX.FGR";
    so.cert_sha256 = bytes(32);
    so.peer_address = "192.0.2.7:40000";
    env.header = bytes(100);
    env.payload = bytes(100);
    env.signature = bytes(64);
    pub.envelope = &env;
    pub.has_signer_cert = 1;
    pub.signer_cert = bytes(600);
    den.operation = "subscribe";
    den.code = ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED;
    den.reason = "filter wider than policy";
    den.topic = "#";
    chg.agency_id = "US.FBI";
    chg.name = "all";
    chg.filter = "alerts/#";
    chg.next_seq = 9;

    struct {
        Enlace__Record__KindCase kind;
        void *msg;
    } kinds[] = {{ENLACE__RECORD__KIND_SESSION_OPENED, &so},
                 {ENLACE__RECORD__KIND_PUBLISHED, &pub},
                 {ENLACE__RECORD__KIND_DENIED, &den},
                 {ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED, &chg}};
    for (size_t i = 0; i < N_ELEMS(kinds); i++) {
        r.kind_case = kinds[i].kind;
        r.session_opened = kinds[i].msg; /* union member */
        assert_int_equal(codec_pack(&r.base, &buf, &n), ENLACE_OK);
        if (codec_decode_record(buf, n, &out, why, sizeof(why)) != ENLACE_OK)
            fail_msg("record kind %d: %s", kinds[i].kind, why);
        assert_int_equal(out->kind_case, kinds[i].kind);
        uint8_t *again;
        size_t n2;
        assert_int_equal(codec_pack(&out->base, &again, &n2), ENLACE_OK);
        assert_int_equal(n2, n);
        assert_memory_equal(again, buf, n);
        free(again);
        codec_free((ProtobufCMessage **)&out);
        free(buf);
    }

    /* no kind */
    r.kind_case = ENLACE__RECORD__KIND__NOT_SET;
    assert_int_equal(codec_pack(&r.base, &buf, &n), ENLACE_OK);
    assert_int_equal(codec_decode_record(buf, n, &out, why, sizeof(why)), ENLACE_ERR_MALFORMED);
    assert_string_equal(why, "record: no kind set");
    free(buf);
    /* invalid field */
    r.kind_case = ENLACE__RECORD__KIND_SESSION_OPENED;
    r.session_opened = &so;
    so.cert_sha256 = bytes(20);
    assert_int_equal(codec_pack(&r.base, &buf, &n), ENLACE_OK);
    assert_int_equal(codec_decode_record(buf, n, &out, why, sizeof(why)), ENLACE_ERR_MALFORMED);
    assert_string_equal(why, "session_opened.cert_sha256: 20 bytes, must be 32");
    free(buf);
    /* over the cap */
    assert_int_equal(
        codec_decode_record(pattern, (size_t)CODEC_MAX_RECORD + 1, &out, why, sizeof(why)),
        ENLACE_ERR_TOO_LARGE);
}

static void test_unpack_limits(void **state)
{
    (void)state;
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    const uint8_t ping[] = {0x08, 0x05};
    assert_int_equal(codec_default_budget(0), 65536);
    assert_int_equal(codec_default_budget(1000), 4000 + 65536);
    assert_int_equal(codec_default_budget(SIZE_MAX / 2), SIZE_MAX);
    assert_int_equal(codec_unpack(&enlace__ping__descriptor, ping, 2, 1000, &m), ENLACE_OK);
    assert_int_equal(((Enlace__Ping *)m)->nonce, 5);
    codec_free(&m);
    /* len > budget: nothing attempted */
    assert_int_equal(codec_unpack(&enlace__ping__descriptor, ping, 2, 1, &m), ENLACE_ERR_TOO_LARGE);
    assert_null(m);
    /* the message struct alone costs more than 16 bytes */
    assert_int_equal(codec_unpack(&enlace__ping__descriptor, ping, 2, 16, &m),
                     ENLACE_ERR_OVER_BUDGET);
    assert_null(m);
    codec_free(NULL);
}

/* ---- fuzz corpus replay ------------------------------------------------------------ */

/* Replays every file of tests/fuzz/corpus/<target>/ the way the fuzz target
 * feeds it, so seeds and any crash input saved there (the place for fuzz
 * regressions) run in the normal and sanitizer builds too. Returns how many
 * files decoded to ENLACE_OK. */
static size_t replay_dir(const char *target, size_t *files)
{
    const char *src = getenv("ENLACE_SOURCE_DIR");
    char path[1024];
    size_t ok = 0;
    *files = 0;
    snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s", src, target);
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char file[1300];
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        FILE *f = fopen(file, "rb");
        assert_non_null(f);
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        (*files)++;
        char why[256];
        enlace_err_t rc;
        if (strcmp(target, "header") == 0) {
            Enlace__Header *h = NULL;
            rc = codec_decode_header(buf, n, &h, why, sizeof(why));
            codec_free((ProtobufCMessage **)&h);
        } else if (strcmp(target, "record") == 0) {
            Enlace__Record *r = NULL;
            rc = codec_decode_record(buf, n, &r, why, sizeof(why));
            codec_free((ProtobufCMessage **)&r);
        } else { /* frame: 2 parameter bytes, then a stream */
            codec_decoder_t *dec = codec_decoder_new(0);
            size_t off = n < 2 ? n : 2, used;
            Enlace__Frame *fr = NULL;
            while ((rc = codec_decoder_next(dec, buf + off, n - off, &used, &fr, why,
                                            sizeof(why))) == ENLACE_OK) {
                off += used;
                codec_free((ProtobufCMessage **)&fr);
            }
            if (rc == ENLACE_ERR_AGAIN && codec_decoder_pending(dec) == 0)
                rc = ENLACE_OK;
            codec_decoder_destroy(&dec);
        }
        ok += rc == ENLACE_OK;
    }
    closedir(d);
    return ok;
}

static void test_fuzz_corpus_replay(void **state)
{
    (void)state;
    if (getenv("ENLACE_SOURCE_DIR") == NULL)
        skip();
    static const char *const targets[] = {"frame", "header", "record"};
    for (size_t i = 0; i < N_ELEMS(targets); i++) {
        size_t files, ok = replay_dir(targets[i], &files);
        /* the committed seeds are valid messages */
        assert_true(files > 0);
        assert_true(ok > 0);
    }
}

int main(void)
{
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 131 + 7);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_kind),
        cmocka_unit_test(test_stream_whole_bytewise_split),
        cmocka_unit_test(test_too_large_after_four_bytes),
        cmocka_unit_test(test_buffer_grows_with_arrivals),
        cmocka_unit_test(test_zero_length),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_error_is_terminal),
        cmocka_unit_test(test_over_budget_directory),
        cmocka_unit_test(test_over_budget_record),
        cmocka_unit_test(test_honest_frames_fit_budget),
        cmocka_unit_test(test_decode_header),
        cmocka_unit_test(test_decode_record_kinds),
        cmocka_unit_test(test_unpack_limits),
        cmocka_unit_test(test_fuzz_corpus_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
