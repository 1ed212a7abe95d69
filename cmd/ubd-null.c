// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ubd-null: a block device with no storage.  Reads return zeroes, writes
 * are dropped; every io completes at once in the queue thread.  The
 * reference target for measuring the cost of the data path itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tgt_common.h"

#define NULL_DEF_SIZE	(1ULL << 30)

struct null_tgt {
	uint64_t size;
};

/*
 * Per queue, per tag: how many bytes at the start of the tag's buffer are
 * zeroes in pages of their own.  The buffers are untouched anonymous
 * memory, where every page is the shared zero page: reading it is free,
 * but the driver, to copy a READ's data from it, must pin it, and pinning
 * the zero page takes the slow GUP path (mmap lock, VMA walk) on every io.
 * So a READ first writes its zeroes once, and again only after a WRITE's
 * data landed there.
 */
struct null_queue {
	uint32_t zeroed[UBD_MAX_QUEUE_DEPTH];
};

static int null_init_tgt(struct ubd_dev *dev, struct ubd_params *p)
{
	struct null_tgt *t = ubd_dev_tgt_data(dev);

	p->basic.dev_sectors = t->size >> 9;
	p->basic.attrs |= UBD_ATTR_VOLATILE_CACHE | UBD_ATTR_FUA;
	/* discards and zeroing cost nothing here */
	p->types |= UBD_PARAM_TYPE_DISCARD;
	p->discard.discard_granularity = 4096;
	p->discard.max_discard_sectors = UINT32_MAX >> 9;
	p->discard.max_write_zeroes_sectors = UINT32_MAX >> 9;
	p->discard.max_discard_segments = 1;
	return 0;
}

static int null_init_queue(struct ubd_queue *q)
{
	struct null_queue *nq = calloc(1, sizeof(*nq));

	if (!nq)
		return -ENOMEM;
	ubd_queue_set_data(q, nq);
	return 0;
}

static int null_queue_io(struct ubd_queue *q, int tag,
			 const struct ubd_io_desc *iod)
{
	struct null_queue *nq = ubd_queue_data(q);
	unsigned int bytes = iod->nr_sectors << 9;

	switch (ubdsrv_get_op(iod)) {
	case UBD_IO_OP_READ:
		if (nq->zeroed[tag] < bytes) {
			memset(ubd_queue_io_buf(q, tag), 0, bytes);
			nq->zeroed[tag] = bytes;
		}
		ubd_complete_io(q, tag, bytes);
		return 0;
	case UBD_IO_OP_WRITE:
		nq->zeroed[tag] = 0;
		ubd_complete_io(q, tag, bytes);
		return 0;
	case UBD_IO_OP_FLUSH:
	case UBD_IO_OP_DISCARD:
	case UBD_IO_OP_WRITE_ZEROES:
		ubd_complete_io(q, tag, 0);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static const struct ubd_tgt_ops null_tgt_ops = {
	.name		= "null",
	.init_tgt	= null_init_tgt,
	.init_queue	= null_init_queue,
	.queue_io	= null_queue_io,
};

static void usage(void)
{
	FILE *out = stdout;

	fprintf(out, "\nUsage:\n %s [options]\n", program_invocation_short_name);
	fputs("\nServe a ubd block device with no storage: reads return zeroes,\n"
	      "writes are discarded.\n", out);
	fputs("\nOptions:\n"
	      " -s, --size <size>      device size (default 1G)\n", out);
	tgt_common_usage(out);
	fprintf(out, "\nFor more details see %s(8).\n",
		program_invocation_short_name);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		TGT_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct null_tgt t = { .size = NULL_DEF_SIZE };
	struct ubd_dev_opts opts;
	int c, ret;

	tgt_opts_init(&opts);
	while ((c = getopt_long(argc, argv, "s:" TGT_COMMON_SHORTOPTS,
				longopts, NULL)) != -1) {
		if (tgt_common_opt(c, optarg, &opts, usage))
			continue;
		switch (c) {
		case 's':
			t.size = tgt_parse_size_or_die("size", optarg, 4096,
						       1ULL << 50);
			if (t.size % 4096)
				tgt_usage_error("size '%s' is not a multiple of 4096",
						optarg);
			break;
		default:
			tgt_errtryhelp();
		}
	}
	if (optind < argc)
		tgt_usage_error("unexpected argument '%s'", argv[optind]);
	tgt_opts_check(&opts);

	ret = ubd_serve(&null_tgt_ops, &opts, &t);
	return ret ? TGT_EXIT_FAILURE : EXIT_SUCCESS;
}
