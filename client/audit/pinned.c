/* pinned — pinned checkpoint key and a log's checkpoints (see pinned.h). */
#include "pinned.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "audit_util.h"
#include "checkpoint.h"
#include "crypto.h"
#include "log_history.h"

enlace_err_t pinned_load(const char *spec, const char *origin, pinned_key_t *key, char *why,
                         size_t why_len)
{
    memset(key, 0, sizeof(*key));
    struct stat st;
    if (spec == NULL) {
        enlace_why(why, why_len, "no checkpoint key given (--key)");
        return ENLACE_ERR_INVALID;
    }
    if (stat(spec, &st) == 0) {
        EVP_PKEY *pk = crypto_load_public_key(spec);
        enlace_err_t rc = pk ? checkpoint_public_key(pk, key->pub) : ENLACE_ERR_INVALID;
        EVP_PKEY_free(pk);
        if (rc != ENLACE_OK) {
            enlace_why(why, why_len, "%s: not a PEM Ed25519 public key (BEGIN PUBLIC KEY)", spec);
            return ENLACE_ERR_INVALID;
        }
    } else if (strchr(spec, '+') != NULL) {
        /* A verifier key string: name+keyid+base64(0x01 || key). */
        enlace_err_t rc = note_parse_verifier_key(spec, &key->name, key->pub);
        if (rc != ENLACE_OK) {
            enlace_why(why, why_len, "%s: not a readable file nor a valid verifier key string",
                       spec);
            return rc == ENLACE_ERR_NOMEM ? rc : ENLACE_ERR_INVALID;
        }
    } else {
        enlace_why(why, why_len, "%s: %s", spec, strerror(errno));
        return ENLACE_ERR_NOT_FOUND;
    }
    key->loaded = true;
    if (origin != NULL) {
        uint8_t id[4];
        if (note_key_id(origin, key->pub, id) != ENLACE_OK) {
            enlace_why(why, why_len, "origin \"%s\" is not a valid key name", origin);
            pinned_clear(key);
            return ENLACE_ERR_INVALID;
        }
        if (key->name != NULL && strcmp(key->name, origin) != 0) {
            enlace_why(why, why_len, "--origin %s differs from the key string's name %s", origin,
                       key->name);
            pinned_clear(key);
            return ENLACE_ERR_INVALID;
        }
        if (key->name == NULL && (key->name = strdup(origin)) == NULL) {
            pinned_clear(key);
            return ENLACE_ERR_NOMEM;
        }
    }
    return ENLACE_OK;
}

enlace_err_t pinned_adopt_name(pinned_key_t *key, const char *note)
{
    if (key->name != NULL) {
        return ENLACE_OK;
    }
    const char *nl = strchr(note, '\n');
    size_t n = nl ? (size_t)(nl - note) : 0;
    if (n == 0 || n > CHECKPOINT_MAX_NAME) {
        return ENLACE_ERR_MALFORMED;
    }
    char *name = strndup(note, n);
    if (name == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    uint8_t id[4];
    if (note_key_id(name, key->pub, id) != ENLACE_OK) {
        free(name);
        return ENLACE_ERR_MALFORMED;
    }
    key->name = name;
    return ENLACE_OK;
}

char *pinned_vkey(const pinned_key_t *key)
{
    char *v = NULL;
    if (key->name == NULL || note_verifier_key(key->name, key->pub, &v) != ENLACE_OK) {
        return NULL;
    }
    return v;
}

void pinned_clear(pinned_key_t *key)
{
    free(key->name);
    memset(key, 0, sizeof(*key));
}

enlace_err_t pinned_check_note(pinned_key_t *key, const char *note, int from, uint64_t index,
                               pinned_cp_t *cp)
{
    memset(cp, 0, sizeof(*cp));
    cp->from = from;
    cp->index = index;
    if ((cp->note = strdup(note)) == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    enlace_err_t rc = pinned_adopt_name(key, note);
    if (rc == ENLACE_ERR_NOMEM) {
        return rc;
    }
    if (rc != ENLACE_OK) {
        cp->status = ENLACE_ERR_MALFORMED;
        enlace_why(cp->why, sizeof(cp->why), "note has no usable origin line to name the key");
        return cp->status;
    }
    char *origin = NULL;
    char reason[160] = "";
    rc = checkpoint_open_why(note, key->name, key->pub, &origin, &cp->size, cp->root, reason,
                             sizeof(reason));
    if (rc == ENLACE_ERR_NOMEM) {
        return rc;
    }
    if (rc != ENLACE_OK) {
        cp->status = rc;
        enlace_why(cp->why, sizeof(cp->why), "%s (pinned key %s)",
                   reason[0] ? reason : enlace_err_str(rc), key->name);
        return rc;
    }
    /* The broker signs with the key name equal to the origin; a note about another log
     * signed by the same key must not pass as a checkpoint of this one. */
    if (strcmp(origin, key->name) != 0) {
        cp->status = ENLACE_ERR_MALFORMED;
        enlace_why(cp->why, sizeof(cp->why),
                   "checkpoint origin \"%.80s\" is not the key name \"%.80s\"", origin, key->name);
    }
    free(origin);
    return cp->status;
}

/* Grow the list by one zeroed entry. */
static pinned_cp_t *push(pinned_cps_t *cps)
{
    pinned_cp_t *v = realloc(cps->v, (cps->n + 1) * sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    cps->v = v;
    memset(&v[cps->n], 0, sizeof(*v));
    return &v[cps->n++];
}

/* State of pinned_load_checkpoints's history walk. */
typedef struct {
    pinned_key_t *key; /* the pinned key */
    pinned_cps_t *cps; /* list being filled */
} walk_t;

static enlace_err_t on_entry(const char *note, uint64_t index, void *user)
{
    walk_t *w = user;
    pinned_cp_t *cp = push(w->cps);
    if (cp == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    enlace_err_t rc = pinned_check_note(w->key, note, PINNED_FROM_HISTORY, index, cp);
    return rc == ENLACE_ERR_NOMEM ? rc : ENLACE_OK;
}

enlace_err_t pinned_load_checkpoints(const char *dir, pinned_key_t *key, pinned_cps_t *out,
                                     char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    walk_t w = {.key = key, .cps = out};
    enlace_err_t rc = log_history_each_path(dir, on_entry, &w);
    if (rc != ENLACE_OK) {
        enlace_why(why, why_len, "%s/%s: %s", dir, LOG_HISTORY_FILE,
                   rc == ENLACE_ERR_CORRUPT ? "an entry is oversized or holds a NUL byte"
                                            : enlace_err_str(rc));
        goto fail;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, LOG_CHECKPOINT_FILE);
    char *note = NULL;
    size_t len = 0;
    rc = audit_read_file(path, CHECKPOINT_MAX_NOTE, &note, &len);
    if (rc == ENLACE_ERR_NOT_FOUND) {
        return ENLACE_OK;
    }
    if (rc != ENLACE_OK) {
        enlace_why(why, why_len, "%s: %s", path,
                   rc == ENLACE_ERR_TOO_LARGE ? "larger than any checkpoint" : enlace_err_str(rc));
        rc = rc == ENLACE_ERR_TOO_LARGE ? ENLACE_ERR_CORRUPT : rc;
        goto fail;
    }
    pinned_cp_t *cp = push(out);
    if (cp == NULL) {
        free(note);
        rc = ENLACE_ERR_NOMEM;
        goto fail;
    }
    if (strlen(note) != len) {
        /* A NUL byte: C string functions would see a shorter note than the file. */
        cp->from = PINNED_FROM_LATEST;
        cp->status = ENLACE_ERR_MALFORMED;
        snprintf(cp->why, sizeof(cp->why), "file holds a NUL byte");
        cp->note = note;
        return ENLACE_OK;
    }
    rc = pinned_check_note(key, note, PINNED_FROM_LATEST, 0, cp);
    free(note);
    return rc == ENLACE_ERR_NOMEM ? rc : ENLACE_OK;
fail:
    pinned_cps_clear(out);
    return rc;
}

void pinned_cp_describe(const pinned_cp_t *cp, char *out, size_t out_len)
{
    char size[48] = "";
    if (cp->status == ENLACE_OK) {
        snprintf(size, sizeof(size), " (size %" PRIu64 ")", cp->size);
    }
    switch (cp->from) {
    case PINNED_FROM_HISTORY:
        snprintf(out, out_len, "checkpoint #%" PRIu64 "%s", cp->index, size);
        break;
    case PINNED_FROM_LATEST: snprintf(out, out_len, "latest checkpoint file%s", size); break;
    default: snprintf(out, out_len, "checkpoint%s", size); break;
    }
}

void pinned_cps_clear(pinned_cps_t *cps)
{
    for (size_t i = 0; i < cps->n; i++) {
        free(cps->v[i].note);
    }
    free(cps->v);
    cps->v = NULL;
    cps->n = 0;
}
