/* checkpoint — C2SP tlog-checkpoint + signed-note (see checkpoint.h). */
#include "checkpoint.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"

/* "— " : U+2014 EM DASH in UTF-8, then a space. Starts every signature line. */
static const char sig_prefix[] = "\xE2\x80\x94 ";
#define SIG_PREFIX_LEN 4
#define ED25519_SIG_LEN 64

/* ---- base64 (RFC 4648 section 4, padded, canonical) ----------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode n bytes into out (room for 4 * ceil(n / 3) + 1), NUL-terminated. */
static void b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= in[i + 2];
        }
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Decode exactly `len` characters of padded standard base64 into out[0..max).
 * Refuses a length not a multiple of 4, characters outside the alphabet, misplaced
 * padding and non-zero unused bits (so every byte string has one encoding).
 * Returns the decoded length or -1. */
static long b64_decode(const char *in, size_t len, uint8_t *out, size_t max)
{
    if (len == 0 || len % 4 != 0) {
        return -1;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            if (in[i + j] == '=' && last && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad > 0) {
                return -1; /* data after padding */
            }
            v[j] = b64_value(in[i + j]);
            if (v[j] < 0) {
                return -1;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if ((pad == 1 && (w & 0xFF) != 0) || (pad == 2 && (w & 0xFFFF) != 0)) {
            return -1; /* non-canonical unused bits */
        }
        int bytes = 3 - pad;
        if (o + (size_t)bytes > max) {
            return -1;
        }
        for (int j = 0; j < bytes; j++) {
            out[o++] = (uint8_t)(w >> (16 - 8 * j));
        }
    }
    return (long)o;
}

/* ---- text checks ------------------------------------------------------------------- */

/* Length of the UTF-8 sequence at s[0..n) and its code point, or 0 when invalid
 * (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        return 0;
    }
    *cp = v;
    return len;
}

/* True when s[0..n) is valid UTF-8 without control characters (C0, DEL, C1), allowing
 * newline only when allow_newline. */
static bool text_valid(const char *s, size_t n, bool allow_newline)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_next(p + i, n - i, &cp);
        if (len == 0) {
            return false;
        }
        if ((cp < 0x20 && !(cp == '\n' && allow_newline)) || (cp >= 0x7F && cp < 0xA0)) {
            return false;
        }
        i += len;
    }
    return true;
}

static bool is_unicode_space(uint32_t cp)
{
    return cp == ' ' || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* Key names: non-empty UTF-8 without spaces, '+' or control characters (signed-note). */
static bool name_valid(const char *s, size_t n)
{
    if (n == 0 || n > CHECKPOINT_MAX_NAME || !text_valid(s, n, false)) {
        return false;
    }
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t len = utf8_next(p + i, n - i, &cp);
        if (is_unicode_space(cp) || cp == '+') {
            return false;
        }
        i += len;
    }
    return true;
}

/* ---- keys -------------------------------------------------------------------------- */

enlace_err_t note_key_id(const char *name, const uint8_t pub[32], uint8_t id[4])
{
    size_t n = name ? strlen(name) : 0;
    if (!name_valid(name, n)) {
        return ENLACE_ERR_INVALID;
    }
    uint8_t buf[CHECKPOINT_MAX_NAME + 2 + 32];
    memcpy(buf, name, n);
    buf[n] = 0x0A;
    buf[n + 1] = NOTE_ALG_ED25519;
    memcpy(buf + n + 2, pub, 32);
    uint8_t digest[32];
    sha256(buf, n + 2 + 32, digest);
    memcpy(id, digest, 4);
    return ENLACE_OK;
}

enlace_err_t checkpoint_public_key(EVP_PKEY *key, uint8_t pub[32])
{
    size_t len = 32;
    if (key == NULL || !EVP_PKEY_is_a(key, "ED25519") ||
        EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 || len != 32) {
        return ENLACE_ERR_INVALID;
    }
    return ENLACE_OK;
}

enlace_err_t note_verifier_key(const char *name, const uint8_t pub[32], char **vkey)
{
    uint8_t id[4], raw[33];
    *vkey = NULL;
    if (note_key_id(name, pub, id) != ENLACE_OK) {
        return ENLACE_ERR_INVALID;
    }
    raw[0] = NOTE_ALG_ED25519;
    memcpy(raw + 1, pub, 32);
    char b64[48];
    b64_encode(raw, sizeof(raw), b64);
    size_t len = strlen(name) + 1 + 8 + 1 + strlen(b64) + 1;
    char *s = malloc(len);
    if (s == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    snprintf(s, len, "%s+%02x%02x%02x%02x+%s", name, id[0], id[1], id[2], id[3], b64);
    *vkey = s;
    return ENLACE_OK;
}

enlace_err_t note_parse_verifier_key(const char *vkey, char **name, uint8_t pub[32])
{
    *name = NULL;
    const char *p1 = vkey ? strchr(vkey, '+') : NULL;
    const char *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
    if (p2 == NULL || p2 - p1 != 9 || p1 - vkey > CHECKPOINT_MAX_NAME) {
        return ENLACE_ERR_MALFORMED;
    }
    size_t nlen = (size_t)(p1 - vkey);
    uint8_t want[4], raw[33], id[4];
    for (int i = 0; i < 4; i++) {
        unsigned v;
        char hex[3] = {p1[1 + 2 * i], p1[2 + 2 * i], 0};
        if (!strchr("0123456789abcdef", hex[0]) || !strchr("0123456789abcdef", hex[1]) ||
            sscanf(hex, "%2x", &v) != 1) {
            return ENLACE_ERR_MALFORMED;
        }
        want[i] = (uint8_t)v;
    }
    if (b64_decode(p2 + 1, strlen(p2 + 1), raw, sizeof(raw)) != 33 || raw[0] != NOTE_ALG_ED25519) {
        return ENLACE_ERR_MALFORMED;
    }
    char *n = strndup(vkey, nlen);
    if (n == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    if (note_key_id(n, raw + 1, id) != ENLACE_OK || CRYPTO_memcmp(id, want, 4) != 0) {
        free(n);
        return ENLACE_ERR_MALFORMED;
    }
    memcpy(pub, raw + 1, 32);
    *name = n;
    return ENLACE_OK;
}

/* ---- checkpoint body ---------------------------------------------------------------- */

enlace_err_t checkpoint_format(const char *origin, uint64_t size, const uint8_t root[32],
                               char **body)
{
    *body = NULL;
    size_t olen = origin ? strlen(origin) : 0;
    if (olen == 0 || olen > CHECKPOINT_MAX_NAME || !text_valid(origin, olen, false)) {
        return ENLACE_ERR_INVALID;
    }
    char b64[48];
    b64_encode(root, 32, b64);
    size_t len = olen + 1 + 20 + 1 + 44 + 1 + 1;
    char *s = malloc(len);
    if (s == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    snprintf(s, len, "%s\n%" PRIu64 "\n%s\n", origin, size, b64);
    *body = s;
    return ENLACE_OK;
}

enlace_err_t checkpoint_parse_body(const char *body, size_t len, char **origin, uint64_t *size,
                                   uint8_t root[32])
{
    /* Lines: origin, size, root, then optional non-empty extension lines. */
    const char *line[3];
    size_t line_len[3];
    size_t pos = 0;
    if (len == 0 || body[len - 1] != '\n' || !text_valid(body, len, true)) {
        return ENLACE_ERR_MALFORMED;
    }
    for (int i = 0; pos < len; i++) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        size_t l = (size_t)(nl - (body + pos));
        if (l == 0) {
            return ENLACE_ERR_MALFORMED; /* empty line inside a body */
        }
        if (i < 3) {
            line[i] = body + pos;
            line_len[i] = l;
        }
        pos += l + 1;
        if (pos >= len && i < 2) {
            return ENLACE_ERR_MALFORMED; /* fewer than three lines */
        }
    }
    /* Size: decimal digits, no leading zero, fits in 64 bits. */
    const char *s = line[1];
    size_t sl = line_len[1];
    if (sl > 20 || (sl > 1 && s[0] == '0')) {
        return ENLACE_ERR_MALFORMED;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < sl; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return ENLACE_ERR_MALFORMED;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return ENLACE_ERR_MALFORMED;
        }
        v = v * 10 + d;
    }
    uint8_t r[32];
    if (b64_decode(line[2], line_len[2], r, sizeof(r)) != 32) {
        return ENLACE_ERR_MALFORMED;
    }
    if (origin != NULL) {
        *origin = strndup(line[0], line_len[0]);
        if (*origin == NULL) {
            return ENLACE_ERR_NOMEM;
        }
    }
    *size = v;
    memcpy(root, r, 32);
    return ENLACE_OK;
}

/* ---- signed note ------------------------------------------------------------------- */

enlace_err_t checkpoint_sign(EVP_PKEY *ed25519_priv, const char *key_name, const char *body,
                             char **note)
{
    uint8_t pub[32], id[4], *sig = NULL;
    size_t sig_len = 0;
    char *out = NULL;
    enlace_err_t rc;
    *note = NULL;
    size_t blen = body ? strlen(body) : 0;
    if (checkpoint_public_key(ed25519_priv, pub) != ENLACE_OK ||
        note_key_id(key_name, pub, id) != ENLACE_OK || blen == 0 || body[blen - 1] != '\n' ||
        strstr(body, "\n\n") != NULL || body[0] == '\n' || blen > CHECKPOINT_MAX_NOTE ||
        !text_valid(body, blen, true)) {
        return ENLACE_ERR_INVALID;
    }
    rc = crypto_sign(ed25519_priv, (const uint8_t *)body, blen, &sig, &sig_len);
    if (rc != ENLACE_OK) {
        rc = rc == ENLACE_ERR_NOMEM ? rc : ENLACE_ERR_CRYPTO;
        goto done;
    }
    if (sig_len != ED25519_SIG_LEN) {
        rc = ENLACE_ERR_CRYPTO;
        goto done;
    }
    uint8_t raw[4 + ED25519_SIG_LEN];
    memcpy(raw, id, 4);
    memcpy(raw + 4, sig, ED25519_SIG_LEN);
    char b64[100];
    b64_encode(raw, sizeof(raw), b64);
    size_t len = blen + 1 + SIG_PREFIX_LEN + strlen(key_name) + 1 + strlen(b64) + 1 + 1;
    out = malloc(len);
    if (out == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto done;
    }
    snprintf(out, len, "%s\n%s%s %s\n", body, sig_prefix, key_name, b64);
    *note = out;
    out = NULL;
    rc = ENLACE_OK;
done:
    free(sig);
    free(out);
    return rc;
}

/* Verify one signature line's payload by the known key: raw = key id || signature. */
static bool sig_verifies(const uint8_t *pub, const uint8_t *raw, size_t raw_len, const char *body,
                         size_t body_len)
{
    if (raw_len != 4 + ED25519_SIG_LEN) {
        return false;
    }
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    if (key == NULL) {
        return false;
    }
    enlace_err_t rc = crypto_verify(key, (const uint8_t *)body, body_len, raw + 4, ED25519_SIG_LEN);
    EVP_PKEY_free(key);
    return rc == ENLACE_OK;
}

enlace_err_t note_verify(const char *note, const char *key_name, const uint8_t pub[32],
                         size_t *text_len, char *why, size_t why_len)
{
    uint8_t known_id[4];
    enlace_why(why, why_len, "ok");
    if (note_key_id(key_name, pub, known_id) != ENLACE_OK) {
        enlace_why(why, why_len, "invalid key name");
        return ENLACE_ERR_INVALID;
    }
    size_t len = note ? strnlen(note, CHECKPOINT_MAX_NOTE + 1) : 0;
    if (len > CHECKPOINT_MAX_NOTE) {
        enlace_why(why, why_len, "note longer than %d bytes", CHECKPOINT_MAX_NOTE);
        return ENLACE_ERR_MALFORMED;
    }
    if (len == 0 || note[len - 1] != '\n' || !text_valid(note, len, true)) {
        enlace_why(why, why_len,
                   "note is not newline-terminated UTF-8 text without control characters");
        return ENLACE_ERR_MALFORMED;
    }
    /* The signature block starts after the last blank line. */
    const char *split = NULL;
    for (const char *p = note; (p = strstr(p, "\n\n")) != NULL; p++) {
        split = p;
    }
    if (split == NULL) {
        enlace_why(why, why_len, "no blank line before the signatures");
        return ENLACE_ERR_MALFORMED;
    }
    size_t body_len = (size_t)(split - note) + 1;
    const char *p = split + 2, *end = note + len;
    if (p == end) {
        enlace_why(why, why_len, "no signature lines");
        return ENLACE_ERR_MALFORMED;
    }
    int n_sigs = 0, n_known = 0;
    bool bad_known = false;
    enlace_err_t rc = ENLACE_ERR_MALFORMED;
    /* Signatures of unknown types may be long: decode into a buffer as big as the note. */
    uint8_t *raw = malloc(len);
    if (raw == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *sp;
        if (++n_sigs > CHECKPOINT_MAX_SIGS) {
            enlace_why(why, why_len, "more than %d signatures", CHECKPOINT_MAX_SIGS);
            goto done;
        }
        if ((size_t)(nl - p) < SIG_PREFIX_LEN || memcmp(p, sig_prefix, SIG_PREFIX_LEN) != 0) {
            enlace_why(why, why_len, "signature line %d does not start with an em dash", n_sigs);
            goto done;
        }
        const char *name = p + SIG_PREFIX_LEN;
        sp = memchr(name, ' ', (size_t)(nl - name));
        if (sp == NULL || !name_valid(name, (size_t)(sp - name))) {
            enlace_why(why, why_len, "signature line %d: bad key name", n_sigs);
            goto done;
        }
        long raw_len = b64_decode(sp + 1, (size_t)(nl - sp - 1), raw, len);
        if (raw_len < 5) {
            enlace_why(why, why_len, "signature line %d: bad base64 or too short", n_sigs);
            goto done;
        }
        bool known = (size_t)(sp - name) == strlen(key_name) &&
                     memcmp(name, key_name, (size_t)(sp - name)) == 0 &&
                     CRYPTO_memcmp(raw, known_id, 4) == 0;
        if (known) {
            if (++n_known > 1) {
                enlace_why(why, why_len, "key %s signed twice", key_name);
                goto done;
            }
            if (!sig_verifies(pub, raw, (size_t)raw_len, note, body_len)) {
                bad_known = true;
            }
        }
        p = nl + 1;
    }
    if (bad_known) {
        enlace_why(why, why_len, "signature by %s does not verify", key_name);
        rc = ENLACE_ERR_BAD_SIGNATURE;
        goto done;
    }
    if (n_known == 0) {
        enlace_why(why, why_len, "not signed by %s (key id %02x%02x%02x%02x)", key_name,
                   known_id[0], known_id[1], known_id[2], known_id[3]);
        rc = ENLACE_ERR_BAD_SIGNATURE;
        goto done;
    }
    *text_len = body_len;
    rc = ENLACE_OK;
done:
    free(raw);
    return rc;
}

enlace_err_t checkpoint_open_why(const char *note, const char *key_name, const uint8_t pub[32],
                                 char **origin, uint64_t *size, uint8_t root[32], char *why,
                                 size_t why_len)
{
    size_t body_len = 0;
    enlace_err_t rc = note_verify(note, key_name, pub, &body_len, why, why_len);
    if (rc != ENLACE_OK) {
        return rc;
    }
    rc = checkpoint_parse_body(note, body_len, origin, size, root);
    if (rc == ENLACE_ERR_MALFORMED) {
        enlace_why(why, why_len, "signed text is not a checkpoint (origin, size, base64 root)");
    }
    return rc;
}

enlace_err_t checkpoint_open(const char *note, const char *key_name, const uint8_t pub[32],
                             char **origin, uint64_t *size, uint8_t root[32])
{
    return checkpoint_open_why(note, key_name, pub, origin, size, root, NULL, 0);
}
