/* directory — the broker's agency directory, verified by the client (enlace.h, conn.h).
 *
 * A sender encrypts to the certificates the broker lists, so a broker that lied could
 * make a sender encrypt to a key of its choosing. Each certificate is therefore checked
 * against the client's own CA bundle (chain, EKU clientAuth, CRL when configured) and
 * must carry the agency id of its entry; refused entries are never encrypted to.
 * Listings are cached per topic for CONN_DIR_TTL_MS for publishes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>

#include "cert.h"
#include "conn.h"
#include "topic.h"

/* One verified (or refused) directory entry. */
typedef struct {
    char agency[ENLACE_AGENCY_ID_BUF]; /* agency id as listed */
    enlace_role_t role;                /* role as listed */
    enlace_err_t status;               /* OK, NOT_FOUND (no certificate) or BAD_CERT */
    char why[320];                     /* reason of a refusal */
    bool has_fp;                       /* fp is valid */
    uint8_t fp[32];                    /* SHA-256 of the DER listed */
    int64_t not_after;                 /* notAfter, Unix seconds (0: unknown) */
    X509 *cert;                        /* verified certificate, NULL unless status OK */
} dir_entry_t;

struct enlace_directory {
    dir_entry_t *entries; /* n entries in the broker's order */
    size_t n;
};

void enlace_directory_free(enlace_directory_t **dir)
{
    if (dir == NULL || *dir == NULL)
        return;
    for (size_t i = 0; i < (*dir)->n; i++)
        X509_free((*dir)->entries[i].cert);
    free((*dir)->entries);
    free(*dir);
    *dir = NULL;
}

/* Check one listed certificate; fills e->status/why/fp/not_after/cert. */
static void verify_entry(enlace_conn_t *conn, const Enlace__DirectoryEntry *in, dir_entry_t *e)
{
    char why[256], id[ENLACE_AGENCY_ID_BUF];
    X509 *c = cert_from_der(in->certificate.data, in->certificate.len);
    e->status = ENLACE_ERR_BAD_CERT;
    if (c == NULL) {
        snprintf(e->why, sizeof e->why, "certificate does not parse");
        return;
    }
    if (cert_sha256(c, e->fp) == ENLACE_OK)
        e->has_fp = true;
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(c), &tm) == 1)
        e->not_after = (int64_t)timegm(&tm);
    if (cert_verify(conn->trust, c, NULL, true, why, sizeof why) != ENLACE_OK) {
        snprintf(e->why, sizeof e->why, "not trusted: %s", why);
    } else if (cert_agency_id(c, id, sizeof id) != ENLACE_OK) {
        snprintf(e->why, sizeof e->why, "certificate names no agency id");
    } else if (strcmp(id, e->agency) != 0) {
        snprintf(e->why, sizeof e->why, "certificate belongs to %s, not %s", id, e->agency);
    } else {
        e->status = ENLACE_OK;
        e->cert = c;
        c = NULL;
    }
    X509_free(c);
}

static enlace_err_t dir_fetch(enlace_conn_t *conn, const char *topic, int64_t deadline,
                              enlace_directory_t **out)
{
    *out = NULL;
    if (topic != NULL && !topic_name_valid(topic))
        return conn_fail(conn, ENLACE_ERR_INVALID, "'%s' is not a valid topic", topic);
    Enlace__DirectoryRequest req = ENLACE__DIRECTORY_REQUEST__INIT;
    Enlace__Frame f = ENLACE__FRAME__INIT;
    req.correlation_id = conn_next_corr(conn);
    req.topic = (char *)topic;
    f.kind_case = ENLACE__FRAME__KIND_DIRECTORY_REQUEST;
    f.directory_request = &req;
    Enlace__Frame *reply = NULL;
    enlace_err_t rc = conn_send(conn, &f, deadline);
    if (rc == ENLACE_OK)
        rc = conn_wait_reply(conn, req.correlation_id, ENLACE__FRAME__KIND_DIRECTORY, deadline,
                             &reply);
    if (rc != ENLACE_OK)
        return rc;
    const Enlace__Directory *d = reply->directory;
    enlace_directory_t *dir = calloc(1, sizeof *dir);
    if (dir == NULL ||
        (d->n_entries > 0 && (dir->entries = calloc(d->n_entries, sizeof *dir->entries)) == NULL)) {
        free(dir);
        codec_free((ProtobufCMessage **)&reply);
        return conn_fail(conn, ENLACE_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < d->n_entries; i++) {
        const Enlace__DirectoryEntry *in = d->entries[i];
        dir_entry_t *e = &dir->entries[dir->n++];
        snprintf(e->agency, sizeof e->agency, "%s", in->agency_id); /* validated: <= 64 */
        e->role = (enlace_role_t)in->role;
        if (!in->has_certificate || in->certificate.len == 0) {
            e->status = ENLACE_ERR_NOT_FOUND;
            snprintf(e->why, sizeof e->why, "no certificate known to the broker");
        } else {
            verify_entry(conn, in, e);
        }
    }
    codec_free((ProtobufCMessage **)&reply);
    *out = dir;
    return ENLACE_OK;
}

enlace_err_t enlace_directory(enlace_conn_t *conn, const char *topic, enlace_directory_t **out)
{
    if (conn == NULL || out == NULL)
        return ENLACE_ERR_INVALID;
    conn_clear_error(conn);
    return dir_fetch(conn, topic, conn_deadline(conn, -1), out);
}

static bool same_topic(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

enlace_err_t dir_cached(enlace_conn_t *conn, const char *topic, bool fresh, int64_t deadline,
                        const enlace_directory_t **out)
{
    int64_t now = transport_now_ms();
    conn_dir_t *slot = NULL;
    for (size_t i = 0; i < CONN_DIR_CACHE; i++) {
        conn_dir_t *d = &conn->dirs[i];
        if (d->used && same_topic(d->topic, topic)) {
            if (!fresh && now - d->fetched_ms < CONN_DIR_TTL_MS) {
                *out = d->dir;
                return ENLACE_OK;
            }
            slot = d;
            break;
        }
    }
    for (size_t i = 0; slot == NULL && i < CONN_DIR_CACHE; i++)
        if (!conn->dirs[i].used)
            slot = &conn->dirs[i];
    if (slot == NULL) { /* evict the oldest listing */
        slot = &conn->dirs[0];
        for (size_t j = 1; j < CONN_DIR_CACHE; j++)
            if (conn->dirs[j].fetched_ms < slot->fetched_ms)
                slot = &conn->dirs[j];
    }
    enlace_directory_t *dir = NULL;
    char *copy = NULL;
    if (topic != NULL && (copy = strdup(topic)) == NULL)
        return conn_fail(conn, ENLACE_ERR_NOMEM, "out of memory");
    enlace_err_t rc = dir_fetch(conn, topic, deadline, &dir);
    if (rc != ENLACE_OK) {
        free(copy);
        return rc;
    }
    enlace_directory_free(&slot->dir);
    free(slot->topic);
    slot->used = true;
    slot->topic = copy;
    slot->dir = dir;
    slot->fetched_ms = now;
    *out = dir;
    return ENLACE_OK;
}

void dir_cache_clear(enlace_conn_t *conn)
{
    for (size_t i = 0; i < CONN_DIR_CACHE; i++) {
        enlace_directory_free(&conn->dirs[i].dir);
        free(conn->dirs[i].topic);
        memset(&conn->dirs[i], 0, sizeof conn->dirs[i]);
    }
}

X509 *dir_cert(const enlace_directory_t *dir, const char *agency, enlace_err_t *status)
{
    enlace_err_t st = ENLACE_ERR_NOT_FOUND;
    for (size_t i = 0; i < dir->n; i++) {
        const dir_entry_t *e = &dir->entries[i];
        if (strcmp(e->agency, agency) != 0)
            continue;
        if (e->status == ENLACE_OK) {
            *status = ENLACE_OK;
            return e->cert;
        }
        if (st == ENLACE_ERR_NOT_FOUND) /* keep looking: a later entry may be good */
            st = e->status;
    }
    *status = st;
    return NULL;
}

X509 *dir_cert_at(const enlace_directory_t *dir, size_t i)
{
    return i < dir->n && dir->entries[i].status == ENLACE_OK ? dir->entries[i].cert : NULL;
}

/* ---- public accessors ----------------------------------------------------------------- */

size_t enlace_directory_count(const enlace_directory_t *dir)
{
    return dir ? dir->n : 0;
}

const char *enlace_directory_agency(const enlace_directory_t *dir, size_t i)
{
    return dir && i < dir->n ? dir->entries[i].agency : "";
}

enlace_role_t enlace_directory_role(const enlace_directory_t *dir, size_t i)
{
    return dir && i < dir->n ? dir->entries[i].role : ENLACE_ROLE_UNSPECIFIED;
}

enlace_err_t enlace_directory_cert_status(const enlace_directory_t *dir, size_t i)
{
    return dir && i < dir->n ? dir->entries[i].status : ENLACE_ERR_NOT_FOUND;
}

const char *enlace_directory_cert_error(const enlace_directory_t *dir, size_t i)
{
    if (dir == NULL || i >= dir->n || dir->entries[i].status == ENLACE_OK)
        return "";
    return dir->entries[i].why;
}

bool enlace_directory_fingerprint(const enlace_directory_t *dir, size_t i, uint8_t out[32])
{
    if (dir == NULL || i >= dir->n || !dir->entries[i].has_fp)
        return false;
    memcpy(out, dir->entries[i].fp, 32);
    return true;
}

int64_t enlace_directory_not_after(const enlace_directory_t *dir, size_t i)
{
    return dir && i < dir->n ? dir->entries[i].not_after : 0;
}
