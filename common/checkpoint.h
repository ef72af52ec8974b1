/* checkpoint — C2SP tlog-checkpoint bodies signed as C2SP signed notes (Ed25519).
 *
 * A checkpoint commits the broker to the first `size` records of its audit log
 * (DESIGN.md section 7). The body (https://c2sp.org/tlog-checkpoint) is three lines,
 * each ending in a newline:
 *     <origin>                   e.g. "enlace.example.org/audit"
 *     <tree size, decimal>       no sign, no leading zeros ("0" for the empty tree)
 *     <root hash, base64>        standard alphabet with padding, 32 bytes
 * followed by optional extension lines (accepted when parsing, never written here).
 * The signed note (https://c2sp.org/signed-note) appends a blank line and one line
 *     "— <key name> <base64(key id[4] || Ed25519 signature[64])>"
 * per signature ("—" is U+2014, em dash). The signature covers the body including its
 * final newline. Key id = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key),
 * 0x01 being the Ed25519 signature type. The Enlace broker signs with the key name equal
 * to the log origin. Example, with the published vector of the Go sumdb/note package:
 *     If you think cryptography is the answer to your problem,
 *     then you don't know what your problem is.
 *
 *     — PeterNeumann
 * x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=
 *
 * Parsing (checkpoint_open) treats the note as untrusted: at most CHECKPOINT_MAX_NOTE
 * bytes, valid UTF-8 with no control character but newline, every signature line well
 * formed, at most CHECKPOINT_MAX_SIGS of them. Signatures by unknown keys (other name or
 * key id) are ignored; a bad signature by the known key, the known key signing twice or
 * no signature by the known key is a refusal. Functions are thread safe.
 *
 * Related: merkle.h (the root), log_store.h (writes and checks the checkpoint files).
 */
#ifndef ENLACE_CHECKPOINT_H
#define ENLACE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "enlace_err.h"

/* Largest note accepted by checkpoint_open, in bytes. */
#define CHECKPOINT_MAX_NOTE 65536
/* Most signature lines accepted in one note (the Go reference uses the same bound). */
#define CHECKPOINT_MAX_SIGS 100
/* Longest origin or key name accepted for signing, in bytes. */
#define CHECKPOINT_MAX_NAME 255
/* Signature type byte of Ed25519 in key ids and verifier keys. */
#define NOTE_ALG_ED25519 0x01

/* Format the checkpoint body for origin/size/root into *body (malloc'ed, caller frees).
 * Returns ENLACE_OK; ENLACE_ERR_INVALID when origin is empty, longer than
 * CHECKPOINT_MAX_NAME, not valid UTF-8 or contains a control character;
 * ENLACE_ERR_NOMEM. *body is NULL on error. */
enlace_err_t checkpoint_format(const char *origin, uint64_t size, const uint8_t root[32],
                               char **body);

/* Sign `body` with the Ed25519 private key as `key_name` and return the signed note in
 * *note (malloc'ed, caller frees): body, "\n", one signature line.
 * body must be valid note text: non-empty, valid UTF-8, ending in a newline, without
 * control characters but newline and without an empty line.
 * Returns ENLACE_OK; ENLACE_ERR_INVALID (not an Ed25519 key, bad key name or body);
 * ENLACE_ERR_CRYPTO (signing failed, e.g. a public-only key); ENLACE_ERR_NOMEM. */
enlace_err_t checkpoint_sign(EVP_PKEY *ed25519_priv, const char *key_name, const char *body,
                             char **note);

/* Parse the untrusted signed note `note` (NUL-terminated), require a valid signature by
 * the key (key_name, pub) and parse its body as a checkpoint.
 * On success *origin (malloc'ed, caller frees; pass NULL if not wanted), *size and root
 * are set. Returns ENLACE_OK; ENLACE_ERR_MALFORMED (anything ill-formed, including a note
 * longer than CHECKPOINT_MAX_NOTE or a body that is not a checkpoint);
 * ENLACE_ERR_BAD_SIGNATURE (no signature by the known key, or one that does not verify);
 * ENLACE_ERR_INVALID (bad key name); ENLACE_ERR_NOMEM. Outputs are untouched on error. */
enlace_err_t checkpoint_open(const char *note, const char *key_name, const uint8_t pub[32],
                             char **origin, uint64_t *size, uint8_t root[32]);

/* checkpoint_open, also writing a one-line reason for a refusal into why[0..why_len)
 * (why may be NULL). */
enlace_err_t checkpoint_open_why(const char *note, const char *key_name, const uint8_t pub[32],
                                 char **origin, uint64_t *size, uint8_t root[32], char *why,
                                 size_t why_len);

/* Verify a signed note of any text (not only checkpoints) with the same rules: on
 * ENLACE_OK the first *text_len bytes of `note` are the text the known key signed.
 * Returns ENLACE_OK, ENLACE_ERR_MALFORMED, ENLACE_ERR_BAD_SIGNATURE, ENLACE_ERR_INVALID
 * (bad key name) or ENLACE_ERR_NOMEM; why as for checkpoint_open_why. */
enlace_err_t note_verify(const char *note, const char *key_name, const uint8_t pub[32],
                         size_t *text_len, char *why, size_t why_len);

/* Parse an unsigned checkpoint body (e.g. the text part of a note already verified).
 * len bytes at body; *origin as for checkpoint_open (NULL if not wanted).
 * Returns ENLACE_OK, ENLACE_ERR_MALFORMED or ENLACE_ERR_NOMEM. */
enlace_err_t checkpoint_parse_body(const char *body, size_t len, char **origin, uint64_t *size,
                                   uint8_t root[32]);

/* id = key id of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || pub)[0..4).
 * Returns ENLACE_OK or ENLACE_ERR_INVALID (name empty, too long, or containing a
 * space, '+', or a control character). */
enlace_err_t note_key_id(const char *name, const uint8_t pub[32], uint8_t id[4]);

/* pub = the raw 32-byte Ed25519 public key of `key` (private or public).
 * Returns ENLACE_OK or ENLACE_ERR_INVALID (not an Ed25519 key). */
enlace_err_t checkpoint_public_key(EVP_PKEY *key, uint8_t pub[32]);

/* The verifier key string of the Go/C2SP tools: "<name>+<key id, 8 hex>+<base64(0x01 ||
 * pub)>", e.g. "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW".
 * Operators publish it; auditors pin it. *vkey malloc'ed, caller frees.
 * Returns ENLACE_OK, ENLACE_ERR_INVALID (bad name) or ENLACE_ERR_NOMEM. */
enlace_err_t note_verifier_key(const char *name, const uint8_t pub[32], char **vkey);

/* Parse a verifier key string (above): *name malloc'ed (caller frees), pub set.
 * The key id in the string must match the name and key.
 * Returns ENLACE_OK, ENLACE_ERR_MALFORMED or ENLACE_ERR_NOMEM. */
enlace_err_t note_parse_verifier_key(const char *vkey, char **name, uint8_t pub[32]);

#endif
