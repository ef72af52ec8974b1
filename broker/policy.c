/* policy — who may publish and subscribe to what (see policy.h). */
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "topic.h"
#include "validate.h"

/* A list of topic filters. */
typedef struct filter_list {
    char **items; /* each a valid filter, malloc'ed */
    size_t n;     /* items in use */
} filter_list_t;

/* One agency section. */
typedef struct agency {
    char *id;                /* section name, a valid agency id */
    policy_role_t role;      /* 0 until the role line is read */
    filter_list_t publish;   /* may publish on topics these match */
    filter_list_t subscribe; /* may subscribe within these, receive what they match */
    char *certificate;       /* absolute path, NULL = none */
    unsigned max_sessions;   /* 0 = not set */
    unsigned publish_rate;   /* 0 = not set */
    unsigned line;           /* line of the section header (load-time messages) */
    unsigned role_line;      /* line of each single-valued key, 0 = not given */
    unsigned publish_line;
    unsigned cert_line;
    unsigned max_sessions_line;
    unsigned publish_rate_line;
} agency_t;

struct policy {
    agency_t *agencies; /* sorted by id once loaded */
    size_t n;           /* agencies in use */
    size_t cap;         /* agencies allocated (load only) */
    uint8_t digest[32]; /* SHA-256 of the file */
};

/* State of one policy_load() while libinih walks the file. */
typedef struct policy_loader {
    policy_t *pol; /* being built */
    char *dir;     /* absolute directory of the policy file */
    agency_t *cur; /* section being read, NULL before the first one */
    bool nomem;    /* an allocation failed */
} policy_loader_t;

static void filter_list_free(filter_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

void policy_destroy(policy_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    policy_t *pol = *p;
    for (size_t i = 0; i < pol->n; i++) {
        free(pol->agencies[i].id);
        free(pol->agencies[i].certificate);
        filter_list_free(&pol->agencies[i].publish);
        filter_list_free(&pol->agencies[i].subscribe);
    }
    free(pol->agencies);
    free(pol);
    *p = NULL;
}

/* ---- loading ------------------------------------------------------------------------- */

/* Checks that need the whole section: run when the next section starts and at the end. */
static bool agency_close(const agency_t *a, unsigned *line, char *reason, size_t reason_len)
{
    if (a->role == 0) {
        *line = a->line;
        config_ini_reason(reason, reason_len, a->id, "agency has no 'role' (agency or auditor)");
        return false;
    }
    if (a->role == POLICY_ROLE_AUDITOR && a->publish.n > 0) {
        *line = a->publish_line;
        config_ini_reason(reason, reason_len, a->publish.items[0], "an auditor may not publish");
        return false;
    }
    return true;
}

static bool section_start(policy_loader_t *ld, const char *id, unsigned *line, char *reason,
                          size_t reason_len)
{
    policy_t *pol = ld->pol;
    if (ld->cur != NULL && !agency_close(ld->cur, line, reason, reason_len))
        return false;
    if (!validate_agency_id(id)) {
        config_ini_reason(reason, reason_len, id,
                          "section name is not an agency id ([A-Z0-9] then [A-Z0-9._-], "
                          "at most %d)",
                          AGENCY_ID_MAX_LEN);
        return false;
    }
    /* Linear, but policies are small and it reports the duplicate at its own line. */
    for (size_t i = 0; i < pol->n; i++) {
        if (strcmp(pol->agencies[i].id, id) == 0) {
            config_ini_reason(reason, reason_len, id, "duplicate agency section (first on line %u)",
                              pol->agencies[i].line);
            return false;
        }
    }
    if (pol->n == POLICY_MAX_AGENCIES) {
        config_ini_reason(reason, reason_len, id, "more than %d agencies", POLICY_MAX_AGENCIES);
        return false;
    }
    if (pol->n == pol->cap) {
        size_t cap = pol->cap != 0 ? pol->cap * 2 : 16;
        agency_t *grown = realloc(pol->agencies, cap * sizeof *grown);
        if (grown == NULL)
            goto nomem;
        pol->agencies = grown;
        pol->cap = cap;
    }
    agency_t *a = &pol->agencies[pol->n];
    memset(a, 0, sizeof *a);
    a->id = strdup(id);
    if (a->id == NULL)
        goto nomem;
    a->line = *line;
    pol->n++;
    ld->cur = a;
    return true;
nomem:
    ld->nomem = true;
    config_ini_reason(reason, reason_len, id, "out of memory");
    return false;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Append the comma-separated filters of `value` to `list`. */
static bool add_filters(policy_loader_t *ld, filter_list_t *list, const char *key,
                        const char *value, char *reason, size_t reason_len)
{
    const char *p = value;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        while (n > 0 && is_blank(*p)) {
            p++;
            n--;
        }
        while (n > 0 && is_blank(p[n - 1]))
            n--;
        char *f = strndup(p, n);
        if (f == NULL) {
            ld->nomem = true;
            config_ini_reason(reason, reason_len, value, "out of memory");
            return false;
        }
        if (n == 0 || !topic_filter_valid(f)) {
            config_ini_reason(
                reason, reason_len, n == 0 ? value : f,
                n == 0 ? "empty topic filter in '%s'" : "invalid topic filter in '%s'", key);
            free(f);
            return false;
        }
        if (list->n == POLICY_MAX_FILTERS) {
            config_ini_reason(reason, reason_len, f, "more than %d %s filters", POLICY_MAX_FILTERS,
                              key);
            free(f);
            return false;
        }
        if (list->n % 8 == 0) {
            char **grown = realloc(list->items, (list->n + 8) * sizeof *grown);
            if (grown == NULL) {
                free(f);
                ld->nomem = true;
                config_ini_reason(reason, reason_len, value, "out of memory");
                return false;
            }
            list->items = grown;
        }
        list->items[list->n++] = f;
        if (comma == NULL)
            return true;
        p = comma + 1;
    }
}

static bool set_certificate(policy_loader_t *ld, agency_t *a, const char *value, char *reason,
                            size_t reason_len)
{
    struct stat st;
    if (value[0] == '\0') {
        config_ini_reason(reason, reason_len, value, "empty certificate path");
        return false;
    }
    char *path = config_path_join(ld->dir, value);
    if (path == NULL) {
        ld->nomem = true;
        config_ini_reason(reason, reason_len, value, "out of memory");
        return false;
    }
    /* Checked now so a typo fails the load (or the reload), not a later Directory frame. */
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        config_ini_reason(reason, reason_len, value, "cannot read certificate file %s: %s", path,
                          strerror(errno));
        free(path);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        config_ini_reason(reason, reason_len, value, "certificate is not a regular file");
        free(path);
        return false;
    }
    a->certificate = path;
    return true;
}

static bool set_limit(const char *key, const char *value, uint64_t max, unsigned *out, char *reason,
                      size_t reason_len)
{
    uint64_t v;
    if (!config_parse_uint(value, 1, max, &v)) {
        config_ini_reason(reason, reason_len, value, "%s must be a whole number in 1..%llu", key,
                          (unsigned long long)max);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

static bool policy_on_line(void *user, const char *section, const char *name, const char *value,
                           unsigned *line, char *reason, size_t reason_len)
{
    policy_loader_t *ld = user;
    if (name == NULL)
        return section_start(ld, section, line, reason, reason_len);
    agency_t *a = ld->cur;
    if (a == NULL) {
        config_ini_reason(reason, reason_len, name, "key outside any [agency] section");
        return false;
    }
    /* Single-valued keys may appear once: a second one is more likely a mistake than an
     * intended override. */
    unsigned *seen = NULL;
    if (strcmp(name, "role") == 0)
        seen = &a->role_line;
    else if (strcmp(name, "certificate") == 0)
        seen = &a->cert_line;
    else if (strcmp(name, "max_sessions") == 0)
        seen = &a->max_sessions_line;
    else if (strcmp(name, "publish_rate") == 0)
        seen = &a->publish_rate_line;
    if (seen != NULL && *seen != 0) {
        config_ini_reason(reason, reason_len, value, "duplicate key '%s' (first on line %u)", name,
                          *seen);
        return false;
    }
    if (seen != NULL)
        *seen = *line;

    if (strcmp(name, "role") == 0) {
        if (strcmp(value, "agency") == 0)
            a->role = POLICY_ROLE_AGENCY;
        else if (strcmp(value, "auditor") == 0)
            a->role = POLICY_ROLE_AUDITOR;
        else {
            config_ini_reason(reason, reason_len, value, "role must be 'agency' or 'auditor'");
            return false;
        }
        return true;
    }
    if (strcmp(name, "publish") == 0) {
        if (a->publish_line == 0)
            a->publish_line = *line;
        return add_filters(ld, &a->publish, name, value, reason, reason_len);
    }
    if (strcmp(name, "subscribe") == 0)
        return add_filters(ld, &a->subscribe, name, value, reason, reason_len);
    if (strcmp(name, "certificate") == 0)
        return set_certificate(ld, a, value, reason, reason_len);
    if (strcmp(name, "max_sessions") == 0)
        return set_limit(name, value, 1000000, &a->max_sessions, reason, reason_len);
    if (strcmp(name, "publish_rate") == 0)
        return set_limit(name, value, 10000000, &a->publish_rate, reason, reason_len);
    config_ini_reason(reason, reason_len, name,
                      "unknown key (expected role, publish, subscribe, certificate, "
                      "max_sessions, publish_rate)");
    return false;
}

static int agency_cmp(const void *a, const void *b)
{
    return strcmp(((const agency_t *)a)->id, ((const agency_t *)b)->id);
}

enlace_err_t policy_load(const char *path, policy_t **out, char *why, size_t why_len)
{
    policy_loader_t ld;
    unsigned n_lines = 0;
    enlace_err_t rc;
    memset(&ld, 0, sizeof ld);
    *out = NULL;
    ld.pol = calloc(1, sizeof *ld.pol);
    if (ld.pol == NULL) {
        snprintf(why, why_len, "%s: out of memory", path);
        rc = ENLACE_ERR_NOMEM;
        goto cleanup;
    }
    ld.dir = config_dir_of(path);
    if (ld.dir == NULL) {
        int err = errno;
        snprintf(why, why_len, "%s: cannot resolve directory: %s", path, strerror(err));
        rc = err == ENOMEM ? ENLACE_ERR_NOMEM : ENLACE_ERR_IO;
        goto cleanup;
    }
    rc = config_ini_parse(path, policy_on_line, &ld, ld.pol->digest, &n_lines, why, why_len);
    if (rc == ENLACE_ERR_INVALID && ld.nomem)
        rc = ENLACE_ERR_NOMEM;
    if (rc != ENLACE_OK)
        goto cleanup;
    if (ld.cur == NULL) {
        /* Deny by default would make an empty policy a broker nobody may use: surely a
         * wrong file, so refuse it rather than start. */
        config_ini_error(why, why_len, path, n_lines > 0 ? n_lines : 1, "",
                         "policy defines no agency section");
        rc = ENLACE_ERR_INVALID;
        goto cleanup;
    }
    char reason[384];
    unsigned line = n_lines;
    if (!agency_close(ld.cur, &line, reason, sizeof reason)) {
        snprintf(why, why_len, "%s:%u: %s", path, line, reason);
        rc = ENLACE_ERR_INVALID;
        goto cleanup;
    }
    qsort(ld.pol->agencies, ld.pol->n, sizeof *ld.pol->agencies, agency_cmp);
    *out = ld.pol;
    ld.pol = NULL;
    if (why_len > 0)
        why[0] = '\0';
cleanup:
    policy_destroy(&ld.pol);
    free(ld.dir);
    return rc;
}

/* ---- queries ------------------------------------------------------------------------- */

static const agency_t *find(const policy_t *p, const char *agency_id)
{
    if (p == NULL || agency_id == NULL)
        return NULL;
    agency_t key = {.id = (char *)agency_id};
    return bsearch(&key, p->agencies, p->n, sizeof *p->agencies, agency_cmp);
}

bool policy_has_agency(const policy_t *p, const char *agency_id)
{
    return find(p, agency_id) != NULL;
}

policy_role_t policy_role(const policy_t *p, const char *agency_id)
{
    const agency_t *a = find(p, agency_id);
    return a != NULL ? a->role : (policy_role_t)0;
}

static bool any_matches(const filter_list_t *l, const char *topic)
{
    for (size_t i = 0; i < l->n; i++)
        if (topic_matches(l->items[i], topic))
            return true;
    return false;
}

bool policy_may_publish(const policy_t *p, const char *agency_id, const char *topic)
{
    const agency_t *a = find(p, agency_id);
    /* Auditors cannot have publish filters (refused at load); the role test keeps it so
     * even if that check ever moved. */
    return a != NULL && a->role == POLICY_ROLE_AGENCY && topic_name_valid(topic) &&
           any_matches(&a->publish, topic);
}

bool policy_may_subscribe(const policy_t *p, const char *agency_id, const char *filter)
{
    const agency_t *a = find(p, agency_id);
    if (a == NULL || !topic_filter_valid(filter))
        return false;
    for (size_t i = 0; i < a->subscribe.n; i++)
        if (topic_filter_covers(a->subscribe.items[i], filter))
            return true;
    return false;
}

bool policy_may_read(const policy_t *p, const char *agency_id, const char *topic)
{
    const agency_t *a = find(p, agency_id);
    return a != NULL && topic_name_valid(topic) && any_matches(&a->subscribe, topic);
}

size_t policy_count(const policy_t *p)
{
    return p != NULL ? p->n : 0;
}

const char *policy_agency_at(const policy_t *p, size_t i)
{
    return p != NULL && i < p->n ? p->agencies[i].id : NULL;
}

const char *policy_certificate_path(const policy_t *p, const char *agency_id)
{
    const agency_t *a = find(p, agency_id);
    return a != NULL ? a->certificate : NULL;
}

unsigned policy_max_sessions(const policy_t *p, const char *agency_id)
{
    const agency_t *a = find(p, agency_id);
    return a != NULL ? a->max_sessions : 0;
}

unsigned policy_publish_rate(const policy_t *p, const char *agency_id)
{
    const agency_t *a = find(p, agency_id);
    return a != NULL ? a->publish_rate : 0;
}

const uint8_t *policy_digest(const policy_t *p)
{
    return p != NULL ? p->digest : NULL;
}
