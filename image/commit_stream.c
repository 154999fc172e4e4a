/* commit_stream: a directory -> its layer tar -> the layer unpacked, in one
 * pass. The tar writer runs on a second thread and its bytes go through a
 * small ring of buffers straight into image_layer_unpack on the caller's
 * thread: no staging tar, so the source is read once and the new layer
 * written once, and the reads overlap the writes on two cores. */
#include "image/commit_stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"
#include "image/save_internal.h"

/* Four 1 MiB slots: the writer's output comes in pieces of up to 1 MiB
 * (tar_writer's OUT_BUF and READ_BUF), and a few slots of slack absorb the
 * different rhythms of reading small files and writing them. */
#define SLOT_SIZE (1u << 20)
#define N_SLOTS 4

/* Slots are filled by the writer in order and consumed by the reader in
 * order; head and tail count slots published and released. The slot the
 * reader returned last stays its own until its next read, because
 * libarchive (and the unpacker's hasher) may use that block until then. */
struct ring {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *slot[N_SLOTS];
	size_t len[N_SLOTS];
	unsigned long head, tail;
	size_t fill;     /* bytes in slot head, which the writer owns while filling */
	bool held;       /* the reader holds slot tail */
	bool eof;        /* the writer finished: nothing after the published slots */
	bool wr_failed;  /* the writer failed: the reader stops at once */
	bool cancelled;  /* the reader is done (or failed): writes fail */
	bool hit_cancel; /* a write failed because of that (writer's side only) */
};

static int ring_init(struct ring *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < N_SLOTS; i++) {
		if (!(r->slot[i] = malloc(SLOT_SIZE)))
			goto fail;
	}
	if (pthread_mutex_init(&r->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&r->cv, NULL) != 0) {
		pthread_mutex_destroy(&r->mu);
		goto fail;
	}
	return 0;
fail:
	for (size_t i = 0; i < N_SLOTS; i++)
		free(r->slot[i]);
	return -1;
}

static void ring_release(struct ring *r)
{
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	for (size_t i = 0; i < N_SLOTS; i++)
		free(r->slot[i]);
}

/* ---- writer side (second thread) ------------------------------------------ */

/* Wait until slot head is free; false when the reader has gone. */
static bool slot_acquire(struct ring *r)
{
	bool ok;

	pthread_mutex_lock(&r->mu);
	while (r->head - r->tail >= N_SLOTS && !r->cancelled)
		pthread_cond_wait(&r->cv, &r->mu);
	ok = !r->cancelled;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

static void slot_publish(struct ring *r)
{
	pthread_mutex_lock(&r->mu);
	r->len[r->head % N_SLOTS] = r->fill;
	r->head++;
	r->fill = 0;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* image_write_fn: copy into slots, publishing each one as it fills. */
static int ring_write(void *ctx, const void *buf, size_t len)
{
	struct ring *r = ctx;
	const char *p = buf;

	while (len > 0) {
		size_t n = SLOT_SIZE - r->fill;
		if (r->fill == 0 && !slot_acquire(r)) {
			r->hit_cancel = true;
			errno = ECANCELED;
			return -1;
		}
		if (n > len)
			n = len;
		memcpy(r->slot[r->head % N_SLOTS] + r->fill, p, n);
		r->fill += n;
		p += n;
		len -= n;
		if (r->fill == SLOT_SIZE)
			slot_publish(r);
	}
	return 0;
}

/* The writer's end: the last partial slot, then end of stream or failure. */
static void ring_close(struct ring *r, bool ok)
{
	if (ok && r->fill > 0)
		slot_publish(r);
	pthread_mutex_lock(&r->mu);
	if (ok)
		r->eof = true;
	else
		r->wr_failed = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* ---- reader side (the caller's thread) -------------------------------------- */

/* image_read_fn: release the slot returned last, then wait for the next. */
static ssize_t ring_read(void *ctx, const void **buf)
{
	struct ring *r = ctx;
	ssize_t n = 0;

	pthread_mutex_lock(&r->mu);
	if (r->held) {
		r->tail++;
		r->held = false;
		pthread_cond_broadcast(&r->cv);
	}
	while (r->tail == r->head && !r->eof && !r->wr_failed)
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->wr_failed) {
		/* The writer's own error is what gets reported. */
		errno = EPIPE;
		n = -1;
	} else if (r->tail != r->head) {
		*buf = r->slot[r->tail % N_SLOTS];
		n = (ssize_t)r->len[r->tail % N_SLOTS];
		r->held = true;
	}
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void ring_cancel(struct ring *r)
{
	pthread_mutex_lock(&r->mu);
	r->cancelled = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* ---- the two sides together ----------------------------------------------------- */

struct writer {
	struct ring *ring;
	int src_dirfd;
	enum whiteout_form wf;
	const char *const *skip;
	struct image_tar_result *res;
	struct err err;
	int rc;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	w->rc = image_layer_write_tar_unhashed(w->src_dirfd, w->wf, w->skip, ring_write, w->ring,
					       w->res, &w->err);
	ring_close(w->ring, w->rc == 0);
	return NULL;
}

/* The writer recurses once per directory level with path buffers in its
 * frames: give it what the main thread has, whatever RLIMIT_STACK says. */
static int writer_start(pthread_t *th, struct writer *w)
{
	pthread_attr_t attr;
	int rc;

	if ((rc = pthread_attr_init(&attr)) != 0)
		return rc;
	rc = pthread_attr_setstacksize(&attr, 8u << 20);
	if (rc == 0)
		rc = pthread_create(th, &attr, writer_main, w);
	pthread_attr_destroy(&attr);
	return rc;
}

int image_layer_write_unpack(int src_dirfd, enum whiteout_form wf, const char *const *skip,
			     int dest_dirfd, struct image_tar_result *tar,
			     struct image_unpack_result *unpacked, struct err *err)
{
	struct ring ring;
	struct writer w = {
		.ring = &ring, .src_dirfd = src_dirfd, .wf = wf, .skip = skip, .res = tar
	};
	pthread_t th;
	int rc;

	if (ring_init(&ring) < 0)
		return err_sys(err, ENOMEM, "write layer tar");
	if ((rc = writer_start(&th, &w)) != 0) {
		ring_release(&ring);
		return err_sys(err, rc, "write layer tar: start writer thread");
	}
	rc = image_layer_unpack(ring_read, &ring, dest_dirfd, wf, unpacked, err);
	/* Success means the unpacker read to the writer's end; a failure must
	 * not leave the writer waiting for room. */
	ring_cancel(&ring);
	pthread_join(th, NULL);
	ring_release(&ring);
	if (w.rc < 0 && !ring.hit_cancel) {
		*err = w.err; /* the unpacker only saw the stream stop */
		return -1;
	}
	if (rc < 0)
		return -1;
	/* Every byte written was read: the unpacker drains to the end. */
	if (tar->size != unpacked->blob_size)
		return err_set(err, EIO, "write layer tar: %lld bytes written, %lld unpacked",
			       tar->size, unpacked->blob_size);
	memcpy(tar->diff_id, unpacked->diff_id, DIGEST_BUF);
	memcpy(tar->blob_digest, unpacked->diff_id, DIGEST_BUF);
	return 0;
}
