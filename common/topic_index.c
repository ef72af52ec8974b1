/* topic_index — trie of topic filters (see topic_index.h).
 *
 * One node per distinct filter prefix. A node has its literal children in an
 * array sorted by label (binary search), one '+' child and one '#' child, and
 * the values of the filters that end at it. Matching a topic of L levels
 * visits at most 2^L nodes in theory ('+' and the literal at every level) but
 * in practice a handful, since most nodes have no '+' child.
 */
#include "topic_index.h"

#include <stdlib.h>
#include <string.h>

#include "topic.h"

typedef struct tnode tnode_t;
struct tnode {
    char *label;       /* literal level this node stands for (NUL-terminated); NULL for
                          the root, '+' and '#' nodes */
    size_t label_len;  /* strlen(label) */
    tnode_t **kids;    /* literal children, sorted by label */
    size_t n_kids;     /* used entries of kids */
    size_t cap_kids;   /* allocated entries of kids */
    tnode_t *plus;     /* child for a '+' level, or NULL */
    tnode_t *hash;     /* child for a '#' level (always a leaf), or NULL */
    void **values;     /* values of the filters that end here */
    size_t n_values;   /* used entries of values */
    size_t cap_values; /* allocated entries of values */
};

struct topic_index {
    tnode_t root; /* zero levels consumed; never holds values (filters have >= 1 level) */
    size_t count; /* (filter, value) pairs inserted and not removed */
};

/* One level of a topic or filter: [p, p + len). */
typedef struct {
    const char *p; /* first character */
    size_t len;    /* length */
} level_t;

/* Same splitting as topic.c: `*cursor == NULL` marks the end. */
static bool next_level(const char **cursor, level_t *out)
{
    const char *s = *cursor;
    if (s == NULL)
        return false;
    const char *slash = strchr(s, '/');
    out->p = s;
    out->len = slash ? (size_t)(slash - s) : strlen(s);
    *cursor = slash ? slash + 1 : NULL;
    return true;
}

static int label_cmp(const tnode_t *n, const level_t *l)
{
    size_t m = n->label_len < l->len ? n->label_len : l->len;
    int c = memcmp(n->label, l->p, m);
    if (c != 0)
        return c;
    return (n->label_len > l->len) - (n->label_len < l->len);
}

/* Index in n->kids where the child labelled `l` is or would be inserted;
 * *found says whether it is there. */
static size_t kid_search(const tnode_t *n, const level_t *l, bool *found)
{
    size_t lo = 0, hi = n->n_kids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = label_cmp(n->kids[mid], l);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static bool node_empty(const tnode_t *n)
{
    return n->n_kids == 0 && n->plus == NULL && n->hash == NULL && n->n_values == 0;
}

static void node_free(tnode_t *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n_kids; i++)
        node_free(n->kids[i]);
    node_free(n->plus);
    node_free(n->hash);
    free(n->kids);
    free(n->values);
    free(n->label);
    free(n);
}

static tnode_t *node_new(const level_t *literal)
{
    tnode_t *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    if (literal) {
        n->label = malloc(literal->len + 1);
        if (n->label == NULL) {
            free(n);
            return NULL;
        }
        memcpy(n->label, literal->p, literal->len);
        n->label[literal->len] = '\0';
        n->label_len = literal->len;
    }
    return n;
}

/* Make room for one more child / value; false when out of memory. */
static bool grow_kids(tnode_t *n)
{
    if (n->n_kids < n->cap_kids)
        return true;
    size_t ncap = n->cap_kids ? n->cap_kids * 2 : 4;
    tnode_t **p = realloc(n->kids, ncap * sizeof(*p));
    if (p == NULL)
        return false;
    n->kids = p;
    n->cap_kids = ncap;
    return true;
}

static bool grow_values(tnode_t *n)
{
    if (n->n_values < n->cap_values)
        return true;
    size_t ncap = n->cap_values ? n->cap_values * 2 : 2;
    void **p = realloc(n->values, ncap * sizeof(*p));
    if (p == NULL)
        return false;
    n->values = p;
    n->cap_values = ncap;
    return true;
}

/* The child of `n` for level `l`, created when `create`; NULL when absent or
 * out of memory (*nomem tells which). */
static tnode_t *child_for(tnode_t *n, const level_t *l, bool create, bool *nomem)
{
    *nomem = false;
    bool wild_plus = l->len == 1 && l->p[0] == '+';
    bool wild_hash = l->len == 1 && l->p[0] == '#';
    if (wild_plus || wild_hash) {
        tnode_t **slot = wild_plus ? &n->plus : &n->hash;
        if (*slot == NULL && create) {
            *slot = node_new(NULL);
            *nomem = *slot == NULL;
        }
        return *slot;
    }
    bool found;
    size_t pos = kid_search(n, l, &found);
    if (found)
        return n->kids[pos];
    if (!create)
        return NULL;
    *nomem = true;
    if (!grow_kids(n))
        return NULL;
    tnode_t *c = node_new(l);
    if (c == NULL)
        return NULL;
    memmove(&n->kids[pos + 1], &n->kids[pos], (n->n_kids - pos) * sizeof(n->kids[0]));
    n->kids[pos] = c;
    n->n_kids++;
    *nomem = false;
    return c;
}

/* Unlinks and frees the child `c` of `n` reached through level `l` when it
 * has become empty. */
static void prune_child(tnode_t *n, const level_t *l, tnode_t *c)
{
    if (!node_empty(c))
        return;
    if (c == n->plus) {
        n->plus = NULL;
    } else if (c == n->hash) {
        n->hash = NULL;
    } else {
        bool found;
        size_t pos = kid_search(n, l, &found);
        if (!found || n->kids[pos] != c)
            return;
        memmove(&n->kids[pos], &n->kids[pos + 1], (n->n_kids - pos - 1) * sizeof(n->kids[0]));
        n->n_kids--;
    }
    node_free(c);
}

static enlace_err_t node_insert(tnode_t *n, const char *cur, void *value)
{
    level_t l;
    if (!next_level(&cur, &l)) {
        if (!grow_values(n))
            return ENLACE_ERR_NOMEM;
        n->values[n->n_values++] = value;
        return ENLACE_OK;
    }
    bool nomem;
    tnode_t *c = child_for(n, &l, true, &nomem);
    if (c == NULL)
        return ENLACE_ERR_NOMEM;
    enlace_err_t rc = node_insert(c, cur, value);
    if (rc != ENLACE_OK)
        prune_child(n, &l, c); /* leave the index as it was */
    return rc;
}

static enlace_err_t node_remove(tnode_t *n, const char *cur, void *value)
{
    level_t l;
    if (!next_level(&cur, &l)) {
        for (size_t i = 0; i < n->n_values; i++) {
            if (n->values[i] == value) {
                n->values[i] = n->values[--n->n_values];
                return ENLACE_OK;
            }
        }
        return ENLACE_ERR_NOT_FOUND;
    }
    bool nomem;
    tnode_t *c = child_for(n, &l, false, &nomem);
    if (c == NULL)
        return ENLACE_ERR_NOT_FOUND;
    enlace_err_t rc = node_remove(c, cur, value);
    if (rc == ENLACE_OK)
        prune_child(n, &l, c);
    return rc;
}

static size_t report(const tnode_t *n, topic_index_cb cb, void *arg)
{
    for (size_t i = 0; i < n->n_values; i++)
        cb(n->values[i], arg);
    return n->n_values;
}

/* Each node is reached by at most one path for a given topic, so every
 * matching filter is reported exactly once. */
static size_t node_match(const tnode_t *n, const char *cur, topic_index_cb cb, void *arg)
{
    size_t calls = 0;
    if (n->hash) /* '#' matches the remaining levels, including none */
        calls += report(n->hash, cb, arg);
    level_t l;
    if (!next_level(&cur, &l))
        return calls + report(n, cb, arg);
    if (n->plus)
        calls += node_match(n->plus, cur, cb, arg);
    bool found;
    size_t pos = kid_search(n, &l, &found);
    if (found)
        calls += node_match(n->kids[pos], cur, cb, arg);
    return calls;
}

topic_index_t *topic_index_new(void)
{
    return calloc(1, sizeof(topic_index_t));
}

void topic_index_destroy(topic_index_t **idx)
{
    if (idx == NULL || *idx == NULL)
        return;
    tnode_t *root = &(*idx)->root;
    for (size_t i = 0; i < root->n_kids; i++)
        node_free(root->kids[i]);
    node_free(root->plus);
    node_free(root->hash);
    free(root->kids);
    free(*idx);
    *idx = NULL;
}

enlace_err_t topic_index_insert(topic_index_t *idx, const char *filter, void *value)
{
    if (idx == NULL || value == NULL || !topic_filter_valid(filter))
        return ENLACE_ERR_INVALID;
    enlace_err_t rc = node_insert(&idx->root, filter, value);
    if (rc == ENLACE_OK)
        idx->count++;
    return rc;
}

enlace_err_t topic_index_remove(topic_index_t *idx, const char *filter, void *value)
{
    if (idx == NULL || !topic_filter_valid(filter))
        return ENLACE_ERR_INVALID;
    enlace_err_t rc = node_remove(&idx->root, filter, value);
    if (rc == ENLACE_OK)
        idx->count--;
    return rc;
}

size_t topic_index_match(const topic_index_t *idx, const char *topic, topic_index_cb cb, void *arg)
{
    if (idx == NULL || cb == NULL || !topic_name_valid(topic))
        return 0;
    return node_match(&idx->root, topic, cb, arg);
}

size_t topic_index_count(const topic_index_t *idx)
{
    return idx ? idx->count : 0;
}
