/* pinned — the auditor's pinned checkpoint key and the signed checkpoints of a log.
 *
 * An auditor pins the broker's Ed25519 checkpoint key out of band (--key): either a PEM
 * SubjectPublicKeyInfo file (e.g. checkpoint.pub) or a C2SP verifier key string
 * "<name>+<key id>+<base64>" (note_verifier_key in checkpoint.h). The key name under
 * which the broker signs is the log origin; it comes from --origin, from the verifier
 * key string, or else from the origin line of the first checkpoint read (safe: the key
 * id binds the name, so no one without the private key can sign under any name).
 *
 * pinned_load_checkpoints() reads every checkpoint of a log directory (each entry of
 * the `checkpoints` history, then the `checkpoint` file) and checks each signature and
 * body with checkpoint_open: the result list keeps refusals too, with their reason, so
 * `verify` can name the bad one. Used by verify, prove and consistency.
 */
#ifndef ENLACE_AUDIT_PINNED_H
#define ENLACE_AUDIT_PINNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enlace_err.h"

/* The pinned key. Fields owned by the struct (pinned_clear). */
typedef struct {
    char *name;      /* key name = log origin; NULL until known */
    uint8_t pub[32]; /* raw Ed25519 public key */
    bool loaded;     /* pub is set */
} pinned_key_t;

/* Load the key from `spec` (PEM SPKI file path, or a verifier key string when no such
 * file exists) and take `origin` (may be NULL) as its name.
 * Returns ENLACE_OK; ENLACE_ERR_NOT_FOUND (no such file and not a key string);
 * ENLACE_ERR_INVALID (not an Ed25519 key, bad origin, or an origin that differs from the
 * name in the key string); ENLACE_ERR_NOMEM. why gets a sentence. */
enlace_err_t pinned_load(const char *spec, const char *origin, pinned_key_t *key, char *why,
                         size_t why_len);

/* When key->name is still unknown, take the origin line of `note` (first line) as the
 * name. Returns ENLACE_OK, ENLACE_ERR_MALFORMED (no usable first line), ENLACE_ERR_NOMEM. */
enlace_err_t pinned_adopt_name(pinned_key_t *key, const char *note);

/* The verifier key string of the key (malloc'ed; NULL when out of memory or no name). */
char *pinned_vkey(const pinned_key_t *key);

/* Free the key's fields; safe twice. */
void pinned_clear(pinned_key_t *key);

/* Where a checkpoint came from. */
#define PINNED_FROM_HISTORY 0 /* entry `index` of the `checkpoints` file */
#define PINNED_FROM_LATEST 1  /* the `checkpoint` file */
#define PINNED_FROM_FILE 2    /* a file named on the command line */

/* One checkpoint as read and checked. */
typedef struct {
    int from;            /* PINNED_FROM_* */
    uint64_t index;      /* history entry number (from 0) */
    enlace_err_t status; /* ENLACE_OK: signature by the pinned key and body valid */
    char why[200];       /* reason when status is not OK */
    uint64_t size;       /* tree size (valid when status is OK) */
    uint8_t root[32];    /* root hash (valid when status is OK) */
    char *note;          /* the note text (owned) */
} pinned_cp_t;

/* A list of checkpoints: history entries in file order, then the latest file. */
typedef struct {
    pinned_cp_t *v; /* entries (owned) */
    size_t n;       /* number of entries */
} pinned_cps_t;

/* Check one note against the key (adopting the name first if needed) into *cp
 * (cp->note takes a copy). Returns cp->status, or ENLACE_ERR_NOMEM. */
enlace_err_t pinned_check_note(pinned_key_t *key, const char *note, int from, uint64_t index,
                               pinned_cp_t *cp);

/* Read and check every checkpoint of the log directory `dir` into *out (free with
 * pinned_cps_clear). Missing files give no entries. Signature and format refusals are
 * recorded per entry, not returned. Returns ENLACE_OK; ENLACE_ERR_NOT_FOUND (no such
 * directory); ENLACE_ERR_CORRUPT / ENLACE_ERR_IO (a checkpoint file cannot be read or
 * split: an oversized entry, a NUL byte) with why; ENLACE_ERR_NOMEM. */
enlace_err_t pinned_load_checkpoints(const char *dir, pinned_key_t *key, pinned_cps_t *out,
                                     char *why, size_t why_len);

/* "checkpoint #3 (size 250)", "latest checkpoint file (size 250)" ... into out. */
void pinned_cp_describe(const pinned_cp_t *cp, char *out, size_t out_len);

/* Free the list's entries; safe twice. */
void pinned_cps_clear(pinned_cps_t *cps);

#endif
