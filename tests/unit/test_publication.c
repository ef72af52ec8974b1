/* test_publication — broker/publication.{h,c}: the hand-assembled encodings.
 *
 * A publication is written twice without protobuf-c: as the Published record in the log
 * (log_append_kind parts) and as every Deliver frame. Both must be exactly the bytes
 * protobuf-c packs for the same message, for the certificate inline and by reference,
 * with and without recipients, across one- and multi-byte varints (seq, time, session
 * and subscription ids, lengths over 127 and 16383). Reference counting: the last
 * unref frees (checked under ASan's leak detector).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "publication.h"
#include "wire.h"

typedef struct {
    Enlace__Header h;
    Enlace__Envelope env;
    char *recipients[2];
    uint8_t mid[16];
    uint8_t *payload;
    uint8_t header_bytes[40];
    uint8_t sig[72];
    uint8_t cert[1200];
    uint8_t cert_sha[32];
} fixture_t;

static void fixture(fixture_t *f, size_t payload, size_t n_recipients)
{
    memset(f, 0, sizeof *f);
    enlace__header__init(&f->h);
    enlace__envelope__init(&f->env);
    for (int i = 0; i < 16; i++)
        f->mid[i] = (uint8_t)(i * 7 + 1);
    f->h.message_id = (ProtobufCBinaryData){16, f->mid};
    f->h.sender = "MX.FGR";
    f->h.topic = "case/mx/alerts";
    f->h.tlp = ENLACE__TLP__TLP_AMBER;
    f->recipients[0] = "US.FBI";
    f->recipients[1] = "CO.DIJIN";
    f->h.n_recipients = n_recipients;
    f->h.recipients = f->recipients;
    f->payload = malloc(payload ? payload : 1);
    for (size_t i = 0; i < payload; i++)
        f->payload[i] = (uint8_t)(i * 13);
    memset(f->header_bytes, 0x11, sizeof f->header_bytes);
    memset(f->sig, 0x22, sizeof f->sig);
    for (size_t i = 0; i < sizeof f->cert; i++)
        f->cert[i] = (uint8_t)(i ^ 0x5a);
    memset(f->cert_sha, 0x33, sizeof f->cert_sha);
    f->env.header = (ProtobufCBinaryData){sizeof f->header_bytes, f->header_bytes};
    f->env.payload = (ProtobufCBinaryData){payload, f->payload};
    f->env.signature = (ProtobufCBinaryData){sizeof f->sig, f->sig};
}

/* The Record bytes log_append_kind would store for these parts at seq/time. */
static size_t record_bytes(uint64_t seq, uint64_t t, const log_bytes_t *parts, size_t n,
                           uint8_t *out)
{
    size_t len = wire_uint_field(out, 1, seq);
    len += wire_uint_field(out + len, 2, t);
    for (size_t i = 0; i < n; i++) {
        memcpy(out + len, parts[i].data, parts[i].len);
        len += parts[i].len;
    }
    return len;
}

static void check_record(const publication_t *p, fixture_t *f, bool inline_cert, uint64_t cert_seq)
{
    uint8_t scratch[PUB_RECORD_SCRATCH];
    log_bytes_t parts[PUB_RECORD_PARTS];
    size_t n = pub_record_parts(p, inline_cert, cert_seq, scratch, parts);
    assert_true(n <= PUB_RECORD_PARTS);
    size_t total = 64;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    uint8_t *got = malloc(total);
    size_t got_len = record_bytes(p->seq, p->time_ms, parts, n, got);

    Enlace__Published pb = ENLACE__PUBLISHED__INIT;
    pb.session_id = p->session_id;
    pb.envelope = &f->env;
    if (inline_cert) {
        pb.has_signer_cert = true;
        pb.signer_cert = (ProtobufCBinaryData){sizeof f->cert, f->cert};
    } else {
        pb.has_cert_record_seq = true;
        pb.cert_record_seq = cert_seq;
    }
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.seq = p->seq;
    r.time_ms = p->time_ms;
    r.kind_case = ENLACE__RECORD__KIND_PUBLISHED;
    r.published = &pb;
    size_t want_len = enlace__record__get_packed_size(&r);
    uint8_t *want = malloc(want_len);
    enlace__record__pack(&r, want);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    free(want);
    free(got);
}

static void check_deliver(const publication_t *p, fixture_t *f, uint32_t sub_id)
{
    size_t n = pub_deliver_size(p, sub_id);
    uint8_t *got = malloc(n);
    pub_deliver_write(p, sub_id, got);

    Enlace__Deliver d = ENLACE__DELIVER__INIT;
    d.subscription_id = sub_id;
    d.seq = p->seq;
    d.envelope = &f->env;
    d.logged_at_ms = p->time_ms;
    d.has_signer_cert = true;
    d.signer_cert = (ProtobufCBinaryData){sizeof f->cert, f->cert};
    Enlace__Frame fr = ENLACE__FRAME__INIT;
    fr.kind_case = ENLACE__FRAME__KIND_DELIVER;
    fr.deliver = &d;
    uint8_t *want = NULL;
    size_t want_len = 0;
    assert_int_equal(codec_encode_frame(&fr, &want, &want_len), ENLACE_OK);
    assert_int_equal(n, want_len);
    assert_memory_equal(got, want, want_len);

    /* And a client's bounded decoder reads it back. */
    codec_decoder_t *dec = codec_decoder_new(1 << 20);
    Enlace__Frame *back = NULL;
    size_t used = 0;
    char why[256];
    enlace_err_t rc = codec_decoder_next(dec, got, n, &used, &back, why, sizeof why);
    if (rc != ENLACE_OK)
        print_error("decoder: %s (payload %zu)\n", why, f->env.payload.len);
    assert_int_equal(rc, ENLACE_OK);
    assert_int_equal(used, n);
    assert_int_equal(back->kind_case, ENLACE__FRAME__KIND_DELIVER);
    assert_int_equal(back->deliver->subscription_id, sub_id);
    assert_int_equal(back->deliver->seq, p->seq);
    assert_int_equal(back->deliver->envelope->payload.len, f->env.payload.len);
    codec_free((ProtobufCMessage **)&back);
    codec_decoder_destroy(&dec);
    free(want);
    free(got);
}

static void test_encodings_match_protobuf_c(void **state)
{
    (void)state;
    const size_t payloads[] = {1, 100, 1024, 20000}; /* validation refuses an empty one */
    const uint64_t seqs[] = {0, 1, 127, 128, 300000, 1ull << 40};
    const uint32_t subs[] = {1, 127, 128, 70000};
    for (size_t a = 0; a < sizeof payloads / sizeof *payloads; a++) {
        for (size_t b = 0; b < sizeof seqs / sizeof *seqs; b++) {
            fixture_t f;
            fixture(&f, payloads[a], b % 3);
            publication_t *p =
                pub_new(seqs[b] * 3 + 1, &f.h, &f.env, f.cert, sizeof f.cert, f.cert_sha);
            assert_non_null(p);
            p->seq = seqs[b];
            p->time_ms = 1790000000000ull + seqs[b];
            assert_string_equal(p->topic, "case/mx/alerts");
            assert_string_equal(p->sender, "MX.FGR");
            assert_int_equal(p->n_recipients, b % 3);
            assert_memory_equal(p->message_id, f.mid, 16);
            check_record(p, &f, true, 0);
            check_record(p, &f, false, seqs[b] / 2);
            for (size_t c = 0; c < sizeof subs / sizeof *subs; c++)
                check_deliver(p, &f, subs[c]);
            pub_unref(&p);
            assert_null(p);
            free(f.payload);
        }
    }
}

static void test_from_record_and_refs(void **state)
{
    (void)state;
    fixture_t f;
    fixture(&f, 500, 2);
    Enlace__Published pb = ENLACE__PUBLISHED__INIT;
    pb.session_id = 9;
    pb.envelope = &f.env;
    Enlace__Record r = ENLACE__RECORD__INIT;
    r.seq = 4242;
    r.time_ms = 1790000000123ull;
    r.kind_case = ENLACE__RECORD__KIND_PUBLISHED;
    r.published = &pb;
    publication_t *p = pub_from_record(&r, &f.h, f.cert, sizeof f.cert);
    assert_non_null(p);
    assert_int_equal(p->seq, 4242);
    assert_int_equal(p->time_ms, 1790000000123ull);
    assert_int_equal(p->session_id, 9);
    assert_string_equal(p->recipients[1], "CO.DIJIN");
    check_deliver(p, &f, 5);
    publication_t *q = pub_ref(p);
    assert_ptr_equal(q, p);
    pub_unref(&p);
    assert_int_equal(q->refs, 1); /* still alive through q */
    check_deliver(q, &f, 6);
    pub_unref(&q);
    pub_unref(&q); /* NULL: no-op */
    free(f.payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encodings_match_protobuf_c),
        cmocka_unit_test(test_from_record_and_refs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
