/* enlace_err — names of the error codes (see enlace_err.h). */
#include "enlace_err.h"

#include <stdarg.h>
#include <stdio.h>

const char *enlace_err_str(enlace_err_t err)
{
    switch (err) {
    case ENLACE_OK: return "OK";
    case ENLACE_ERR_NOMEM: return "NOMEM";
    case ENLACE_ERR_INVALID: return "INVALID";
    case ENLACE_ERR_MALFORMED: return "MALFORMED";
    case ENLACE_ERR_TOO_LARGE: return "TOO_LARGE";
    case ENLACE_ERR_TRUNCATED: return "TRUNCATED";
    case ENLACE_ERR_OVER_BUDGET: return "OVER_BUDGET";
    case ENLACE_ERR_IO: return "IO";
    case ENLACE_ERR_CRYPTO: return "CRYPTO";
    case ENLACE_ERR_BAD_SIGNATURE: return "BAD_SIGNATURE";
    case ENLACE_ERR_BAD_CERT: return "BAD_CERT";
    case ENLACE_ERR_HASH_MISMATCH: return "HASH_MISMATCH";
    case ENLACE_ERR_NOT_FOUND: return "NOT_FOUND";
    case ENLACE_ERR_EXISTS: return "EXISTS";
    case ENLACE_ERR_CORRUPT: return "CORRUPT";
    case ENLACE_ERR_ROLLBACK: return "ROLLBACK";
    case ENLACE_ERR_DENIED: return "DENIED";
    case ENLACE_ERR_TIMEOUT: return "TIMEOUT";
    case ENLACE_ERR_CLOSED: return "CLOSED";
    case ENLACE_ERR_PROTOCOL: return "PROTOCOL";
    case ENLACE_ERR_DECRYPT: return "DECRYPT";
    case ENLACE_ERR_AGAIN: return "AGAIN";
    }
    return "UNKNOWN";
}

void enlace_why(char *why, size_t why_len, const char *fmt, ...)
{
    if (why == NULL || why_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}
