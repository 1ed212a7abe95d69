// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module for tests/vm/selftest: it emits a kernel WARNING when
 * loaded, so the selftest can check that tests/vm/run notices kernel
 * warnings and fails the run (exit 125). Never load this anywhere else.
 */
#include <linux/bug.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init warn_on_load_init(void)
{
	WARN(1, "ubd harness self-test\n");
	return 0;
}

static void __exit warn_on_load_exit(void)
{
}

module_init(warn_on_load_init);
module_exit(warn_on_load_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ubd VM harness self-test: WARN() on load");
