/* hmap — open addressing with linear probing, power-of-two capacity. */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

typedef struct slot {
    uint8_t key[32]; /* the key; all-zero key is allowed, `used` marks occupancy */
    hmap_val_t val;  /* the value */
    bool used;       /* slot holds an entry */
} slot_t;

struct hmap {
    slot_t *slots; /* capacity entries */
    size_t cap;    /* power of two */
    size_t count;  /* entries in use */
};

void hmap_key(uint8_t key[32], const void *p1, size_t n1, const void *p2, size_t n2)
{
    memset(key, 0, 32);
    if (n1 + n2 + (p2 ? 1 : 0) <= 32) {
        memcpy(key, p1, n1);
        if (p2) {
            key[n1] = 0xff; /* separator: ("ab","c") != ("a","bc") */
            memcpy(key + n1 + 1, p2, n2);
        }
        return;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sep = 0;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, p1, n1);
    EVP_DigestUpdate(md, &sep, 1);
    if (p2)
        EVP_DigestUpdate(md, p2, n2);
    EVP_DigestFinal_ex(md, key, NULL);
    EVP_MD_CTX_free(md);
}

static size_t hash_of(const uint8_t key[32])
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: keys are mostly random already */
    for (int i = 0; i < 32; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)h;
}

hmap_t *hmap_new(void)
{
    hmap_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 1024;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void hmap_destroy(hmap_t **mp)
{
    if (!mp || !*mp)
        return;
    free((*mp)->slots);
    free(*mp);
    *mp = NULL;
}

static slot_t *find(slot_t *slots, size_t cap, const uint8_t key[32])
{
    size_t i = hash_of(key) & (cap - 1);
    while (slots[i].used && memcmp(slots[i].key, key, 32) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

hmap_val_t *hmap_get(hmap_t *m, const uint8_t key[32])
{
    slot_t *s = find(m->slots, m->cap, key);
    return s->used ? &s->val : NULL;
}

static enlace_err_t grow(hmap_t *m)
{
    size_t ncap = m->cap * 2;
    slot_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return ENLACE_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used)
            *find(ns, ncap, m->slots[i].key) = m->slots[i];
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return ENLACE_OK;
}

enlace_err_t hmap_put(hmap_t *m, const uint8_t key[32], hmap_val_t val)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != ENLACE_OK)
        return ENLACE_ERR_NOMEM;
    slot_t *s = find(m->slots, m->cap, key);
    if (!s->used) {
        memcpy(s->key, key, 32);
        s->used = true;
        m->count++;
    }
    s->val = val;
    return ENLACE_OK;
}

size_t hmap_count(const hmap_t *m)
{
    return m->count;
}

void hmap_each(hmap_t *m, void (*fn)(const uint8_t key[32], hmap_val_t *val, void *user),
               void *user)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used)
            fn(m->slots[i].key, &m->slots[i].val, user);
}
