/* certdir — the latest certificate seen for each agency (see certdir.h).
 *
 * A policy lists tens to hundreds of agencies and the table changes only when an agency
 * connects with a new certificate: an array searched linearly is all it needs. */
#include "certdir.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *agency;
    uint8_t *der;
    size_t len;
} centry_t;

struct certdir {
    centry_t *e;
    size_t n, cap;
};

certdir_t *certdir_new(void)
{
    return calloc(1, sizeof(certdir_t));
}

void certdir_destroy(certdir_t **cdp)
{
    if (!cdp || !*cdp)
        return;
    certdir_t *cd = *cdp;
    for (size_t i = 0; i < cd->n; i++) {
        free(cd->e[i].agency);
        free(cd->e[i].der);
    }
    free(cd->e);
    free(cd);
    *cdp = NULL;
}

static centry_t *find(const certdir_t *cd, const char *agency)
{
    for (size_t i = 0; i < cd->n; i++)
        if (strcmp(cd->e[i].agency, agency) == 0)
            return &cd->e[i];
    return NULL;
}

bool certdir_put(certdir_t *cd, const char *agency, const uint8_t *der, size_t len)
{
    if (!agency || !der || len == 0)
        return false;
    centry_t *e = find(cd, agency);
    if (e && e->len == len && memcmp(e->der, der, len) == 0)
        return false;
    uint8_t *copy = malloc(len);
    if (!copy)
        return false;
    memcpy(copy, der, len);
    if (!e) {
        if (cd->n == cd->cap) {
            size_t ncap = cd->cap ? cd->cap * 2 : 16;
            centry_t *n = realloc(cd->e, ncap * sizeof *n);
            if (!n) {
                free(copy);
                return false;
            }
            cd->e = n;
            cd->cap = ncap;
        }
        char *id = strdup(agency);
        if (!id) {
            free(copy);
            return false;
        }
        e = &cd->e[cd->n++];
        *e = (centry_t){id, NULL, 0};
    }
    free(e->der);
    e->der = copy;
    e->len = len;
    return true;
}

const uint8_t *certdir_get(const certdir_t *cd, const char *agency, size_t *len)
{
    const centry_t *e = find(cd, agency);
    if (!e)
        return NULL;
    *len = e->len;
    return e->der;
}

size_t certdir_count(const certdir_t *cd)
{
    return cd->n;
}

const char *certdir_at(const certdir_t *cd, size_t i, const uint8_t **der, size_t *len)
{
    *der = cd->e[i].der;
    *len = cd->e[i].len;
    return cd->e[i].agency;
}
