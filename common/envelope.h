/* envelope — sealing, verifying and opening Enlace case messages (DESIGN.md section 5).
 *
 * An Envelope carries three byte strings:
 *   header     a serialized Header, signed as bytes (no canonicalisation);
 *   payload    the plaintext as DER CMS AuthEnvelopedData (RFC 5083) with AES-256-GCM
 *              (RFC 5084), one RecipientInfo per recipient certificate: RSA keys get
 *              RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017, RFC 4055), EC keys
 *              ECDH with the X9.63 KDF over SHA-256 and AES key wrap (RFC 5753), so any
 *              recipient can also open it with `openssl cms -decrypt`;
 *   signature  over ENVELOPE_SIG_CONTEXT || 0x00 || header, by the sender's certificate
 *              key (crypto_sign: ECDSA P-256/P-384, Ed25519, RSA-PSS-SHA256).
 * The header binds everything: payload_sha256 fixes the ciphertext, signer_cert_sha256
 * the signing certificate, recipients the addressees.
 *
 * Use: a sender calls envelope_seal(); the broker calls envelope_verify() with the
 * session's certificate; a recipient verifies the sender's certificate (cert_verify),
 * calls envelope_verify() with it, then envelope_open(). Functions are thread safe.
 */
#ifndef ENLACE_ENVELOPE_H
#define ENLACE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "enlace.pb-c.h"
#include "enlace_err.h"

/* Signature input: context || 0x00 || header bytes. */
#define ENVELOPE_SIG_CONTEXT "enlace-envelope-v1"
#define ENVELOPE_MESSAGE_ID_LEN 16

/* Build the signature input ENVELOPE_SIG_CONTEXT || 0x00 || hdr[0..len) into a
 * malloc'ed *out (caller frees) of *out_len bytes.
 * Returns ENLACE_OK, ENLACE_ERR_INVALID (NULL pointer) or ENLACE_ERR_NOMEM. */
enlace_err_t envelope_signature_input(const uint8_t *hdr, size_t len, uint8_t **out,
                                      size_t *out_len);

/* Seal plaintext plain[0..plain_len) for the n_recipients certificates (at least one;
 * include the sender's own certificate to keep a readable copy) and sign it with
 * signer_key, the private key of signer_cert.
 *
 * hdr is completed in place before it is serialized and signed:
 *   message_id          16 random bytes when absent (len 0);
 *   created_at_ms       the current time when 0;
 *   payload_sha256      SHA-256 of the CMS DER (Envelope.payload), always set;
 *   signer_cert_sha256  SHA-256 of signer_cert's DER, always set.
 * The bytes these fields point to belong to *out and stay valid until envelope_free(out):
 * copy them (e.g. message_id) before then; leave those fields empty or borrowed (they are
 * overwritten without being freed). The completed header must pass validate_header().
 * The header's sender is not compared with signer_cert (see envelope_check_sender).
 *
 * Returns ENLACE_OK with *out (envelope_free), or ENLACE_ERR_INVALID (NULL argument, no
 * recipient, signer_key not matching signer_cert, unsupported signer key, header not
 * valid, recipient certificate whose key cannot receive), ENLACE_ERR_TOO_LARGE
 * (plaintext over INT_MAX bytes), ENLACE_ERR_NOMEM or ENLACE_ERR_CRYPTO. */
enlace_err_t envelope_seal(Enlace__Header *hdr, const uint8_t *plain, size_t plain_len,
                           X509 *const *recipients, size_t n_recipients, X509 *signer_cert,
                           EVP_PKEY *signer_key, Enlace__Envelope **out);

/* Free an envelope made by envelope_seal() (never one from a decoder: use codec_free),
 * set *env to NULL. Safe on NULL and twice. */
void envelope_free(Enlace__Envelope **env);

/* Verify env (untrusted) as sent by the holder of signer_cert, in this order, each
 * failure with its own code and a reason in why:
 *   1. header decodes (codec_decode_header: bounded) and validates  -> ENLACE_ERR_MALFORMED
 *   2. signer_cert_sha256 == SHA-256(signer_cert DER)              -> ENLACE_ERR_BAD_CERT
 *   3. signature over context || 0 || header with signer's key      -> ENLACE_ERR_BAD_SIGNATURE
 *   4. payload_sha256 == SHA-256(payload)                           -> ENLACE_ERR_HASH_MISMATCH
 * Digests are compared in constant time. signer_cert itself is not checked here: verify
 * its chain with cert_verify() first (recipients) or take the session's (broker).
 * Returns ENLACE_OK with *hdr_out set when hdr_out is not NULL (free with
 * codec_free((ProtobufCMessage **)hdr_out)); on error *hdr_out is NULL. Also
 * ENLACE_ERR_INVALID (NULL env/signer_cert) and ENLACE_ERR_NOMEM. */
enlace_err_t envelope_verify(const Enlace__Envelope *env, X509 *signer_cert,
                             Enlace__Header **hdr_out, char *why, size_t why_len);

/* Check that hdr->sender is the agency id of signer_cert (cert_agency_id), as the broker
 * requires of a publisher and recipients should of a sender.
 * Returns ENLACE_OK, or ENLACE_ERR_BAD_CERT with why. */
enlace_err_t envelope_check_sender(const Enlace__Header *hdr, X509 *signer_cert, char *why,
                                   size_t why_len);

/* Decrypt env's payload as the recipient my_cert with its private key my_key. The CMS
 * must be AuthEnvelopedData; plaintext is released only when CMS_decrypt returned 1
 * (GCM tag checked); partial output of a failed decryption is wiped, never returned.
 * Call envelope_verify() first: this checks confidentiality and integrity of the
 * payload, not who sent it.
 * Returns ENLACE_OK with *plain malloc'ed (caller frees; non-NULL even when
 * *plain_len is 0), ENLACE_ERR_DECRYPT (not a recipient, wrong key, tampered or
 * truncated CMS, not AuthEnvelopedData), ENLACE_ERR_INVALID (NULL argument),
 * ENLACE_ERR_NOMEM. On error *plain is NULL and *plain_len 0. */
enlace_err_t envelope_open(const Enlace__Envelope *env, X509 *my_cert, EVP_PKEY *my_key,
                           uint8_t **plain, size_t *plain_len);

#endif
