/* logwriter — write a realistic Enlace audit log with the common/ log library.
 *
 * Used by tests/integration/40-audit-verify.sh and tests/bench/bench_audit.sh to give
 * enlace-audit logs to check. Not an installed tool.
 *
 *   logwriter write --dir DIR --pki PKI [--records N] [--checkpoint-every K]
 *                   [--published-every M] [--segment-size BYTES] [--origin O]
 *                   [--manifest FILE] [--seed S] [--time-step MS] [--batch B]
 *                   [--forge-signature-at SEQ] [--expired-signer-at SEQ]
 *                   [--revoked-signer-at SEQ] [--no-fsync] [--hang]
 *       Append N records (default 300) to the log in DIR (created, or continued), with
 *       the broker's checkpoint key PKI/checkpoint.key: broker and session records,
 *       published records with real envelopes sealed and signed by the agencies of the
 *       test PKI (signer certificate inline the first time in this run, then referred
 *       to by cert_record_seq), delivered, denied and subscription records; a signed
 *       checkpoint every K records (default 50) and at the end. Every M-th record
 *       (default 3) is a publication. Times start now and grow by MS (default 1000) per
 *       record. --manifest appends one JSON line per record written (seq, time_ms,
 *       kind, agencies, topic, message id, delivered seqs) for the test to compute
 *       expected filter results independently. --forge-signature-at writes the
 *       publication at SEQ with one signature byte flipped (CRC and tree consistent);
 *       --expired-signer-at signs the publication at SEQ with PKI/bad/expired.crt,
 *       --revoked-signer-at with PKI/bad/revoked.crt (BR.PF, revoked in PKI/crl.pem).
 *       --hang leaves the log as a live writer has it, for a test to copy or SIGKILL:
 *       once the N records are written, wait for a prepared segment (log_prep.h), write
 *       one more record (so the writer is then on a prepared segment: its last segment
 *       ends in a zero tail), sign the checkpoint, print "hanging" and sleep; after 120 s
 *       exit without closing the log (as a crash would).
 *   logwriter sign --key KEY --origin O --size N --root BASE64
 *       Print a checkpoint note for (O, N, root) signed with the Ed25519 KEY.
 *   logwriter resign --key KEY --origin O
 *       Read a signed note on stdin and print its body signed with KEY instead.
 * Exit status: 0 success, 1 failure (message on stderr), 2 usage.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "checkpoint.h"
#include "codec.h"
#include "crypto.h"
#include "envelope.h"
#include "log_store.h"

#define N_AGENCIES 7

/* The test PKI's agencies: who publishes, on what. */
static const struct {
    const char *id;    /* agency id */
    const char *topic; /* topic it publishes on ("" = publishes nothing) */
} AGENCIES[N_AGENCIES] = {
    {"MX.FGR", "cases/MX/homicide"},
    {"US.FBI", "alerts/trafficking/US"},
    {"CO.DIJIN", "alerts/drugs/CO"},
    {"INTERPOL.NCB-MEX", "notices/red"},
    {"BR.PF", ""},
    {"GT.PNC", ""},
    {"EU.EDPS", ""},
};
#define N_PUBLISHERS 4

/* Per agency: certificate, key, DER, and where its certificate is in the log. */
typedef struct {
    X509 *cert;
    EVP_PKEY *key;
    uint8_t *der;
    size_t der_len;
    bool logged;       /* certificate carried by a record of this run */
    uint64_t cert_seq; /* that record */
} agency_t;

/* Generator state. */
typedef struct {
    log_store_t *log;
    agency_t ag[N_AGENCIES];
    agency_t expired; /* PKI/bad/expired.crt (US.FBI) */
    agency_t revoked; /* PKI/bad/revoked.crt (BR.PF, revoked in PKI/crl.pem) */
    FILE *manifest;
    uint64_t rng;
    uint64_t time_ms, step_ms;
    uint64_t *pub_seqs; /* published seqs of this run */
    size_t n_pub, cap_pub;
    uint64_t forge_at, expired_at, revoked_at; /* UINT64_MAX: none */
    uint64_t session;
    uint64_t next;           /* seq of the next record appended */
    uint64_t batch, pending; /* records per commit; appended but not committed */
} gen_t;

static uint64_t next_rand(gen_t *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return g->rng;
}

static int fail(const char *what)
{
    fprintf(stderr, "logwriter: %s\n", what);
    return 1;
}

static int load_agency(agency_t *a, const char *crt, const char *key)
{
    a->cert = cert_load_pem(crt);
    a->key = crypto_load_private_key(key);
    if (a->cert == NULL || a->key == NULL ||
        cert_to_der(a->cert, &a->der, &a->der_len) != ENLACE_OK) {
        fprintf(stderr, "logwriter: cannot load %s / %s\n", crt, key);
        return 1;
    }
    return 0;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
}

/* Append rec (seq and time filled in here). Returns 0 or 1. */
static int append(gen_t *g, Enlace__Record *rec, uint64_t *seq)
{
    rec->seq = g->next;
    rec->time_ms = g->time_ms;
    g->time_ms += g->step_ms;
    uint64_t s;
    char why[200];
    enlace_err_t rc = log_append(g->log, rec, &s, NULL);
    if (rc != ENLACE_OK) {
        snprintf(why, sizeof(why), "log_append: %s", enlace_err_str(rc));
        return fail(why);
    }
    g->next++;
    if (++g->pending >= g->batch) {
        g->pending = 0;
        if ((rc = log_commit(g->log)) != ENLACE_OK) {
            return fail("log_commit failed");
        }
    }
    if (seq) {
        *seq = s;
    }
    return 0;
}

static void manifest_begin(gen_t *g, const Enlace__Record *rec, const char *kind)
{
    if (g->manifest) {
        fprintf(g->manifest, "{\"seq\":%" PRIu64 ",\"time_ms\":%" PRIu64 ",\"kind\":\"%s\"",
                rec->seq, rec->time_ms, kind);
    }
}

static void manifest_end(gen_t *g)
{
    if (g->manifest) {
        fputs("}\n", g->manifest);
    }
}

static int write_session(gen_t *g, int a, bool open)
{
    Enlace__Record rec = ENLACE__RECORD__INIT;
    Enlace__SessionOpened so = ENLACE__SESSION_OPENED__INIT;
    Enlace__SessionClosed sc = ENLACE__SESSION_CLOSED__INIT;
    uint8_t fp[32];
    if (open) {
        cert_sha256(g->ag[a].cert, fp);
        so.session_id = ++g->session;
        so.agency_id = (char *)AGENCIES[a].id;
        so.cert_sha256 = (ProtobufCBinaryData){32, fp};
        so.peer_address = "192.0.2.10:40000";
        rec.kind_case = ENLACE__RECORD__KIND_SESSION_OPENED;
        rec.session_opened = &so;
    } else {
        sc.session_id = g->session;
        sc.agency_id = (char *)AGENCIES[a].id;
        sc.reason = "client goodbye";
        rec.kind_case = ENLACE__RECORD__KIND_SESSION_CLOSED;
        rec.session_closed = &sc;
    }
    if (append(g, &rec, NULL)) {
        return 1;
    }
    manifest_begin(g, &rec, open ? "session-opened" : "session-closed");
    if (g->manifest) {
        fprintf(g->manifest, ",\"agencies\":[\"%s\"]", AGENCIES[a].id);
    }
    manifest_end(g);
    return 0;
}

static int write_published(gen_t *g, uint64_t n)
{
    uint64_t seq_now = g->next;
    int a = (int)(n % N_PUBLISHERS);
    bool expired = seq_now == g->expired_at, revoked = seq_now == g->revoked_at;
    agency_t *signer = expired ? &g->expired : revoked ? &g->revoked : &g->ag[a];
    if (expired) {
        a = 1; /* US.FBI */
    } else if (revoked) {
        a = 4; /* BR.PF */
    }
    Enlace__Header hdr = ENLACE__HEADER__INIT;
    const char *recips[2];
    X509 *rcerts[3];
    size_t nr = 0, nc = 0;
    bool red = n % 2 == 1;
    hdr.sender = (char *)AGENCIES[a].id;
    hdr.topic = (char *)(revoked ? "alerts/trafficking/BR" : AGENCIES[a].topic);
    if (red) {
        /* TLP:RED to two named agencies (never the sender). */
        int r1 = (a + 1) % N_PUBLISHERS, r2 = 4 + (int)(n / 2 % 2); /* BR.PF or GT.PNC */
        recips[nr++] = AGENCIES[r1].id;
        recips[nr++] = AGENCIES[r2].id;
        rcerts[nc++] = g->ag[r1].cert;
        rcerts[nc++] = g->ag[r2].cert;
        hdr.tlp = ENLACE__TLP__TLP_RED;
        hdr.has_handling = true;
        hdr.handling = ENLACE__HANDLING__HANDLING_H2;
    } else {
        hdr.tlp = ENLACE__TLP__TLP_GREEN;
        rcerts[nc++] = g->ag[(a + 1) % N_PUBLISHERS].cert;
    }
    rcerts[nc++] = signer->cert;
    hdr.recipients = (char **)recips;
    hdr.n_recipients = nr;
    hdr.message_type = ENLACE__MESSAGE_TYPE__MESSAGE_TYPE_CASE_MESSAGE;
    char case_ref[32];
    snprintf(case_ref, sizeof(case_ref), "CASE-%" PRIu64, n % 7);
    hdr.case_ref = case_ref;
    hdr.language = "es-MX";
    hdr.content_type = "text/plain";
    char plain[128];
    int plen = snprintf(plain, sizeof(plain), "message %" PRIu64 " from %s", n, AGENCIES[a].id);
    Enlace__Envelope *env = NULL;
    enlace_err_t rc = envelope_seal(&hdr, (const uint8_t *)plain, (size_t)plen, rcerts, nc,
                                    signer->cert, signer->key, &env);
    if (rc != ENLACE_OK) {
        fprintf(stderr, "logwriter: envelope_seal: %s\n", enlace_err_str(rc));
        return 1;
    }
    uint8_t msgid[16];
    memcpy(msgid, hdr.message_id.data, 16);
    if (seq_now == g->forge_at) {
        env->signature.data[env->signature.len / 2] ^= 0x01;
    }
    Enlace__Record rec = ENLACE__RECORD__INIT;
    Enlace__Published pub = ENLACE__PUBLISHED__INIT;
    pub.session_id = g->session;
    pub.envelope = env;
    if (signer->logged) {
        pub.has_cert_record_seq = true;
        pub.cert_record_seq = signer->cert_seq;
    } else {
        pub.has_signer_cert = true;
        pub.signer_cert = (ProtobufCBinaryData){signer->der_len, signer->der};
    }
    rec.kind_case = ENLACE__RECORD__KIND_PUBLISHED;
    rec.published = &pub;
    uint64_t seq;
    int bad = append(g, &rec, &seq);
    envelope_free(&env);
    if (bad) {
        return 1;
    }
    if (!signer->logged) {
        signer->logged = true;
        signer->cert_seq = seq;
    }
    if (g->n_pub == g->cap_pub) {
        g->cap_pub = g->cap_pub ? g->cap_pub * 2 : 64;
        g->pub_seqs = realloc(g->pub_seqs, g->cap_pub * sizeof(*g->pub_seqs));
        if (g->pub_seqs == NULL) {
            return fail("out of memory");
        }
    }
    g->pub_seqs[g->n_pub++] = seq;
    if (g->manifest) {
        char id[33];
        hex(msgid, 16, id);
        manifest_begin(g, &rec, "published");
        fprintf(g->manifest,
                ",\"sender\":\"%s\",\"topic\":\"%s\",\"message_id\":\"%s\",\"recipients\":[",
                AGENCIES[a].id, hdr.topic, id);
        for (size_t i = 0; i < nr; i++) {
            fprintf(g->manifest, "%s\"%s\"", i ? "," : "", recips[i]);
        }
        fprintf(g->manifest, "],\"agencies\":[\"%s\"", AGENCIES[a].id);
        for (size_t i = 0; i < nr; i++) {
            fprintf(g->manifest, ",\"%s\"", recips[i]);
        }
        fputs("]", g->manifest);
        manifest_end(g);
    }
    return 0;
}

static int write_other(gen_t *g, uint64_t n)
{
    Enlace__Record rec = ENLACE__RECORD__INIT;
    Enlace__Delivered d = ENLACE__DELIVERED__INIT;
    Enlace__Denied den = ENLACE__DENIED__INIT;
    Enlace__SubscriptionChanged sc = ENLACE__SUBSCRIPTION_CHANGED__INIT;
    uint64_t seqs[3];
    int choice = (int)(next_rand(g) % 10);
    const char *agency;
    if (choice < 6 && g->n_pub > 0) {
        /* A delivery acknowledging 1..3 recent publications. */
        int r = (int)(next_rand(g) % 4) + 1; /* US.FBI, CO.DIJIN, INTERPOL, BR.PF */
        size_t k = 1 + next_rand(g) % 3;
        if (k > g->n_pub) {
            k = g->n_pub;
        }
        for (size_t i = 0; i < k; i++) {
            seqs[i] = g->pub_seqs[g->n_pub - k + i];
        }
        agency = AGENCIES[r].id;
        d.recipient = (char *)agency;
        d.subscription = "desk";
        d.message_seqs = seqs;
        d.n_message_seqs = k;
        rec.kind_case = ENLACE__RECORD__KIND_DELIVERED;
        rec.delivered = &d;
        if (append(g, &rec, NULL)) {
            return 1;
        }
        manifest_begin(g, &rec, "delivered");
        if (g->manifest) {
            fprintf(g->manifest, ",\"agencies\":[\"%s\"],\"seqs\":[", agency);
            for (size_t i = 0; i < k; i++) {
                fprintf(g->manifest, "%s%" PRIu64, i ? "," : "", seqs[i]);
            }
            fputs("]", g->manifest);
        }
        manifest_end(g);
        return 0;
    }
    if (choice < 9) {
        /* A refused publication by an agency that may not publish. */
        agency = AGENCIES[4 + (int)(n % 2)].id; /* BR.PF or GT.PNC */
        den.agency_id = (char *)agency;
        den.operation = "publish";
        den.code = ENLACE__ERROR_CODE__ERROR_NOT_AUTHORIZED;
        den.reason = "policy does not allow publishing on this topic";
        den.topic = "alerts/trafficking/BR";
        den.peer_address = "198.51.100.7:5555";
        rec.kind_case = ENLACE__RECORD__KIND_DENIED;
        rec.denied = &den;
        if (append(g, &rec, NULL)) {
            return 1;
        }
        manifest_begin(g, &rec, "denied");
        if (g->manifest) {
            fprintf(g->manifest, ",\"agencies\":[\"%s\"],\"topic\":\"%s\"", agency, den.topic);
        }
        manifest_end(g);
        return 0;
    }
    agency = AGENCIES[(int)(n % 4)].id;
    sc.agency_id = (char *)agency;
    sc.name = "desk";
    sc.filter = "alerts/#";
    sc.next_seq = g->next;
    rec.kind_case = ENLACE__RECORD__KIND_SUBSCRIPTION_CHANGED;
    rec.subscription_changed = &sc;
    if (append(g, &rec, NULL)) {
        return 1;
    }
    manifest_begin(g, &rec, "subscription-changed");
    if (g->manifest) {
        fprintf(g->manifest, ",\"agencies\":[\"%s\"],\"filter\":\"alerts/#\"", agency);
    }
    manifest_end(g);
    return 0;
}

static int write_started(gen_t *g)
{
    Enlace__Record rec = ENLACE__RECORD__INIT;
    Enlace__BrokerStarted bs = ENLACE__BROKER_STARTED__INIT;
    bs.version = "0.1.0-logwriter";
    bs.origin = "enlace.test/log";
    rec.kind_case = ENLACE__RECORD__KIND_BROKER_STARTED;
    rec.broker_started = &bs;
    if (append(g, &rec, NULL)) {
        return 1;
    }
    manifest_begin(g, &rec, "broker-started");
    manifest_end(g);
    return 0;
}

static int cmd_write(int argc, char **argv)
{
    const char *dir = NULL, *pki = NULL, *origin = "enlace.test/log", *manifest = NULL;
    uint64_t records = 300, every = 50, pub_every = 3, seg = 16384, seed = 1, batch = 1;
    bool no_fsync = false, hang = false;
    gen_t g;
    memset(&g, 0, sizeof(g));
    g.forge_at = g.expired_at = g.revoked_at = UINT64_MAX;
    g.step_ms = 1000;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--no-fsync") == 0) {
            no_fsync = true;
            continue;
        }
        if (strcmp(o, "--hang") == 0) {
            hang = true;
            continue;
        }
        if (v == NULL) {
            return 2;
        }
        i++;
        if (strcmp(o, "--dir") == 0)
            dir = v;
        else if (strcmp(o, "--pki") == 0)
            pki = v;
        else if (strcmp(o, "--origin") == 0)
            origin = v;
        else if (strcmp(o, "--manifest") == 0)
            manifest = v;
        else if (strcmp(o, "--records") == 0)
            records = strtoull(v, NULL, 10);
        else if (strcmp(o, "--checkpoint-every") == 0)
            every = strtoull(v, NULL, 10);
        else if (strcmp(o, "--published-every") == 0)
            pub_every = strtoull(v, NULL, 10);
        else if (strcmp(o, "--segment-size") == 0)
            seg = strtoull(v, NULL, 10);
        else if (strcmp(o, "--seed") == 0)
            seed = strtoull(v, NULL, 10);
        else if (strcmp(o, "--batch") == 0)
            batch = strtoull(v, NULL, 10);
        else if (strcmp(o, "--time-step") == 0)
            g.step_ms = strtoull(v, NULL, 10);
        else if (strcmp(o, "--forge-signature-at") == 0)
            g.forge_at = strtoull(v, NULL, 10);
        else if (strcmp(o, "--expired-signer-at") == 0)
            g.expired_at = strtoull(v, NULL, 10);
        else if (strcmp(o, "--revoked-signer-at") == 0)
            g.revoked_at = strtoull(v, NULL, 10);
        else
            return 2;
    }
    if (dir == NULL || pki == NULL || pub_every == 0 || every == 0) {
        return 2;
    }
    g.batch = batch ? batch : 1;
    char p1[4096], p2[4096];
    int status = 1;
    EVP_PKEY *ckey = NULL;
    snprintf(p1, sizeof(p1), "%s/checkpoint.key", pki);
    if ((ckey = crypto_load_private_key(p1)) == NULL) {
        fail("cannot load the checkpoint key");
        goto done;
    }
    for (int a = 0; a < N_AGENCIES; a++) {
        snprintf(p1, sizeof(p1), "%s/agencies/%s.crt", pki, AGENCIES[a].id);
        snprintf(p2, sizeof(p2), "%s/agencies/%s.key", pki, AGENCIES[a].id);
        if (load_agency(&g.ag[a], p1, p2)) {
            goto done;
        }
    }
    snprintf(p1, sizeof(p1), "%s/bad/expired.crt", pki);
    snprintf(p2, sizeof(p2), "%s/bad/expired.key", pki);
    if (g.expired_at != UINT64_MAX && load_agency(&g.expired, p1, p2)) {
        goto done;
    }
    snprintf(p1, sizeof(p1), "%s/bad/revoked.crt", pki);
    snprintf(p2, sizeof(p2), "%s/bad/revoked.key", pki);
    if (g.revoked_at != UINT64_MAX && load_agency(&g.revoked, p1, p2)) {
        goto done;
    }
    if (manifest && (g.manifest = fopen(manifest, "a")) == NULL) {
        fail("cannot open the manifest");
        goto done;
    }
    log_options_t opt = {.dir = dir,
                         .segment_size = seg,
                         .fsync = no_fsync ? LOG_FSYNC_NEVER : LOG_FSYNC_ALWAYS,
                         .origin = origin,
                         .checkpoint_key = ckey};
    char why[300];
    if (log_open(&opt, &g.log, why, sizeof(why)) != ENLACE_OK) {
        fprintf(stderr, "logwriter: log_open: %s\n", why);
        goto done;
    }
    uint64_t start = log_size(g.log);
    g.next = start;
    g.rng = seed * 0x9e3779b97f4a7c15ull + start + 1;
    g.time_ms = (uint64_t)time(NULL) * 1000 + start * g.step_ms;
    uint64_t n = 0;
    if (start == 0 && write_started(&g)) {
        goto done;
    }
    for (int a = 0; a < N_AGENCIES && g.next < start + records; a++) {
        if (write_session(&g, a, true)) {
            goto done;
        }
    }
    while (g.next < start + records) {
        uint64_t s = g.next;
        int rc;
        if (s == g.forge_at || s == g.expired_at || s == g.revoked_at || n % pub_every == 0) {
            rc = write_published(&g, n / pub_every);
        } else {
            rc = write_other(&g, n);
        }
        if (rc) {
            goto done;
        }
        n++;
        if (g.next % every == 0 &&
            (log_commit(g.log) != ENLACE_OK || log_checkpoint(g.log, false, NULL) != ENLACE_OK)) {
            fail("log_checkpoint failed");
            goto done;
        }
    }
    if (hang) {
        if (log_commit(g.log) != ENLACE_OK) {
            fail("log_commit failed");
            goto done;
        }
        for (int i = 0; i < 30000 && !log_prepared_ready(g.log); i++) {
            usleep(1000);
        }
        if (!log_prepared_ready(g.log) || write_other(&g, n)) {
            fail("no prepared segment to write into");
            goto done;
        }
    }
    if (log_commit(g.log) != ENLACE_OK || log_checkpoint(g.log, true, NULL) != ENLACE_OK) {
        fail("final log_checkpoint failed");
        goto done;
    }
    if (hang) {
        printf("hanging\n");
        fflush(stdout);
        sleep(120);
        _exit(0); /* no log_close: the zero tail stays */
    }
    status = 0;
done:
    log_close(&g.log);
    if (g.manifest) {
        fclose(g.manifest);
    }
    for (int a = 0; a < N_AGENCIES; a++) {
        X509_free(g.ag[a].cert);
        EVP_PKEY_free(g.ag[a].key);
        free(g.ag[a].der);
    }
    X509_free(g.expired.cert);
    EVP_PKEY_free(g.expired.key);
    free(g.expired.der);
    X509_free(g.revoked.cert);
    EVP_PKEY_free(g.revoked.key);
    free(g.revoked.der);
    free(g.pub_seqs);
    EVP_PKEY_free(ckey);
    return status;
}

static int cmd_sign(int argc, char **argv, bool resign)
{
    const char *keyfile = NULL, *origin = NULL, *root_b64 = NULL;
    uint64_t size = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--key") == 0)
            keyfile = argv[i + 1];
        else if (strcmp(argv[i], "--origin") == 0)
            origin = argv[i + 1];
        else if (strcmp(argv[i], "--size") == 0)
            size = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--root") == 0)
            root_b64 = argv[i + 1];
        else
            return 2;
    }
    if (keyfile == NULL || origin == NULL || (!resign && root_b64 == NULL)) {
        return 2;
    }
    EVP_PKEY *key = crypto_load_private_key(keyfile);
    if (key == NULL) {
        return fail("cannot load the key");
    }
    char *body = NULL, *note = NULL;
    int status = 1;
    if (resign) {
        static char in[CHECKPOINT_MAX_NOTE + 1];
        size_t n = fread(in, 1, sizeof(in) - 1, stdin);
        in[n] = '\0';
        char *blank = strstr(in, "\n\n");
        if (blank == NULL) {
            fail("no signed note on stdin");
            goto done;
        }
        blank[1] = '\0';
        body = strdup(in);
    } else {
        uint8_t root[33];
        if (EVP_DecodeBlock(root, (const unsigned char *)root_b64, (int)strlen(root_b64)) < 32) {
            fail("bad root");
            goto done;
        }
        if (checkpoint_format(origin, size, root, &body) != ENLACE_OK) {
            fail("checkpoint_format failed");
            goto done;
        }
    }
    if (body == NULL || checkpoint_sign(key, origin, body, &note) != ENLACE_OK) {
        fail("checkpoint_sign failed");
        goto done;
    }
    fputs(note, stdout);
    status = 0;
done:
    free(body);
    free(note);
    EVP_PKEY_free(key);
    return status;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc >= 2 && strcmp(argv[1], "write") == 0) {
        rc = cmd_write(argc, argv);
    } else if (argc >= 2 && strcmp(argv[1], "sign") == 0) {
        rc = cmd_sign(argc, argv, false);
    } else if (argc >= 2 && strcmp(argv[1], "resign") == 0) {
        rc = cmd_sign(argc, argv, true);
    }
    if (rc == 2) {
        fprintf(stderr, "usage: logwriter write|sign|resign [options] (see logwriter.c)\n");
    }
    return rc;
}
