/* Hooks installed by rewriting GOT entries, for a library loaded into a
 * running process with dlopen (RTLD_LOCAL): there its exported read,
 * write, SSL_new... interpose nothing, since the program and its
 * libraries are already bound to libc's.  So every GOT slot that names
 * one of our hooks (R_X86_64_JUMP_SLOT and R_X86_64_GLOB_DAT, from
 * DT_JMPREL and DT_RELA) in every loaded object but ours, the dynamic
 * loader's and the vDSO's is pointed at our function, and put back on
 * restore.
 *
 * Memory is bounded: TT_GOT_SLOTS slots and TT_GOT_OBJS objects are
 * remembered; past that the rest are left as they were and the install
 * says so.  Nothing is loaded.  errno is kept.  Safe from any thread:
 * hosts' threads run through the slots while they change (got.c says
 * why a slot is never seen half-written). */
#ifndef TT_SHIM_GOT_H
#define TT_SHIM_GOT_H

#include <link.h>
#include <stdbool.h>
#include <stddef.h>

/* Slots remembered (to put back), objects remembered (to patch each
 * once and to know which are gone), hooks a table may hold. */
#ifndef TT_GOT_SLOTS /* (a test builds a small one to fill it) */
#define TT_GOT_SLOTS 2048
#endif
#define TT_GOT_OBJS 512
#define TT_GOT_FNS  128

/* A hooked name with our function (the library's own definition). */
struct tt_got_fn {
	const char *name;
	void *fn;
};

/* Points every slot that names one of fns (copied: at most TT_GOT_FNS;
 * the names must stay valid until tt_got_restore) in every loaded object
 * but ours, the dynamic loader and the vDSO at our function, remembering
 * what it held.  RELRO pages are made writable only for the write, page
 * by page, and put back as they were.  Returns how many slots were
 * patched; why (unless NULL or cap is 0) says what was left as it was
 * and why, or is "" when nothing was.  Called again before
 * tt_got_restore, it patches only what tt_got_refresh would, with the
 * first table. */
size_t tt_got_install(const struct tt_got_fn *fns, size_t n, char *why,
		      size_t cap);

/* Patches the objects loaded since the last install or refresh (dlopen),
 * and those an earlier pass found still being relocated.  When nothing
 * was loaded or unloaded it costs one dl_iterate_phdr call that stops at
 * the first object: no syscall, no allocation.  Never waits for another
 * thread's pass.  Safe from any hook, any thread. */
void tt_got_refresh(void);

/* Puts back every slot that still holds our function, in objects still
 * loaded (an object dlclose'd meanwhile is skipped: its memory is gone),
 * and forgets them: refresh does nothing until the next install.
 * Returns how many were restored; *left_alone (unless NULL) counts the
 * slots someone else changed since, left as they are.  A slot that could
 * not be written (its page not in /proc/self/maps, mprotect refused) is
 * kept for another call, as all are when the loaded objects kept
 * changing under the call (it returns 0 then). */
size_t tt_got_restore(size_t *left_alone);

/* How many slots still hold our function and wait for a restore (0
 * after a complete one). */
size_t tt_got_held(void);

/* The table of our hooks: every function this library exports (the
 * global list of shim/exports.map, as the linker applied it) but the
 * two that are no hooks (sprintf and __sprintf_chk, see got.c), each
 * with the address of our own definition (dlsym on our own handle).
 * Fills out with at most cap and returns how many there are (more than
 * cap: some left out).  Loads nothing. */
size_t tt_got_hooks(struct tt_got_fn *out, size_t cap);

/* For the tests and the walk itself.  The slots of the object info
 * describes that name one of fns: found(arg, slot, i, jump_slot) for
 * each, fns[i] being the name; returns how many.  Everything read is
 * first checked to lie inside the object's PT_LOAD segments, slots
 * inside a writable one, 8-byte aligned: a corrupt dynamic section, a
 * table or index out of range, a name without its NUL end the walk (or
 * that entry) and nothing else.  Call it only while the object cannot
 * go away (inside dl_iterate_phdr, or on memory of one's own). */
typedef void (*tt_got_found_fn)(void *arg, void **slot, size_t i,
				bool jump_slot);
size_t tt_got_scan(const struct dl_phdr_info *info, const struct tt_got_fn *fns,
		   size_t n, tt_got_found_fn found, void *arg);

/* The names of the functions the object exports (defined, global or
 * weak, default or protected visibility), its symbol count taken from
 * DT_GNU_HASH or DT_HASH: at most cap in names; returns how many there
 * are.  Same checks and conditions as tt_got_scan. */
size_t tt_got_exports(const struct dl_phdr_info *info, const char **names,
		      size_t cap);

#endif
