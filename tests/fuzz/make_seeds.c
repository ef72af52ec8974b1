/* make_seeds — writes the seed corpora of the fuzz targets:
 *   corpus/frame/   2 parameter bytes + a stream of encoded frames
 *   corpus/header/  packed Headers
 *   corpus/record/  packed Records
 * Not part of the build (CMake builds only fuzz_*.c). Regenerate with:
 *   cc -std=c17 -D_GNU_SOURCE -Icommon -I<build>/proto tests/fuzz/make_seeds.c \
 *      common/codec.c common/validate.c common/topic.c common/enlace_err.c \
 *      <build>/libenlace-proto.a -lprotobuf-c -o /tmp/make_seeds
 *   /tmp/make_seeds tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int main(int argc, char **argv);

static uint8_t fill[1024];
static const char *out_dir;

static ProtobufCBinaryData bytes(size_t n)
{
    ProtobufCBinaryData b = {n, fill};
    return b;
}

static void write_file(const char *sub, const char *name, const uint8_t *p1, size_t n1,
                       const uint8_t *p2, size_t n2)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p1, 1, n1, f) != n1 || (n2 && fwrite(p2, 1, n2, f) != n2)) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

/* Frame seeds: parameter bytes 01 00 (chunked, default maximum) + the frame,
 * and the frame followed by a ping so the fuzzer sees a stream. */
static void frame_seed(const char *name, Enlace__Frame *fr)
{
    static const uint8_t params[2] = {0x01, 0x00};
    Enlace__Ping ping = ENLACE__PING__INIT;
    Enlace__Frame pf = ENLACE__FRAME__INIT;
    uint8_t *w, *pw, *buf;
    size_t n, pn;
    pf.kind_case = ENLACE__FRAME__KIND_PING;
    pf.ping = &ping;
    ping.nonce = 7;
    if (codec_encode_frame(fr, &w, &n) || codec_encode_frame(&pf, &pw, &pn))
        exit(1);
    buf = malloc(2 + n + pn);
    memcpy(buf, params, 2);
    memcpy(buf + 2, w, n);
    memcpy(buf + 2 + n, pw, pn);
    write_file("frame", name, buf, 2 + n + pn, NULL, 0);
    free(buf);
    free(w);
    free(pw);
}

static void frames(void)
{
    Enlace__Frame f = ENLACE__FRAME__INIT;
    Enlace__Hello hello = ENLACE__HELLO__INIT;
    hello.version = 1;
    hello.client_name = "enlace-cli/0.1";
    f.kind_case = ENLACE__FRAME__KIND_HELLO;
    f.hello = &hello;
    frame_seed("hello", &f);

    Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
    env.header = bytes(40);
    env.payload = bytes(60);
    env.signature = bytes(64);
    Enlace__Publish pub = ENLACE__PUBLISH__INIT;
    pub.correlation_id = 1;
    pub.envelope = &env;
    f.kind_case = ENLACE__FRAME__KIND_PUBLISH;
    f.publish = &pub;
    frame_seed("publish", &f);

    Enlace__Subscribe sub = ENLACE__SUBSCRIBE__INIT;
    sub.correlation_id = 2;
    sub.name = "alerts-mx";
    sub.filter = "alerts/+/MX";
    sub.start = ENLACE__START_MODE__START_FROM_SEQ;
    sub.has_from_seq = 1;
    sub.from_seq = 10;
    f.kind_case = ENLACE__FRAME__KIND_SUBSCRIBE;
    f.subscribe = &sub;
    frame_seed("subscribe", &f);

    Enlace__Deliver del = ENLACE__DELIVER__INIT;
    del.subscription_id = 1;
    del.seq = 11;
    del.envelope = &env;
    del.logged_at_ms = 1700000000000ull;
    f.kind_case = ENLACE__FRAME__KIND_DELIVER;
    f.deliver = &del;
    frame_seed("deliver", &f);

    Enlace__DirectoryEntry e1 = ENLACE__DIRECTORY_ENTRY__INIT, e2 = ENLACE__DIRECTORY_ENTRY__INIT;
    Enlace__DirectoryEntry *ents[2] = {&e1, &e2};
    e1.agency_id = "MX.FGR";
    e1.role = ENLACE__ROLE__ROLE_AGENCY;
    e1.has_certificate = 1;
    e1.certificate = bytes(50);
    e2.agency_id = "EU.EDPS";
    e2.role = ENLACE__ROLE__ROLE_AUDITOR;
    Enlace__Directory dir = ENLACE__DIRECTORY__INIT;
    dir.entries = ents;
    dir.n_entries = 2;
    f.kind_case = ENLACE__FRAME__KIND_DIRECTORY;
    f.directory = &dir;
    frame_seed("directory", &f);

    ProtobufCBinaryData proof[2] = {bytes(32), bytes(32)};
    Enlace__Receipt rc = ENLACE__RECEIPT__INIT;
    rc.seq = 3;
    rc.tree_size = 4;
    rc.record = bytes(30);
    rc.proof = proof;
    rc.n_proof = 2;
    rc.checkpoint = "log\n4\nAAAA\n\n\xe2\x80\x94 log AAAA\n";
    f.kind_case = ENLACE__FRAME__KIND_RECEIPT;
    f.receipt = &rc;
    frame_seed("receipt", &f);

    Enlace__Error err = ENLACE__ERROR__INIT;
    err.code = ENLACE__ERROR_CODE__ERROR_MALFORMED;
    err.text = "bad frame";
    f.kind_case = ENLACE__FRAME__KIND_ERROR;
    f.error = &err;
    frame_seed("error", &f);
}

static void pack_seed(const char *sub, const char *name, const ProtobufCMessage *m)
{
    uint8_t *buf;
    size_t n;
    if (codec_pack(m, &buf, &n))
        exit(1);
    write_file(sub, name, buf, n, NULL, 0);
    free(buf);
}

static void headers_and_records(void)
{
    static char *recips[] = {"US.FBI", "CO.DIJIN"};
    Enlace__Header h = ENLACE__HEADER__INIT;
    h.message_id = bytes(16);
    h.sender = "MX.FGR";
    h.topic = "alerts/trafficking/MX";
    h.recipients = recips;
    h.n_recipients = 2;
    h.created_at_ms = 1700000000000ull;
    h.message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_NOTICE;
    h.has_notice_kind = 1;
    h.notice_kind = ENLACE__NOTICE_KIND__NOTICE_KIND_RED;
    h.case_ref = "FGR/2024/1";
    h.tlp = ENLACE__TLP__TLP_RED;
    h.has_handling = 1;
    h.handling = ENLACE__HANDLING__HANDLING_H1;
    h.language = "es-MX";
    h.content_type = "text/plain";
    h.payload_sha256 = bytes(32);
    h.signer_cert_sha256 = bytes(32);
    pack_seed("header", "full", &h.base);
    h.n_recipients = 0;
    h.case_ref = h.language = h.content_type = NULL;
    h.has_notice_kind = h.has_handling = 0;
    pack_seed("header", "minimal", &h.base);

    Enlace__Record r = ENLACE__RECORD__INIT;
    r.seq = 100;
    r.time_ms = 1700000000000ull;
    Enlace__SessionOpened so = ENLACE__SESSION_OPENED__INIT;
    so.agency_id = "MX.FGR";
    so.cert_sha256 = bytes(32);
    so.peer_address = "192.0.2.1:4000";
    r.kind_case = ENLACE__RECORD__KIND_SESSION_OPENED;
    r.session_opened = &so;
    pack_seed("record", "session_opened", &r.base);

    Enlace__Envelope env = ENLACE__ENVELOPE__INIT;
    env.header = bytes(40);
    env.payload = bytes(60);
    env.signature = bytes(64);
    Enlace__Published pub = ENLACE__PUBLISHED__INIT;
    pub.envelope = &env;
    pub.has_cert_record_seq = 1;
    pub.cert_record_seq = 5;
    r.kind_case = ENLACE__RECORD__KIND_PUBLISHED;
    r.published = &pub;
    pack_seed("record", "published", &r.base);

    uint64_t seqs[3] = {7, 8, 9};
    Enlace__Delivered d = ENLACE__DELIVERED__INIT;
    d.recipient = "US.FBI";
    d.subscription = "alerts-mx";
    d.message_seqs = seqs;
    d.n_message_seqs = 3;
    r.kind_case = ENLACE__RECORD__KIND_DELIVERED;
    r.delivered = &d;
    pack_seed("record", "delivered", &r.base);

    Enlace__Denied den = ENLACE__DENIED__INIT;
    den.operation = "publish";
    den.code = ENLACE__ERROR_CODE__ERROR_TLP_VIOLATION;
    den.reason = "no label";
    den.topic = "alerts/x";
    r.kind_case = ENLACE__RECORD__KIND_DENIED;
    r.denied = &den;
    pack_seed("record", "denied", &r.base);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR (with frame/ header/ record/)\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    for (size_t i = 0; i < sizeof(fill); i++)
        fill[i] = (uint8_t)(i * 37 + 11);
    frames();
    headers_and_records();
    return 0;
}
