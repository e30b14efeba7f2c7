/* The hooker library of tests/integration/test_got.py (hooker.c), as its
 * host (tests/tools/got_host.c) sees it: one exported table, so that the
 * only functions the hooker exports are its hooks (and sprintf, which
 * tt_got_hooks must leave out). */
#ifndef TT_TEST_GOT_HOOKER_H
#define TT_TEST_GOT_HOOKER_H

#include <stddef.h>

struct got_hooker {
	/* tt_got_hooks' names, sorted, space separated */
	void (*hooks)(char *out, size_t cap);
	/* tt_got_install with tt_got_hooks' table */
	size_t (*install)(char *why, size_t cap);
	void (*refresh)(void);
	size_t (*restore)(size_t *left_alone);
	/* calls the hooks counted: read, write, close, and those of the
	 * function someone else put in a slot (meddle) */
	void (*counts)(unsigned long c[4]);
	/* the values of the read, write and close slots of the object
	 * holding in_obj (at most cap, relocation order): how many it has;
	 * *stubs: how many point into that object itself (PLT stubs) */
	size_t (*peek)(const void *in_obj, void **vals, size_t cap,
		       size_t *stubs);
	/* someone else's change: the object's read slot pointed at a
	 * function that is not the hook (its .got.plt is writable) */
	int (*meddle)(const void *in_obj);
};

#endif
