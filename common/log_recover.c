/* log_recover — the log store's recovery at open (see log_store.h, "Recovery at open").
 *
 * Order matters: read everything and decide first, check the checkpoints, and only then
 * modify anything on disk, so a refused open leaves the directory exactly as found.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "crc32c.h"
#include "log_history.h"
#include "log_internal.h"
#include "wire.h"

/* How far past a damaged frame recovery looks for a good one (see good_frame_follows). */
#define RESYNC_WINDOW (64u << 20)

enlace_err_t log_say(enlace_err_t rc, char *why, size_t why_len, const char *fmt, ...)
{
    if (why != NULL && why_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* What reading the segments found. */
typedef struct {
    uint64_t records;      /* good records, in order from seq 0 */
    uint64_t valid_end;    /* end offset of the last good frame in the last segment */
    uint64_t zero_tail;    /* bytes of zero tail after valid_end (not torn) */
    bool torn;             /* the last segment ends in damage after its good frames */
    uint64_t tail_off;     /* where the damage starts */
    uint64_t tail_len;     /* bytes from there to the end of the file */
    const char *tail_kind; /* what the damage looks like */
} scan_result_t;

static void hex32(const uint8_t h[32], char out[65])
{
    for (int i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    }
}

/* mkdir -p with mode 0700 for what it creates; fsyncs the parent of the last level. */
static enlace_err_t make_dir(const char *dir)
{
    char *path = strdup(dir);
    if (path == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    enlace_err_t rc = ENLACE_OK;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            rc = ENLACE_ERR_IO;
            break;
        }
        *p = c;
        if (c == '\0') {
            break;
        }
    }
    if (rc == ENLACE_OK) {
        /* Make the new directory entry durable: fsync the parent. */
        char *slash = strrchr(path, '/');
        const char *parent = slash == NULL ? "." : (slash == path ? "/" : path);
        if (slash != NULL && slash != path) {
            *slash = '\0';
        }
        int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd >= 0) {
            (void)fsync(pfd);
            close(pfd);
        }
    }
    free(path);
    return rc;
}

static enlace_err_t open_dir(log_store_t *log, char *why, size_t why_len)
{
    if (log->writable) {
        struct stat st;
        if (stat(log->dir, &st) != 0 && make_dir(log->dir) != ENLACE_OK) {
            return log_say(ENLACE_ERR_IO, why, why_len, "cannot create log directory %s: %s",
                           log->dir, strerror(errno));
        }
    }
    log->dfd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (log->dfd < 0) {
        return log_say(errno == ENOENT ? ENLACE_ERR_NOT_FOUND : ENLACE_ERR_IO, why, why_len,
                       "cannot open log directory %s: %s", log->dir, strerror(errno));
    }
    if (log->writable && flock(log->dfd, LOCK_EX | LOCK_NB) != 0) {
        return log_say(errno == EWOULDBLOCK ? ENLACE_ERR_DENIED : ENLACE_ERR_IO, why, why_len,
                       "log directory %s is in use by another writer (flock: %s)", log->dir,
                       strerror(errno));
    }
    return ENLACE_OK;
}

/* Bytes of zeros at the end of the file open on fd, looking no further back than
 * `from`: how much of a torn tail is zero tail (not searched for frames, and said in the
 * recovery detail). */
static uint64_t trailing_zeros(int fd, uint64_t from, uint64_t size)
{
    static const size_t block = 1u << 20;
    uint8_t *buf = malloc(block);
    uint64_t end = size;
    while (buf != NULL && end > from) {
        size_t n = end - from < block ? (size_t)(end - from) : block;
        if (pread(fd, buf, n, (off_t)(end - n)) != (ssize_t)n) {
            break;
        }
        size_t k = n;
        while (k > 0 && buf[k - 1] == 0) {
            k--;
        }
        end -= n - k;
        if (k > 0) {
            break;
        }
    }
    free(buf);
    return size - end;
}

/* After damage at `from` in the last segment: does a good frame (CRC, decodes, seq
 * beyond `expected`) start anywhere in the next RESYNC_WINDOW bytes? If so the damage is
 * in the middle of the log, not a torn tail. Candidates are filtered on the first record
 * byte, 0x08 (protobuf-c writes field 1, seq, first), so the search is cheap. */
static bool good_frame_follows(int fd, uint64_t from, uint64_t file_size, uint64_t expected,
                               uint64_t *at)
{
    /* A zero tail after the damage holds no frame: do not read it into memory. */
    file_size -= from < file_size ? trailing_zeros(fd, from, file_size) : 0;
    if (from >= file_size) {
        return false;
    }
    uint64_t span = file_size - from;
    size_t n =
        span > RESYNC_WINDOW + LOG_MAX_RECORD ? RESYNC_WINDOW + LOG_MAX_RECORD : (size_t)span;
    uint8_t *buf = malloc(n);
    bool found = false;
    if (buf == NULL || pread(fd, buf, n, (off_t)from) != (ssize_t)n) {
        free(buf);
        return false;
    }
    for (size_t o = 0; o + LOG_FRAME_HEADER < n && o < RESYNC_WINDOW && !found; o++) {
        uint32_t len = wire_get_be32(buf + o);
        if (len < 2 || len > LOG_MAX_RECORD || len > n - o - LOG_FRAME_HEADER ||
            buf[o + LOG_FRAME_HEADER] != 0x08) {
            continue;
        }
        const uint8_t *rec = buf + o + LOG_FRAME_HEADER;
        if (crc32c(rec, len) != wire_get_be32(buf + o + 4)) {
            continue;
        }
        Enlace__Record *r = NULL;
        if (log_record_unpack(rec, len, &r) == ENLACE_OK) {
            found = r->seq > expected;
            codec_free((ProtobufCMessage **)&r);
            *at = from + o;
        }
    }
    free(buf);
    return found;
}

/* Does [from, to) of the file on fd overlap a whole page (LOG_PAGE bytes at a multiple
 * of LOG_PAGE) of zeros? That is what a write interrupted by a power failure leaves:
 * the pages of one commit reach the disk in no fixed order, so intact frames of the
 * same, never acknowledged, commit can follow a page that was never written. */
#define LOG_PAGE 4096u
static bool zero_page_in(int fd, uint64_t from, uint64_t to)
{
    uint8_t page[LOG_PAGE];
    for (uint64_t p = from - from % LOG_PAGE; p < to; p += LOG_PAGE) {
        if (pread(fd, page, LOG_PAGE, (off_t)p) != (ssize_t)LOG_PAGE) {
            return false;
        }
        if (log_all_zero(page, LOG_PAGE)) {
            return true;
        }
    }
    return false;
}

static const char *frame_kind(log_frame_status_t st, uint32_t len)
{
    switch (st) {
    case LOG_FRAME_SHORT: return "file ends inside the frame";
    case LOG_FRAME_BAD_LENGTH:
        return len == 0 ? "zero bytes followed by other data" : "impossible frame length";
    case LOG_FRAME_BAD_CRC: return "CRC mismatch";
    default: return "record does not decode";
    }
}

/* Read segment number i (already in the table) and add its records. */
static enlace_err_t load_segment(log_store_t *log, size_t i, bool last, scan_result_t *res,
                                 char *why, size_t why_len)
{
    log_seg_t *s = log_seg_get(log, i);
    log_frame_reader_t *r = log_frame_reader_new(s->fd);
    enlace_err_t rc = ENLACE_OK;
    if (r == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    /* A read-only open may be reading the segment a live writer is filling. */
    log_frame_reader_set_live(r, last && !log->writable);
    for (;;) {
        uint64_t off;
        const uint8_t *data;
        uint32_t len;
        log_frame_status_t st = log_frame_next(r, &off, &data, &len);
        Enlace__Record *rec = NULL;
        if (st == LOG_FRAME_END) {
            res->valid_end = off;
            break;
        }
        if (st == LOG_FRAME_ZERO_TAIL) {
            struct stat sb;
            if (fstat(s->fd, &sb) != 0) {
                rc = log_say(ENLACE_ERR_IO, why, why_len, "cannot stat %s: %s", s->name,
                             strerror(errno));
                break;
            }
            uint64_t zeros = (uint64_t)sb.st_size > off ? (uint64_t)sb.st_size - off : 0;
            if (!last) {
                rc = log_say(ENLACE_ERR_CORRUPT, why, why_len,
                             "segment %s ends in %" PRIu64 " zero bytes from offset %" PRIu64
                             " (where record %" PRIu64 " would start) but is not the last "
                             "segment: only the last may end in a zero tail; refusing to open",
                             s->name, zeros, off, res->records);
                break;
            }
            res->valid_end = off;
            res->zero_tail = zeros;
            break;
        }
        if (st == LOG_FRAME_IO) {
            rc = log_say(ENLACE_ERR_IO, why, why_len, "cannot read %s: %s", s->name,
                         strerror(errno));
            break;
        }
        enlace_err_t urc =
            st == LOG_FRAME_OK ? log_record_unpack(data, len, &rec) : ENLACE_ERR_MALFORMED;
        if (urc == ENLACE_ERR_NOMEM) {
            rc = urc;
            break;
        }
        if (urc != ENLACE_OK) {
            /* Damage. A torn tail only if this is the last segment and nothing good
             * follows; otherwise refuse. */
            struct stat sb;
            if (fstat(s->fd, &sb) != 0) {
                rc = ENLACE_ERR_IO;
                break;
            }
            const char *kind = frame_kind(st, len);
            if (!last) {
                rc = log_say(ENLACE_ERR_CORRUPT, why, why_len,
                             "record %" PRIu64 " in %s at offset %" PRIu64
                             " is damaged (%s) in a segment that is not the last: not a torn "
                             "tail; refusing to open",
                             res->records, s->name, off, kind);
                break;
            }
            uint64_t good_at = 0;
            bool good = good_frame_follows(s->fd, off + LOG_FRAME_HEADER, (uint64_t)sb.st_size,
                                           res->records, &good_at);
            if (good && zero_page_in(s->fd, off, good_at)) {
                /* An interrupted commit: cut like a torn tail, intact frames after it
                 * included (none was acknowledged: a commit is acknowledged only after
                 * its fdatasync, and the next is written only then). Never inside the
                 * records a checkpoint signed: check_checkpoints refuses that. */
                kind = "a page of zeros before intact frames: a commit interrupted by a "
                       "power failure";
                good = false;
            }
            if (good) {
                rc = log_say(ENLACE_ERR_CORRUPT, why, why_len,
                             "record %" PRIu64 " in %s at offset %" PRIu64
                             " is damaged (%s) and good records follow it: not a torn tail; "
                             "refusing to open",
                             res->records, s->name, off, kind);
                break;
            }
            res->torn = true;
            res->tail_off = off;
            res->tail_len = (uint64_t)sb.st_size - off;
            res->tail_kind = kind;
            res->valid_end = off;
            break;
        }
        if (rec->seq != res->records) {
            rc =
                log_say(ENLACE_ERR_CORRUPT, why, why_len,
                        "record at %s offset %" PRIu64 " has seq %" PRIu64 " but is record %" PRIu64
                        " of the log: records missing, duplicated or reordered",
                        s->name, off, rec->seq, res->records);
            codec_free((ProtobufCMessage **)&rec);
            break;
        }
        if (rec->time_ms > log->last_time_ms) {
            log->last_time_ms = rec->time_ms;
        }
        codec_free((ProtobufCMessage **)&rec);
        uint8_t leaf[32];
        merkle_leaf_hash(data, len, leaf);
        if ((rc = log_index_set(log->index, res->records, LOG_POS(i, off))) != ENLACE_OK ||
            (rc = merkle_append(log->tree, leaf)) != ENLACE_OK) {
            break;
        }
        res->records++;
    }
    log_frame_reader_destroy(&r);
    return rc;
}

static enlace_err_t load_segments(log_store_t *log, scan_result_t *res, char *why, size_t why_len)
{
    log_segment_file_t *files = NULL;
    size_t n = 0;
    enlace_err_t rc = log_segment_list(log->dir, &files, &n);
    if (rc != ENLACE_OK) {
        return log_say(rc, why, why_len, "cannot list log directory %s", log->dir);
    }
    if (n > LOG_MAX_SEGMENTS) {
        rc = log_say(ENLACE_ERR_CORRUPT, why, why_len, "too many segment files in %s", log->dir);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (files[i].valid && files[i].first_seq > res->records && !log->writable) {
            /* A live log (read-only open): the segment may have been created while we
             * listed the directory. A writer open holds the lock: nobody creates any. */
            (void)log_segment_relist(log->dir, res->records, &files, &n, &i);
        }
        const log_segment_file_t *f = &files[i];
        if (!f->valid) {
            rc = log_say(ENLACE_ERR_CORRUPT, why, why_len,
                         "unexpected file %s in log directory %s (not seg-<20 digits>.log)",
                         f->name, log->dir);
            goto done;
        }
        if (f->first_seq > res->records) {
            rc = log_say(ENLACE_ERR_CORRUPT, why, why_len,
                         "segment %s starts at seq %" PRIu64 " but the log before it holds %" PRIu64
                         " records: records %" PRIu64 "..%" PRIu64 " are missing",
                         f->name, f->first_seq, res->records, res->records, f->first_seq - 1);
            goto done;
        }
        if (f->first_seq < res->records) {
            rc = log_say(ENLACE_ERR_CORRUPT, why, why_len,
                         "segment %s starts at seq %" PRIu64 " but the segments before it "
                         "already hold %" PRIu64 " records",
                         f->name, f->first_seq, res->records);
            goto done;
        }
        bool last = i + 1 == n;
        log_seg_t *s = calloc(1, sizeof(*s));
        if (s == NULL) {
            rc = ENLACE_ERR_NOMEM;
            goto done;
        }
        s->first_seq = f->first_seq;
        log_segment_name(f->first_seq, s->name);
        s->fd = openat(log->dfd, f->name, (log->writable && last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (s->fd < 0 || log_table_set(log->segs, log->n_segs, s) != ENLACE_OK) {
            rc = log_say(ENLACE_ERR_IO, why, why_len, "cannot open %s: %s", f->name,
                         strerror(errno));
            if (s->fd >= 0) {
                close(s->fd);
            }
            free(s);
            goto done;
        }
        log->n_segs++;
        if ((rc = load_segment(log, log->n_segs - 1, last, res, why, why_len)) != ENLACE_OK) {
            goto done;
        }
    }
done:
    free(files);
    return rc;
}

/* ---- checkpoints ------------------------------------------------------------------- */

/* Verify a stored note against the store's key and origin. */
static enlace_err_t open_note(log_store_t *log, const char *note, const char *where, uint64_t *size,
                              uint8_t root[32], char *why, size_t why_len)
{
    char reason[200], *origin = NULL;
    enlace_err_t rc = checkpoint_open_why(note, log->origin, log->pub, &origin, size, root, reason,
                                          sizeof(reason));
    if (rc == ENLACE_ERR_BAD_SIGNATURE) {
        /* Say whether the origin changed (the key name is the origin) or the key did. */
        const char *split = NULL, *p = note;
        uint64_t ignored_size;
        uint8_t ignored_root[32];
        while ((p = strstr(p, "\n\n")) != NULL) {
            split = p++;
        }
        if (split != NULL &&
            checkpoint_parse_body(note, (size_t)(split - note) + 1, &origin, &ignored_size,
                                  ignored_root) == ENLACE_OK &&
            strcmp(origin, log->origin) != 0) {
            log_say(rc, why, why_len, "%s is for origin \"%s\", this log is configured as \"%s\"",
                    where, origin, log->origin);
        } else {
            log_say(rc, why, why_len,
                    "%s is not signed by the configured checkpoint key for %s (%s)", where,
                    log->origin, reason);
        }
        free(origin);
        return rc;
    }
    if (rc != ENLACE_OK) {
        return log_say(rc == ENLACE_ERR_NOMEM ? rc : ENLACE_ERR_CORRUPT, why, why_len,
                       "%s is not a valid checkpoint: %s", where, reason);
    }
    if (strcmp(origin, log->origin) != 0) {
        rc = log_say(ENLACE_ERR_CORRUPT, why, why_len,
                     "%s is for origin \"%s\", this log is \"%s\"", where, origin, log->origin);
    }
    free(origin);
    return rc;
}

/* Walk state for finding the earliest checkpoint in the history that disagrees. */
typedef struct {
    log_store_t *log;    /* the store */
    uint64_t records;    /* records the log holds */
    uint64_t agree_size; /* largest size of an agreeing checkpoint before the first bad */
    bool found;          /* a disagreeing entry was found */
    uint64_t bad_index;  /* its index in the history */
    uint64_t bad_size;   /* its size */
} locate_t;

static enlace_err_t locate_entry(const char *note, uint64_t index, void *user)
{
    locate_t *l = user;
    uint64_t size;
    uint8_t root[32], mine[32];
    char ignored[8];
    if (open_note(l->log, note, "history entry", &size, root, ignored, sizeof(ignored)) !=
        ENLACE_OK) {
        return ENLACE_OK; /* unverifiable entries prove nothing either way */
    }
    if (size <= l->records && merkle_root(l->log->tree, size, mine) == ENLACE_OK &&
        CRYPTO_memcmp(mine, root, 32) == 0) {
        if (size > l->agree_size) {
            l->agree_size = size;
        }
        return ENLACE_OK;
    }
    l->found = true;
    l->bad_index = index;
    l->bad_size = size;
    return ENLACE_ERR_ROLLBACK; /* stop the walk */
}

/* Compare the log (res->records good records) with one verified checkpoint. */
static enlace_err_t compare(log_store_t *log, const scan_result_t *res, const char *where,
                            uint64_t size, const uint8_t root[32], char *why, size_t why_len)
{
    char want[65], got[65];
    hex32(root, want);
    if (size > res->records && res->torn) {
        return log_say(ENLACE_ERR_CORRUPT, why, why_len,
                       "record %" PRIu64 " in %s at offset %" PRIu64 " is damaged (%s) but %s "
                       "signed %" PRIu64 " records: refusing to cut signed records",
                       res->records, log_seg_get(log, log->n_segs - 1)->name, res->tail_off,
                       res->tail_kind, where, size);
    }
    if (size > res->records) {
        return log_say(ENLACE_ERR_ROLLBACK, why, why_len,
                       "rollback: the log holds %" PRIu64 " records but %s signed %" PRIu64
                       " records (root %s): records %" PRIu64 "..%" PRIu64 " are missing",
                       res->records, where, size, want, res->records, size - 1);
    }
    uint8_t mine[32];
    if (merkle_root(log->tree, size, mine) != ENLACE_OK) {
        return ENLACE_ERR_INVALID;
    }
    if (CRYPTO_memcmp(mine, root, 32) == 0) {
        return ENLACE_OK;
    }
    hex32(mine, got);
    locate_t l = {.log = log, .records = res->records};
    (void)log_history_each(log->dfd, locate_entry, &l);
    if (l.found) {
        return log_say(ENLACE_ERR_ROLLBACK, why, why_len,
                       "rollback or tampering: the first %" PRIu64 " records hash to %s but %s "
                       "signed root %s; the earliest disagreeing checkpoint is entry %" PRIu64
                       " of %s (size %" PRIu64 "), the last agreeing one has size %" PRIu64
                       ": a record in seq %" PRIu64 "..%" PRIu64 " was changed",
                       size, got, where, want, l.bad_index, LOG_HISTORY_FILE, l.bad_size,
                       l.agree_size, l.agree_size, l.bad_size - 1);
    }
    return log_say(ENLACE_ERR_ROLLBACK, why, why_len,
                   "rollback or tampering: the first %" PRIu64 " records hash to %s but %s "
                   "signed root %s: a record in seq 0..%" PRIu64 " was changed",
                   size, got, where, want, size - 1);
}

/* The stored checkpoint notes, read before the segments: on a live log (read-only open
 * beside a running writer) a checkpoint read first covers only records already written,
 * so the later scan cannot come up short of it. */
typedef struct {
    char *latest;       /* the `checkpoint` file, or NULL */
    char *last;         /* the last complete entry of `checkpoints`, or NULL */
    uint64_t valid_len; /* length of `checkpoints` up to the end of that entry */
} notes_t;

static enlace_err_t read_notes(log_store_t *log, notes_t *n, char *why, size_t why_len)
{
    enlace_err_t rc = log_history_read_latest(log->dfd, &n->latest);
    if (rc == ENLACE_ERR_NOT_FOUND) {
        rc = ENLACE_OK;
    }
    if (rc != ENLACE_OK) {
        return log_say(rc, why, why_len, "cannot read %s/%s", log->dir, LOG_CHECKPOINT_FILE);
    }
    rc = log_history_read_last(log->dfd, &n->last, &n->valid_len);
    if (rc != ENLACE_OK) {
        return log_say(rc, why, why_len, "cannot read the last entry of %s/%s", log->dir,
                       LOG_HISTORY_FILE);
    }
    return ENLACE_OK;
}

/* Verify and compare the `checkpoint` file and the last history entry; adopt the newer
 * as the store's latest. Repairs (writer only) a torn history append and a `checkpoint`
 * file left behind by a crash. */
static enlace_err_t check_checkpoints(log_store_t *log, const scan_result_t *res, notes_t *n,
                                      char *why, size_t why_len)
{
    char *latest = n->latest, *last = n->last;
    uint64_t valid_len = n->valid_len, s1 = 0, s2 = 0;
    uint8_t r1[32], r2[32];
    enlace_err_t rc = ENLACE_OK;
    if (!log->have_pub || log->origin == NULL) {
        goto done; /* read-only open without a key: nothing to check against */
    }
    char where1[300], where2[300];
    snprintf(where1, sizeof(where1), "checkpoint file %s/%s", log->dir, LOG_CHECKPOINT_FILE);
    snprintf(where2, sizeof(where2), "the last entry of %s/%s", log->dir, LOG_HISTORY_FILE);
    if (latest != NULL &&
        ((rc = open_note(log, latest, where1, &s1, r1, why, why_len)) != ENLACE_OK ||
         (rc = compare(log, res, where1, s1, r1, why, why_len)) != ENLACE_OK)) {
        goto done;
    }
    if (last != NULL && ((rc = open_note(log, last, where2, &s2, r2, why, why_len)) != ENLACE_OK ||
                         (rc = compare(log, res, where2, s2, r2, why, why_len)) != ENLACE_OK)) {
        goto done;
    }
    /* Adopt the newer one (they are the same unless a crash fell between the writes). */
    bool use_last = last != NULL && (latest == NULL || s2 > s1);
    char **chosen = use_last ? &last : &latest;
    if (*chosen != NULL) {
        log->have_ckpt = true;
        log->ckpt_size = use_last ? s2 : s1;
        memcpy(log->ckpt_root, use_last ? r2 : r1, 32);
    }
    if (log->writable) {
        struct stat st;
        if (fstatat(log->dfd, LOG_HISTORY_FILE, &st, 0) == 0 && (uint64_t)st.st_size > valid_len &&
            (rc = log_history_truncate(log->dfd, valid_len)) != ENLACE_OK) {
            log_say(rc, why, why_len, "cannot cut the torn end of %s", LOG_HISTORY_FILE);
            goto done;
        }
        if (use_last && (latest == NULL || strcmp(latest, last) != 0)) {
            rc = log_history_write_latest(log->dfd, last);
        } else if (!use_last && latest != NULL && (last == NULL || s1 > s2)) {
            rc = log_history_append(log->dfd, latest);
        }
        if (rc != ENLACE_OK) {
            log_say(rc, why, why_len, "cannot repair the checkpoint files in %s", log->dir);
            goto done;
        }
    }
    log->note = *chosen;
    *chosen = NULL;
done:
    n->latest = latest;
    n->last = last;
    return rc;
}

enlace_err_t log_recover(log_store_t *log, char *why, size_t why_len)
{
    scan_result_t res = {0};
    notes_t notes = {0};
    enlace_err_t rc = open_dir(log, why, why_len);
    if (rc == ENLACE_OK && (rc = read_notes(log, &notes, why, why_len)) == ENLACE_OK &&
        (rc = load_segments(log, &res, why, why_len)) == ENLACE_OK) {
        rc = check_checkpoints(log, &res, &notes, why, why_len);
    }
    free(notes.latest);
    free(notes.last);
    if (rc != ENLACE_OK) {
        return rc;
    }
    /* Everything checked: now change the disk. */
    if (res.torn) {
        log_seg_t *s = log_seg_get(log, log->n_segs - 1);
        uint64_t zeros = trailing_zeros(s->fd, res.tail_off, res.tail_off + res.tail_len);
        if (log->writable &&
            (ftruncate(s->fd, (off_t)res.tail_off) != 0 || fdatasync(s->fd) != 0)) {
            return log_say(ENLACE_ERR_IO, why, why_len, "cannot cut the torn tail of %s: %s",
                           s->name, strerror(errno));
        }
        log->recovered = res.tail_len;
        char of_zeros[64] = "";
        if (zeros > 0) {
            snprintf(of_zeros, sizeof(of_zeros), " (the last %" PRIu64 " of them zeros)", zeros);
        }
        snprintf(log->recovery_detail, sizeof(log->recovery_detail),
                 "%s %" PRIu64 " bytes%s at the end of %s from offset %" PRIu64
                 " (first bad frame: %s; record %" PRIu64 " onwards was never committed)",
                 log->writable ? "cut" : "found (not cut: read-only)", res.tail_len, of_zeros,
                 s->name, res.tail_off, res.tail_kind, res.records);
    }
    if (log->writable) {
        /* A preparation interrupted by a crash: the next one starts afresh. */
        if (unlinkat(log->dfd, LOG_PREPARED_FILE, 0) != 0 && errno != ENOENT) {
            return log_say(ENLACE_ERR_IO, why, why_len, "cannot delete %s/%s: %s", log->dir,
                           LOG_PREPARED_FILE, strerror(errno));
        }
    }
    if (log->writable && log->n_segs == 0 && (rc = log_create_first_segment(log)) != ENLACE_OK) {
        return log_say(rc, why, why_len, "cannot create the first segment in %s", log->dir);
    }
    log->p_seg = log->n_segs ? log->n_segs - 1 : 0;
    log->p_end = res.valid_end;
    /* The writer goes on filling a zero tail (a torn tail, zeros and all, was cut). */
    log->w_end = res.valid_end;
    log->w_size = res.valid_end + (res.torn ? 0 : res.zero_tail);
    log->last_sync_ms = log_now_ms();
    atomic_store_explicit(&log->committed, res.records, memory_order_release);
    return ENLACE_OK;
}
