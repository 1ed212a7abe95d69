// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The loop target's I/O mapping on a real io_uring and real files, without
 * the driver: each io descriptor goes through loop_io_init/prep/complete
 * as the queue thread would run it, and the file shows the outcome.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "loop_io.h"
#include "tap.h"

#define FILE_SIZE	(1U << 20)
#define BUF_SIZE	(256U << 10)

static struct io_uring ring;
static char *buf;
static unsigned int last_steps;	/* SQEs the last io took */
static int run_buf_index = -1;	/* buf's registered buffer for run_io */

/* run one io to its end as the queue thread would; its result */
static int run_io(const struct loop_file *f, unsigned int op,
		  unsigned int flags, uint64_t sector, uint32_t nr_sectors)
{
	struct ubd_io_desc iod = {
		.op_flags = op | flags,
		.nr_sectors = nr_sectors,
		.start_sector = sector,
	};
	struct loop_io io;
	int res = -EPROTO;
	bool done;

	last_steps = 0;
	if (loop_io_init(&io, f, &iod, buf))
		return -EOPNOTSUPP;
	io.buf_index = run_buf_index;
	do {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;
		int ret;

		loop_io_prep(f, &io, sqe);
		sqe->user_data = 42;
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 || io_uring_peek_cqe(&ring, &cqe))
			return -EPROTO;
		last_steps++;
		done = loop_io_complete(&io, cqe->res, &res);
		io_uring_cqe_seen(&ring, cqe);
	} while (!done && last_steps < 16);
	return res;
}

static bool all_bytes(const char *p, int c, size_t n)
{
	while (n--)
		if (*p++ != (char)c)
			return false;
	return true;
}

static bool file_bytes(int fd, off_t off, int c, size_t n)
{
	char *tmp = malloc(n);
	bool ok = tmp && pread(fd, tmp, n, off) == (ssize_t)n &&
		  all_bytes(tmp, c, n);

	free(tmp);
	return ok;
}

static blkcnt_t blocks_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_blocks;
}

/* a fresh file of FILE_SIZE bytes of 0xaa in @dir; fd or -1 */
static int make_file(const char *dir, char *path, size_t size)
{
	int fd;

	snprintf(path, size, "%s/test-loop-io.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	memset(buf, 0xaa, BUF_SIZE);
	for (off_t off = 0; off < FILE_SIZE; off += BUF_SIZE)
		if (pwrite(fd, buf, BUF_SIZE, off) != BUF_SIZE) {
			close(fd);
			return -1;
		}
	fsync(fd);
	return fd;
}

static void test_rw(const char *what, int fd, uint64_t offset)
{
	struct loop_file f = { .fd = fd, .offset = offset };
	int res;

	memset(buf, 0x11, 8192);
	res = run_io(&f, UBD_IO_OP_WRITE, 0, 8, 16);
	t_ok(res == 8192 && file_bytes(fd, offset + 4096, 0x11, 8192) &&
	     file_bytes(fd, offset + 4096 + 8192, 0xaa, 512),
	     "%s: write 8K at sector 8 lands at byte %llu (res %d)", what,
	     (unsigned long long)offset + 4096, res);

	memset(buf, 0, 8192);
	res = run_io(&f, UBD_IO_OP_READ, 0, 8, 16);
	t_ok(res == 8192 && all_bytes(buf, 0x11, 8192),
	     "%s: read back 8K (res %d)", what, res);

	memset(buf, 0x22, 4096);
	res = run_io(&f, UBD_IO_OP_WRITE, UBD_IO_F_FUA, 64, 8);
	t_ok(res == 4096 && file_bytes(fd, offset + 32768, 0x22, 4096),
	     "%s: FUA write (res %d)", what, res);

	res = run_io(&f, UBD_IO_OP_FLUSH, 0, 0, 0);
	t_ok(res == 0, "%s: flush (res %d)", what, res);
}

/*
 * A file in the ring's file table: the SQEs must name its slot, not the
 * fd (which is left invalid here, so using it fails with EBADF).
 */
static void test_registered(const char *what, int fd)
{
	int fds[4] = { -1, -1, -1, fd };
	struct loop_file f = { .fd = -1, .registered = true, .slot = 3 };
	int ret, res;

	ret = io_uring_register_files(&ring, fds, 4);
	if (ret) {
		t_skip("cannot register a sparse file table on this kernel");
		return;
	}
	memset(buf, 0x44, 4096);
	res = run_io(&f, UBD_IO_OP_WRITE, 0, 24, 8);
	t_ok(res == 4096 && file_bytes(fd, 12288, 0x44, 4096),
	     "%s: write through the registered file's slot (res %d)", what,
	     res);
	memset(buf, 0, 4096);
	res = run_io(&f, UBD_IO_OP_READ, 0, 24, 8);
	t_ok(res == 4096 && all_bytes(buf, 0x44, 4096),
	     "%s: read through the registered file's slot (res %d)", what,
	     res);
	res = run_io(&f, UBD_IO_OP_FLUSH, 0, 0, 0);
	t_ok(res == 0, "%s: flush through the slot (res %d)", what, res);
	io_uring_unregister_files(&ring);
}

static void test_zero(const char *what, int fd, bool holes)
{
	struct loop_file f = { .fd = fd };
	blkcnt_t before, after;
	int res;

	/* 256K from byte 256K: whole blocks on any file system */
	before = blocks_of(fd);
	res = run_io(&f, UBD_IO_OP_DISCARD, 0, 512, 512);
	after = blocks_of(fd);
	t_ok(res == 0, "%s: discard (res %d)", what, res);
	if (holes)
		t_ok(after <= before - 512,
		     "%s: discard punched a hole: %lld -> %lld blocks", what,
		     (long long)before, (long long)after);
	t_ok(file_bytes(fd, 256 << 10, 0, 256 << 10) &&
	     file_bytes(fd, 512 << 10, 0xaa, 4096),
	     "%s: discarded range reads zeroes, the next byte does not", what);

	res = run_io(&f, UBD_IO_OP_WRITE_ZEROES, 0, 1024, 64);
	t_ok(res == 0 && file_bytes(fd, 512 << 10, 0, 32768) &&
	     file_bytes(fd, (512 << 10) + 32768, 0xaa, 512),
	     "%s: write zeroes (unmap) reads back zeroes (res %d, %u steps)",
	     what, res, last_steps);

	before = blocks_of(fd);
	res = run_io(&f, UBD_IO_OP_WRITE_ZEROES, UBD_IO_F_NOUNMAP, 1536, 64);
	after = blocks_of(fd);
	t_ok(res == 0 && file_bytes(fd, 768 << 10, 0, 32768) &&
	     file_bytes(fd, (768 << 10) + 32768, 0xaa, 512),
	     "%s: write zeroes (nounmap) reads back zeroes (res %d, %u steps)",
	     what, res, last_steps);
	t_ok(after >= before,
	     "%s: write zeroes (nounmap) kept the blocks: %lld -> %lld", what,
	     (long long)before, (long long)after);
}

/* READ_FIXED and WRITE_FIXED from a registered buffer, a short one too */
static void test_fixed_buf(const char *what, int fd)
{
	struct iovec iov = { .iov_base = buf, .iov_len = 65536 };
	struct loop_file f = { .fd = fd };
	struct ubd_io_desc iod = {
		.op_flags = UBD_IO_OP_WRITE, .nr_sectors = 8, .start_sector = 2,
	};
	struct io_uring_sqe sqe;
	struct loop_io io;
	int ret, res;

	ret = io_uring_register_buffers(&ring, &iov, 1);
	if (ret) {
		t_skip("cannot register a buffer here");
		return;
	}
	run_buf_index = 0;
	memset(buf, 0x55, 8192);
	res = run_io(&f, UBD_IO_OP_WRITE, 0, 40, 16);
	t_ok(res == 8192 && file_bytes(fd, 40 * 512, 0x55, 8192),
	     "%s: write from a registered buffer (res %d)", what, res);
	memset(buf, 0, 8192);
	res = run_io(&f, UBD_IO_OP_READ, 0, 40, 16);
	t_ok(res == 8192 && all_bytes(buf, 0x55, 8192),
	     "%s: read into a registered buffer (res %d)", what, res);
	run_buf_index = -1;
	io_uring_unregister_buffers(&ring);

	loop_io_init(&io, &f, &iod, buf);
	t_ok(io.buf_index == -1, "init leaves the buffer unregistered");
	io.buf_index = 0;
	loop_io_complete(&io, 1000, &res);
	memset(&sqe, 0, sizeof(sqe));
	loop_io_prep(&f, &io, &sqe);
	t_ok(sqe.opcode == IORING_OP_WRITE_FIXED && sqe.buf_index == 0 &&
	     sqe.addr == (uintptr_t)(buf + 1000) && sqe.len == 3096,
	     "the rest of a short fixed write stays fixed (opcode %u)",
	     sqe.opcode);
}

/* short transfers go on with the rest; EOF ends with the whole sectors */
static void test_short(int fd)
{
	struct loop_file f = { .fd = fd };
	struct ubd_io_desc iod = {
		.op_flags = UBD_IO_OP_READ, .nr_sectors = 8, .start_sector = 2,
	};
	struct io_uring_sqe sqe;
	struct loop_io io;
	int res = 1;
	bool done;

	loop_io_init(&io, &f, &iod, buf);
	t_ok(!loop_io_complete(&io, 1000, &res),
	     "short read of 1000 of 4096 bytes asks for more");
	memset(&sqe, 0, sizeof(sqe));
	loop_io_prep(&f, &io, &sqe);
	t_ok(sqe.opcode == IORING_OP_READ && sqe.off == 1024 + 1000 &&
	     sqe.len == 3096 && sqe.addr == (uintptr_t)(buf + 1000),
	     "the rest is read from byte %llu, %u bytes",
	     (unsigned long long)sqe.off, sqe.len);
	t_ok(!loop_io_complete(&io, -EAGAIN, &res), "-EAGAIN is retried");
	done = loop_io_complete(&io, 3096, &res);
	t_ok(done && res == 4096,
	     "the rest completes the io with 4096 (res %d)", res);

	loop_io_init(&io, &f, &iod, buf);
	done = loop_io_complete(&io, -EIO, &res);
	t_ok(done && res == -EIO, "an error ends the io with it (res %d)",
	     res);

	/* a real read over the end of the file: 2K there, then EOF */
	res = run_io(&f, UBD_IO_OP_READ, 0, FILE_SIZE / 512 - 4, 16);
	t_ok(res == 2048, "read over EOF completes with the 2048 bytes there (res %d, %u steps)",
	     res, last_steps);
	res = run_io(&f, UBD_IO_OP_READ, 0, FILE_SIZE / 512, 8);
	t_ok(res == -EIO, "read wholly past EOF fails with -EIO (res %d)", res);

	iod.op_flags = UBD_IO_OP_ZONE_OPEN;
	t_ok(loop_io_init(&io, &f, &iod, buf) == -EOPNOTSUPP,
	     "zone ops are refused");
}

static bool is_tmpfs(const char *dir)
{
	struct statfs sfs;

	return !statfs(dir, &sfs) && sfs.f_type == TMPFS_MAGIC;
}

/* can O_DIRECT be set on @fd, and then read through the ring? */
static void test_direct(const char *dir, int fd)
{
	unsigned int align = loop_file_dio_align(fd);
	struct loop_file f = { .fd = fd };
	int fl = fcntl(fd, F_GETFL);
	int res;

	/* tmpfs has (trivial) direct I/O only since Linux 6.6 */
	if (!align) {
		t_ok(is_tmpfs(dir),
		     "%s: statx says no direct I/O: only tmpfs should", dir);
		return;
	}
	if (fcntl(fd, F_SETFL, fl | O_DIRECT)) {
		t_skip("O_DIRECT refused here although statx allows it");
		return;
	}
	t_ok(align >= 512 && align <= 4096 && !(align & (align - 1)),
	     "%s: direct I/O alignment %u", dir, align);
	res = run_io(&f, UBD_IO_OP_READ, 0, 0, 16);
	t_ok(res == 8192, "%s: O_DIRECT read of 8K into a page-aligned buffer (res %d)",
	     dir, res);
	memset(buf, 0x33, 4096);
	res = run_io(&f, UBD_IO_OP_WRITE, UBD_IO_F_FUA, 16, 8);
	fcntl(fd, F_SETFL, fl);
	t_ok(res == 4096 && file_bytes(fd, 8192, 0x33, 4096),
	     "%s: O_DIRECT FUA write (res %d)", dir, res);
}

static void test_dir(const char *dir)
{
	char path[4096];
	bool tmpfs = is_tmpfs(dir);
	int fd = make_file(dir, path, sizeof(path));

	if (fd < 0) {
		t_skip("cannot make a file to test in");
		return;
	}
	printf("# %s (%s)\n", dir, tmpfs ? "tmpfs" : "not tmpfs");
	test_rw(dir, fd, 0);
	test_rw(dir, fd, 65536);
	test_registered(dir, fd);
	test_fixed_buf(dir, fd);
	test_zero(dir, fd, true);
	test_short(fd);
	close(fd);

	fd = make_file(dir, path, sizeof(path));
	if (fd >= 0) {
		test_direct(dir, fd);
		close(fd);
	}
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ?: "/tmp";
	int ret;

	ret = io_uring_queue_init(8, &ring, 0);
	if (ret) {
		t_skip("no io_uring here");
		return t_done();
	}
	if (posix_memalign((void **)&buf, 4096, BUF_SIZE))
		return EXIT_FAILURE;

	test_dir(tmp);
	if (is_tmpfs("/dev/shm") && !is_tmpfs(tmp))
		test_dir("/dev/shm");
	else
		t_skip("no tmpfs besides $TMPDIR to compare with");

	io_uring_queue_exit(&ring);
	free(buf);
	return t_done();
}
