/* fuzz_checkpoint — libFuzzer target for the signed-note and checkpoint parsers.
 *
 * Input: any bytes, taken as an untrusted signed note (NUL-terminated copy), an
 * unsigned checkpoint body and a verifier key string. Checks that nothing crashes,
 * leaks or reads out of bounds, and two properties: a note accepted by checkpoint_open
 * is also accepted by note_verify with a text length inside the input; a body that
 * parses re-formats into a body that parses to the same origin, size and root.
 * The known key is fixed (seed 01..20), so the seed corpus in
 * tests/fuzz/corpus/checkpoint can hold notes it really signed and the fuzzer reaches
 * the signature checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "checkpoint.h"

#define KEY_NAME "fuzz.enlace/log"

static uint8_t pub[32];

static void init_key(void)
{
    static int done;
    if (done) {
        return;
    }
    uint8_t seed[32];
    for (int i = 0; i < 32; i++) {
        seed[i] = (uint8_t)(i + 1);
    }
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (k == NULL || checkpoint_public_key(k, pub) != ENLACE_OK) {
        abort();
    }
    EVP_PKEY_free(k);
    done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_key();
    if (size > CHECKPOINT_MAX_NOTE + 16) {
        return 0;
    }
    char *note = malloc(size + 1);
    if (note == NULL) {
        return 0;
    }
    memcpy(note, data, size);
    note[size] = '\0';

    char *origin = NULL, why[200];
    uint64_t tree_size = 0;
    uint8_t root[32];
    enlace_err_t rc =
        checkpoint_open_why(note, KEY_NAME, pub, &origin, &tree_size, root, why, sizeof(why));
    if (rc == ENLACE_OK) {
        size_t text_len = 0;
        if (note_verify(note, KEY_NAME, pub, &text_len, NULL, 0) != ENLACE_OK || text_len == 0 ||
            text_len > size) {
            abort();
        }
        free(origin);
    }

    /* The input as an unsigned body (raw bytes: NULs included). */
    origin = NULL;
    if (checkpoint_parse_body((const char *)data, size, &origin, &tree_size, root) == ENLACE_OK) {
        char *body = NULL, *origin2 = NULL;
        uint64_t size2 = 0;
        uint8_t root2[32];
        if (checkpoint_format(origin, tree_size, root, &body) == ENLACE_OK) {
            if (checkpoint_parse_body(body, strlen(body), &origin2, &size2, root2) != ENLACE_OK ||
                strcmp(origin, origin2) != 0 || size2 != tree_size ||
                memcmp(root, root2, 32) != 0) {
                abort();
            }
        }
        free(body);
        free(origin2);
        free(origin);
    }

    char *name = NULL;
    uint8_t key[32];
    if (note_parse_verifier_key(note, &name, key) == ENLACE_OK) {
        char *again = NULL;
        if (note_verifier_key(name, key, &again) != ENLACE_OK || strcmp(again, note) != 0) {
            abort();
        }
        free(again);
        free(name);
    }
    free(note);
    return 0;
}
