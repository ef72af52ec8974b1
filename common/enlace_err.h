/* enlace_err — the one error enum of Enlace.
 *
 * Every public function of common/, the broker and libenlace that can fail
 * returns an enlace_err_t. ENLACE_OK is 0 so `if (rc)` reads as "failed".
 * enlace_err_str() gives a stable, human-readable name for logs and CLIs.
 */
#ifndef ENLACE_ERR_H
#define ENLACE_ERR_H

#include <stddef.h>

typedef enum {
    ENLACE_OK = 0,
    ENLACE_ERR_NOMEM,         /* allocation failed or a budget was exceeded */
    ENLACE_ERR_INVALID,       /* bad argument or bad configuration value */
    ENLACE_ERR_MALFORMED,     /* undecodable or invalid input from outside */
    ENLACE_ERR_TOO_LARGE,     /* a length above the configured maximum */
    ENLACE_ERR_TRUNCATED,     /* input ended inside a frame or record */
    ENLACE_ERR_OVER_BUDGET,   /* decoding would expand past its memory budget */
    ENLACE_ERR_IO,            /* read/write/fsync/open failed (see errno) */
    ENLACE_ERR_CRYPTO,        /* an OpenSSL operation failed */
    ENLACE_ERR_BAD_SIGNATURE, /* a signature did not verify */
    ENLACE_ERR_BAD_CERT,      /* certificate invalid, untrusted or unusable */
    ENLACE_ERR_HASH_MISMATCH, /* a digest or Merkle root did not match */
    ENLACE_ERR_NOT_FOUND,     /* no such record, message, file or key */
    ENLACE_ERR_EXISTS,        /* refusing to overwrite */
    ENLACE_ERR_CORRUPT,       /* stored data failed a check (CRC, sequence) */
    ENLACE_ERR_ROLLBACK,      /* log shorter than / inconsistent with a checkpoint */
    ENLACE_ERR_DENIED,        /* policy or broker refused the operation */
    ENLACE_ERR_TIMEOUT,       /* a deadline passed */
    ENLACE_ERR_CLOSED,        /* peer closed the connection */
    ENLACE_ERR_PROTOCOL,      /* peer broke the protocol */
    ENLACE_ERR_DECRYPT,       /* CMS decryption failed (not a recipient, tampered) */
    ENLACE_ERR_AGAIN,         /* would block; retry later */
} enlace_err_t;

/* Stable name of an error code, e.g. "BAD_SIGNATURE". Never NULL. */
const char *enlace_err_str(enlace_err_t err);

/* printf into a caller's `why` buffer (the reason text that goes with an error);
 * does nothing when why is NULL or why_len is 0. */
void enlace_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
