/* log_store — append-only audit log (see log_store.h). Recovery lives in log_recover.c. */
#include "log_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "log_ckwriter.h"
#include "log_history.h"
#include "log_internal.h"
#include "wire.h"

/* ---- small helpers ------------------------------------------------------------------- */

uint64_t log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

enlace_err_t log_pwrite_full(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return ENLACE_ERR_IO;
        }
        done += (size_t)n;
    }
    return ENLACE_OK;
}

/* pread exactly len bytes; ENLACE_ERR_CORRUPT when the file is shorter. */
static enlace_err_t pread_exact(int fd, uint8_t *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return ENLACE_ERR_IO;
        }
        if (n == 0) {
            return ENLACE_ERR_CORRUPT;
        }
        done += (size_t)n;
    }
    return ENLACE_OK;
}

log_seg_t *log_seg_get(const log_store_t *log, size_t i)
{
    return log_table_get(log->segs, i);
}

/* ---- open / close ----------------------------------------------------------------------- */

/* Cut the last segment's zero tail, if it has one, so that it ends at its data.
 * The cut is synced with the segment's next sync (it is marked unsynced). */
static enlace_err_t cut_zero_tail(log_store_t *log)
{
    if (log->n_segs == 0 || log->w_size <= log->w_end) {
        return ENLACE_OK;
    }
    size_t last = log->n_segs - 1;
    if (ftruncate(log_seg_get(log, last)->fd, (off_t)log->w_end) != 0) {
        return ENLACE_ERR_IO;
    }
    log->w_size = log->w_end;
    if (log->unsynced_seg > last) {
        log->unsynced_seg = last;
    }
    return ENLACE_OK;
}

void log_close(log_store_t **logp)
{
    if (logp == NULL || *logp == NULL) {
        return;
    }
    log_store_t *log = *logp;
    if (log->ckw != NULL) { /* a checkpoint being stored is finished and adopted */
        bool finished;
        (void)log_checkpoint_poll(log, true, &finished);
        log_ckwriter_destroy(&log->ckw);
    }
    log_prep_destroy(&log->prep);
    if (log->writable && !log->failed) {
        /* A cleanly closed log has no zero tail; in every fsync mode, close syncs. */
        if (log->opened && cut_zero_tail(log) != ENLACE_OK) {
            log->failed = true;
        }
        (void)log_sync(log);
    }
    for (size_t i = 0; log->segs != NULL && i < log->n_segs; i++) {
        log_seg_t *s = log_seg_get(log, i);
        if (s->fd >= 0) {
            close(s->fd);
        }
        free(s);
    }
    log_table_destroy(&log->segs);
    log_index_destroy(&log->index);
    merkle_destroy(&log->tree);
    if (log->dfd >= 0) {
        close(log->dfd); /* also releases the flock */
    }
    pthread_mutex_destroy(&log->note_lock);
    free(log->note);
    free(log->buf);
    free(log->parts);
    free(log->dir);
    free(log->origin);
    free(log);
    *logp = NULL;
}

enlace_err_t log_open(const log_options_t *opt, log_store_t **out, char *why, size_t why_len)
{
    *out = NULL;
    if (why != NULL && why_len > 0) {
        why[0] = '\0';
    }
    if (opt == NULL || opt->dir == NULL || opt->dir[0] == '\0' || opt->fsync > LOG_FSYNC_NEVER ||
        (opt->checkpoint_key != NULL && opt->origin == NULL)) {
        return log_say(ENLACE_ERR_INVALID, why, why_len,
                       "log options need a directory, and an origin with a checkpoint key");
    }
    log_store_t *log = calloc(1, sizeof(*log));
    if (log == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    enlace_err_t rc = ENLACE_ERR_NOMEM;
    log->dfd = -1;
    pthread_mutex_init(&log->note_lock, NULL);
    log->writable = opt->checkpoint_key != NULL;
    log->key = opt->checkpoint_key;
    log->fsync = opt->fsync;
    log->batch_ms = opt->batch_ms;
    log->segment_size = opt->segment_size ? opt->segment_size : LOG_DEFAULT_SEGMENT_SIZE;
    if (log->segment_size < LOG_MIN_SEGMENT_SIZE) {
        log->segment_size = LOG_MIN_SEGMENT_SIZE;
    }
    if (log->segment_size > LOG_MAX_SEGMENT_SIZE) {
        log->segment_size = LOG_MAX_SEGMENT_SIZE;
    }
    log->dir = strdup(opt->dir);
    log->origin = opt->origin ? strdup(opt->origin) : NULL;
    log->segs = log_table_new();
    log->index = log_index_new();
    log->tree = merkle_new();
    log->unsynced_seg = SIZE_MAX;
    if (log->dir == NULL || (opt->origin && log->origin == NULL) || log->segs == NULL ||
        log->index == NULL || log->tree == NULL) {
        goto fail;
    }
    if (log->writable) {
        if (checkpoint_public_key(log->key, log->pub) != ENLACE_OK) {
            rc = log_say(ENLACE_ERR_INVALID, why, why_len, "the checkpoint key is not Ed25519");
            goto fail;
        }
        log->have_pub = true;
    } else if (opt->checkpoint_pub != NULL) {
        memcpy(log->pub, opt->checkpoint_pub, 32);
        log->have_pub = true;
    }
    rc = log_recover(log, why, why_len);
    if (rc != ENLACE_OK) {
        goto fail;
    }
    if (log->writable && !opt->no_prealloc) {
        log->prep = log_prep_new(log->dfd, log->segment_size); /* NULL: run without */
    }
    log->opened = true;
    *out = log;
    return ENLACE_OK;
fail:
    log_close(&log);
    return rc;
}

/* Starts a helper thread of the store (log_prep, log_ckwriter) with every signal blocked
 * (signals are the application's: the broker reads them from a signalfd in its main
 * thread) and named for top and the benchmark's per-thread table. 0 or an errno. */
int log_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *name)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
        pthread_setname_np(*t, name);
    }
    return rc;
}

/* ---- writer: append / commit ------------------------------------------------------------ */

static enlace_err_t ensure_buf(log_store_t *log, size_t more)
{
    if (log->buf_len + more <= log->buf_cap) {
        return ENLACE_OK;
    }
    size_t cap = log->buf_cap ? log->buf_cap : 65536;
    while (cap < log->buf_len + more) {
        cap *= 2;
    }
    uint8_t *p = realloc(log->buf, cap);
    if (p == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    log->buf = p;
    log->buf_cap = cap;
    return ENLACE_OK;
}

static enlace_err_t ensure_parts(log_store_t *log)
{
    if (log->n_parts < log->cap_parts) {
        return ENLACE_OK;
    }
    size_t cap = log->cap_parts ? log->cap_parts * 2 : 8;
    void *p = realloc(log->parts, cap * sizeof(*log->parts));
    if (p == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    log->parts = p;
    log->cap_parts = cap;
    return ENLACE_OK;
}

/* Should a batch start a new segment, though the last one has room? Yes when that one
 * was not prepared (each commit into it pays the slower fdatasync of a growing file) and
 * a prepared file is ready: segments may be short. */
static bool roll_early(const log_store_t *log)
{
    return log->prep != NULL && log->w_size < log->segment_size && log_prep_ready(log->prep);
}

/* Reserves room for a frame of a `len`-byte record with seq `s` in the pending batch
 * (rolling to a new segment rather than passing segment_size) and indexes it. The caller
 * writes the record at *dst + LOG_FRAME_HEADER, then calls place_finish. */
typedef struct {
    uint8_t *dst; /* frame start in the batch buffer */
    size_t frame; /* frame bytes */
    size_t seg;   /* segment number */
    uint64_t off; /* offset in the segment */
    bool roll;    /* the frame starts a new segment */
} placement_t;

static enlace_err_t place_frame(log_store_t *log, uint64_t s, size_t len, placement_t *pl)
{
    if (len == 0 || len > LOG_MAX_RECORD) {
        return ENLACE_ERR_TOO_LARGE;
    }
    pl->frame = LOG_FRAME_HEADER + len;
    pl->roll = log->p_end > 0 && (log->p_end + pl->frame > log->segment_size ||
                                  (log->n_pending == 0 && roll_early(log)));
    pl->seg = pl->roll ? log->p_seg + 1 : log->p_seg;
    pl->off = pl->roll ? 0 : log->p_end;
    if (pl->seg >= LOG_MAX_SEGMENTS) {
        return ENLACE_ERR_TOO_LARGE;
    }
    enlace_err_t rc;
    if ((rc = ensure_buf(log, pl->frame)) != ENLACE_OK || (rc = ensure_parts(log)) != ENLACE_OK ||
        (rc = log_index_set(log->index, s, LOG_POS(pl->seg, pl->off))) != ENLACE_OK) {
        return rc;
    }
    pl->dst = log->buf + log->buf_len;
    return ENLACE_OK;
}

/* Seals the frame written at pl->dst (CRC, leaf hash, tree) and adds it to the batch. */
static enlace_err_t place_finish(log_store_t *log, const placement_t *pl, uint64_t s,
                                 uint64_t time_ms, uint8_t leaf[32])
{
    size_t len = pl->frame - LOG_FRAME_HEADER;
    log_frame_header(pl->dst, pl->dst + LOG_FRAME_HEADER, (uint32_t)len);
    uint8_t h[32];
    merkle_leaf_hash(pl->dst + LOG_FRAME_HEADER, len, h);
    enlace_err_t rc = merkle_append(log->tree, h);
    if (rc != ENLACE_OK) {
        return rc;
    }
    /* Committed to the batch from here on: nothing below can fail. */
    if (pl->roll || log->n_parts == 0) {
        log->parts[log->n_parts++] = (log_part_t){.seg = pl->seg,
                                                  .file_off = pl->off,
                                                  .buf_off = log->buf_len,
                                                  .len = 0,
                                                  .new_seg = pl->roll,
                                                  .first_seq = s};
    }
    log->parts[log->n_parts - 1].len += pl->frame;
    log->buf_len += pl->frame;
    log->p_seg = pl->seg;
    log->p_end = pl->off + pl->frame;
    log->n_pending++;
    if (time_ms > log->last_time_ms) {
        log->last_time_ms = time_ms;
    }
    if (leaf != NULL) {
        memcpy(leaf, h, 32);
    }
    return ENLACE_OK;
}

/* The broker clock for the next record: never below the previous record's time. */
static uint64_t next_time(const log_store_t *log)
{
    uint64_t now = wall_ms();
    return now > log->last_time_ms ? now : log->last_time_ms;
}

static enlace_err_t writer_ready(const log_store_t *log)
{
    if (!log->writable) {
        return ENLACE_ERR_INVALID;
    }
    return log->failed ? ENLACE_ERR_IO : ENLACE_OK;
}

enlace_err_t log_append(log_store_t *log, Enlace__Record *rec, uint64_t *seq, uint8_t leaf[32])
{
    enlace_err_t rc = writer_ready(log);
    if (rc != ENLACE_OK) {
        return rc;
    }
    uint64_t s = log_size(log) + log->n_pending;
    if (rec->seq != 0 && rec->seq != s) {
        return ENLACE_ERR_INVALID;
    }
    uint64_t old_seq = rec->seq, old_time = rec->time_ms;
    rec->seq = s;
    if (rec->time_ms == 0) {
        rec->time_ms = next_time(log);
    }
    size_t len = protobuf_c_message_get_packed_size(&rec->base);
    placement_t pl;
    if ((rc = place_frame(log, s, len, &pl)) != ENLACE_OK) {
        goto undo;
    }
    if (protobuf_c_message_pack(&rec->base, pl.dst + LOG_FRAME_HEADER) != len) {
        rc = ENLACE_ERR_INVALID;
        goto undo;
    }
    if ((rc = place_finish(log, &pl, s, rec->time_ms, leaf)) != ENLACE_OK) {
        goto undo;
    }
    if (seq != NULL) {
        *seq = s;
    }
    return ENLACE_OK;
undo:
    rec->seq = old_seq;
    rec->time_ms = old_time;
    return rc;
}

enlace_err_t log_append_kind(log_store_t *log, const log_bytes_t *parts, size_t n_parts,
                             uint64_t *seq, uint64_t *time_ms, uint8_t leaf[32])
{
    enlace_err_t rc = writer_ready(log);
    if (rc != ENLACE_OK) {
        return rc;
    }
    uint64_t s = log_size(log) + log->n_pending;
    uint64_t t = next_time(log);
    /* Record fields 1 (seq) and 2 (time_ms) first: protobuf-c's canonical order. */
    uint8_t head[2 * (1 + WIRE_VARINT_MAX)];
    size_t hl = wire_uint_field(head, 1, s);
    hl += wire_uint_field(head + hl, 2, t);
    size_t len = hl;
    for (size_t i = 0; i < n_parts; i++) {
        len += parts[i].len;
    }
    placement_t pl;
    if ((rc = place_frame(log, s, len, &pl)) != ENLACE_OK) {
        return rc;
    }
    uint8_t *w = pl.dst + LOG_FRAME_HEADER;
    memcpy(w, head, hl);
    w += hl;
    for (size_t i = 0; i < n_parts; i++) {
        if (parts[i].len) {
            memcpy(w, parts[i].data, parts[i].len);
            w += parts[i].len;
        }
    }
    if ((rc = place_finish(log, &pl, s, t, leaf)) != ENLACE_OK) {
        return rc;
    }
    if (seq != NULL) {
        *seq = s;
    }
    if (time_ms != NULL) {
        *time_ms = t;
    }
    return ENLACE_OK;
}

/* Create segment file number `seg` starting at first_seq and publish it in the table:
 * the prepared file renamed into place when one is ready, else a new empty file. */
static enlace_err_t create_segment(log_store_t *log, size_t seg, uint64_t first_seq)
{
    log_seg_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    s->first_seq = first_seq;
    log_segment_name(first_seq, s->name);
    s->fd = log->prep != NULL ? log_prep_take(log->prep, s->name) : -1;
    bool prepared = s->fd >= 0;
    if (!prepared) {
        s->fd = openat(log->dfd, s->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (s->fd < 0 || log_table_set(log->segs, seg, s) != ENLACE_OK) {
        if (s->fd >= 0) {
            close(s->fd);
            unlinkat(log->dfd, s->name, 0);
        }
        free(s);
        return ENLACE_ERR_IO;
    }
    log->n_segs = seg + 1;
    log->dir_dirty = true; /* the creation or the rename: fsynced by the next sync_now */
    log->w_end = 0;
    log->w_size = prepared ? log->segment_size : 0;
    return ENLACE_OK;
}

enlace_err_t log_create_first_segment(log_store_t *log)
{
    enlace_err_t rc = create_segment(log, 0, 0);
    if (rc == ENLACE_OK && fsync(log->dfd) != 0) {
        rc = ENLACE_ERR_IO;
    }
    log->dir_dirty = false;
    return rc;
}

/* fdatasync every segment with unsynced data, then the directory if a file was created. */
static enlace_err_t sync_now(log_store_t *log)
{
    for (size_t i = log->unsynced_seg; i < log->n_segs; i++) {
        if (fdatasync(log_seg_get(log, i)->fd) != 0) {
            return ENLACE_ERR_IO;
        }
    }
    if (log->dir_dirty && fsync(log->dfd) != 0) {
        return ENLACE_ERR_IO;
    }
    log->unsynced_seg = SIZE_MAX;
    log->dir_dirty = false;
    log->last_sync_ms = log_now_ms();
    return ENLACE_OK;
}

static bool sync_due(const log_store_t *log)
{
    switch (log->fsync) {
    case LOG_FSYNC_ALWAYS: return true;
    case LOG_FSYNC_BATCH: return log_now_ms() - log->last_sync_ms >= log->batch_ms;
    case LOG_FSYNC_NEVER: return false;
    }
    return true;
}

enlace_err_t log_commit(log_store_t *log)
{
    if (!log->writable) {
        return ENLACE_ERR_INVALID;
    }
    if (log->failed) {
        return ENLACE_ERR_IO;
    }
    enlace_err_t rc = ENLACE_OK;
    if (log->n_pending == 0) {
        if (log->fsync == LOG_FSYNC_BATCH && log->unsynced_seg != SIZE_MAX && sync_due(log)) {
            rc = sync_now(log);
        }
        goto done;
    }
    for (size_t i = 0; i < log->n_parts; i++) {
        const log_part_t *p = &log->parts[i];
        if (p->new_seg) {
            /* The previous segment is durable, and cut to its data, before its successor
             * exists: only the last segment can then have a torn tail or a zero tail
             * (log_recover.c relies on it). */
            if ((rc = cut_zero_tail(log)) != ENLACE_OK) {
                goto done;
            }
            if (log->fsync != LOG_FSYNC_NEVER && (rc = sync_now(log)) != ENLACE_OK) {
                goto done;
            }
            if ((rc = create_segment(log, p->seg, p->first_seq)) != ENLACE_OK) {
                goto done;
            }
        }
        if (log->unsynced_seg > p->seg) {
            log->unsynced_seg = p->seg;
        }
        rc = log_pwrite_full(log_seg_get(log, p->seg)->fd, log->buf + p->buf_off, p->len,
                             p->file_off);
        if (rc != ENLACE_OK) {
            goto done;
        }
        log->w_end = p->file_off + p->len;
        if (log->w_size < log->w_end) {
            log->w_size = log->w_end;
        }
    }
    if (sync_due(log) && (rc = sync_now(log)) != ENLACE_OK) {
        goto done;
    }
    /* Durable (per the mode): publish. Readers acquire this and then see the bytes, the
     * index entries and the segment table entries written above. */
    atomic_store_explicit(&log->committed, log_size(log) + log->n_pending, memory_order_release);
    if (log->prep != NULL) {
        log_prep_note(log->prep, log->buf_len, log->w_size < log->segment_size);
    }
    log->n_pending = 0;
    log->n_parts = 0;
    log->buf_len = 0;
done:
    if (rc != ENLACE_OK) {
        log->failed = true; /* unknown state on disk: stop until a restart recovers */
    }
    return rc;
}

enlace_err_t log_sync(log_store_t *log)
{
    if (!log->writable) {
        return ENLACE_OK;
    }
    if (log->failed) {
        return ENLACE_ERR_IO;
    }
    if (log->unsynced_seg == SIZE_MAX && !log->dir_dirty) {
        return ENLACE_OK;
    }
    enlace_err_t rc = sync_now(log);
    if (rc != ENLACE_OK) {
        log->failed = true;
    }
    return rc;
}

long log_sync_due_ms(const log_store_t *log)
{
    if (log->fsync != LOG_FSYNC_BATCH || log->unsynced_seg == SIZE_MAX) {
        return -1;
    }
    uint64_t since = log_now_ms() - log->last_sync_ms;
    return since >= log->batch_ms ? 0 : (long)(log->batch_ms - since);
}

/* ---- readers ------------------------------------------------------------------------------ */

uint64_t log_size(const log_store_t *log)
{
    return atomic_load_explicit(&((log_store_t *)log)->committed, memory_order_acquire);
}

enlace_err_t log_read(log_store_t *log, uint64_t seq, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (seq >= log_size(log)) {
        return ENLACE_ERR_NOT_FOUND;
    }
    uint64_t pos = log_index_get(log->index, seq);
    const log_seg_t *s = log_seg_get(log, LOG_POS_SEGMENT(pos));
    uint64_t off = LOG_POS_OFFSET(pos);
    uint8_t hdr[LOG_FRAME_HEADER];
    enlace_err_t rc = pread_exact(s->fd, hdr, sizeof(hdr), off);
    if (rc != ENLACE_OK) {
        return rc;
    }
    uint32_t n = wire_get_be32(hdr);
    if (n == 0 || n > LOG_MAX_RECORD) {
        return ENLACE_ERR_CORRUPT;
    }
    uint8_t *buf = malloc(n);
    if (buf == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    rc = pread_exact(s->fd, buf, n, off + LOG_FRAME_HEADER);
    if (rc == ENLACE_OK) {
        uint8_t check[LOG_FRAME_HEADER];
        log_frame_header(check, buf, n);
        if (memcmp(check, hdr, LOG_FRAME_HEADER) != 0) {
            rc = ENLACE_ERR_CORRUPT;
        }
    }
    if (rc != ENLACE_OK) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = n;
    return ENLACE_OK;
}

enlace_err_t log_read_record(log_store_t *log, uint64_t seq, Enlace__Record **rec)
{
    uint8_t *data = NULL;
    size_t len = 0;
    *rec = NULL;
    enlace_err_t rc = log_read(log, seq, &data, &len);
    if (rc != ENLACE_OK) {
        return rc;
    }
    rc = log_record_unpack(data, len, rec);
    free(data);
    if (rc == ENLACE_OK && (*rec)->seq != seq) {
        codec_free((ProtobufCMessage **)rec);
        rc = ENLACE_ERR_CORRUPT;
    }
    return rc == ENLACE_OK || rc == ENLACE_ERR_NOMEM ? rc : ENLACE_ERR_CORRUPT;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* Signs a checkpoint over the durable log into *out, with its size and root; *out NULL
 * when there is nothing new to sign (or the note equals the latest). Writer thread. */
static enlace_err_t ck_sign(log_store_t *log, bool force, uint64_t *size_out, uint8_t root[32],
                            char **out)
{
    *out = NULL;
    uint64_t size = log_size(log);
    if ((log->have_ckpt && size == log->ckpt_size && !force) ||
        (!log->have_ckpt && size == 0 && !force)) {
        return ENLACE_OK; /* nothing (new) to commit to */
    }
    /* Sign only what is durable. */
    enlace_err_t rc = log_sync(log);
    if (rc != ENLACE_OK || (rc = merkle_root(log->tree, size, root)) != ENLACE_OK) {
        return rc;
    }
    /* Never sign a checkpoint inconsistent with the previous one (defence in depth: the
     * tree is append-only and was checked against it at open). */
    uint8_t prev[32];
    if (log->have_ckpt &&
        (size < log->ckpt_size || merkle_root(log->tree, log->ckpt_size, prev) != ENLACE_OK ||
         CRYPTO_memcmp(prev, log->ckpt_root, 32) != 0)) {
        return ENLACE_ERR_CORRUPT;
    }
    char *body = NULL, *signed_note = NULL;
    if ((rc = checkpoint_format(log->origin, size, root, &body)) == ENLACE_OK) {
        rc = checkpoint_sign(log->key, log->origin, body, &signed_note);
    }
    free(body);
    if (rc != ENLACE_OK) {
        return rc;
    }
    pthread_mutex_lock(&log->note_lock);
    bool same = log->note != NULL && strcmp(log->note, signed_note) == 0;
    pthread_mutex_unlock(&log->note_lock);
    if (same) {
        free(signed_note); /* already stored */
        log->have_ckpt = true;
        return ENLACE_OK;
    }
    *size_out = size;
    *out = signed_note;
    return ENLACE_OK;
}

/* A stored checkpoint becomes the store's latest (note: ownership moves). */
static void ck_adopt(log_store_t *log, char *note, uint64_t size, const uint8_t root[32])
{
    pthread_mutex_lock(&log->note_lock);
    free(log->note);
    log->note = note;
    pthread_mutex_unlock(&log->note_lock);
    log->have_ckpt = true;
    log->ckpt_size = size;
    memcpy(log->ckpt_root, root, 32);
}

static enlace_err_t writer_ok(const log_store_t *log)
{
    if (!log->writable) {
        return ENLACE_ERR_INVALID;
    }
    return log->failed ? ENLACE_ERR_IO : ENLACE_OK;
}

enlace_err_t log_checkpoint_poll(log_store_t *log, bool wait, bool *finished)
{
    enlace_err_t rc = ENLACE_OK;
    char *note = NULL;
    *finished = log_ckwriter_poll(log->ckw, wait, &rc, &note);
    if (*finished) {
        if (rc == ENLACE_OK) {
            ck_adopt(log, note, log->ck_size, log->ck_root);
        } else {
            free(note);
        }
    }
    return rc;
}

bool log_checkpoint_storing(const log_store_t *log)
{
    return log_ckwriter_busy(log->ckw);
}

enlace_err_t log_checkpoint_start(log_store_t *log, bool *started)
{
    *started = false;
    enlace_err_t rc = writer_ok(log);
    if (rc != ENLACE_OK) {
        return rc;
    }
    if (log_ckwriter_busy(log->ckw)) {
        return ENLACE_ERR_AGAIN;
    }
    if (log->ckw == NULL && (log->ckw = log_ckwriter_new(log->dfd)) == NULL) {
        return log_checkpoint(log, false, NULL); /* no thread: store it here */
    }
    char *signed_note = NULL;
    if ((rc = ck_sign(log, false, &log->ck_size, log->ck_root, &signed_note)) != ENLACE_OK ||
        signed_note == NULL) {
        return rc;
    }
    log_ckwriter_submit(log->ckw, signed_note); /* not busy: checked above */
    *started = true;
    return ENLACE_OK;
}

enlace_err_t log_checkpoint(log_store_t *log, bool force, char **note)
{
    if (note != NULL) {
        *note = NULL;
    }
    enlace_err_t rc = writer_ok(log);
    if (rc != ENLACE_OK) {
        return rc;
    }
    bool finished;
    (void)log_checkpoint_poll(log, true, &finished); /* one started earlier goes first */
    char *signed_note = NULL;
    uint64_t size = 0;
    uint8_t root[32];
    if ((rc = ck_sign(log, force, &size, root, &signed_note)) == ENLACE_OK && signed_note) {
        /* History first: after a crash between the two, open finds the newer entry in the
         * history and rewrites `checkpoint` from it. */
        if ((rc = log_history_append(log->dfd, signed_note)) != ENLACE_OK ||
            (rc = log_history_write_latest(log->dfd, signed_note)) != ENLACE_OK) {
            free(signed_note);
            return rc;
        }
        ck_adopt(log, signed_note, size, root);
    }
    if (rc == ENLACE_OK && note != NULL) {
        rc = log_latest_checkpoint(log, note);
    }
    return rc;
}

enlace_err_t log_latest_checkpoint(log_store_t *log, char **note)
{
    enlace_err_t rc = ENLACE_ERR_NOT_FOUND;
    *note = NULL;
    pthread_mutex_lock(&log->note_lock);
    if (log->note != NULL) {
        *note = strdup(log->note);
        rc = *note ? ENLACE_OK : ENLACE_ERR_NOMEM;
    }
    pthread_mutex_unlock(&log->note_lock);
    return rc;
}

uint64_t log_checkpoint_size(const log_store_t *log)
{
    return log->have_ckpt ? log->ckpt_size : 0;
}

/* ---- proofs and accessors ------------------------------------------------------------- */

enlace_err_t log_inclusion_proof(log_store_t *log, uint64_t seq, uint64_t size,
                                 uint8_t (*proof)[32], size_t max, size_t *n)
{
    *n = 0;
    if (size > log_size(log)) {
        return ENLACE_ERR_INVALID;
    }
    return merkle_inclusion_proof(log->tree, seq, size, proof, max, n);
}

enlace_err_t log_consistency_proof(log_store_t *log, uint64_t old_size, uint64_t new_size,
                                   uint8_t (*proof)[32], size_t max, size_t *n)
{
    *n = 0;
    if (new_size > log_size(log)) {
        return ENLACE_ERR_INVALID;
    }
    return merkle_consistency_proof(log->tree, old_size, new_size, proof, max, n);
}

enlace_err_t log_root(log_store_t *log, uint64_t size, uint8_t out[32])
{
    if (size > log_size(log)) {
        return ENLACE_ERR_INVALID;
    }
    return merkle_root(log->tree, size, out);
}

const merkle_t *log_tree(const log_store_t *log)
{
    return log->tree;
}

bool log_prepared_ready(const log_store_t *log)
{
    return log->prep != NULL && log_prep_ready(log->prep);
}

uint64_t log_recovered_bytes(const log_store_t *log)
{
    return log->recovered;
}

const char *log_recovery_detail(const log_store_t *log)
{
    return log->recovery_detail;
}
