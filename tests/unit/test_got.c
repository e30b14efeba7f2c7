/* shim/got.c's walk over an object's dynamic section, on objects made
 * here: the JUMP_SLOT and GLOB_DAT slots that name a hook are found, and
 * nothing else, whether the loader relocated the d_ptr values or not;
 * the exported functions are listed, their count from DT_GNU_HASH or
 * DT_HASH.  Then every way a corrupt object can lie (tables, sizes,
 * indexes, offsets out of range, names without their end, a missing
 * DT_NULL, hash tables that never end) and random corruption: the walk
 * stays inside the object (each object is a heap block of its exact
 * size: ASan sees any read past it) and finds only slots inside it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "got.h"

/* The whole object: one writable PT_LOAD from offset 0 to its end. */
struct image {
	ElfW(Phdr) ph[2];
	ElfW(Dyn) dyn[16];
	ElfW(Rela) jmprel[3];
	ElfW(Rela) rela[3];
	ElfW(Sym) sym[8];
	uint32_t hash[16];
	char str[64];
	void *got[8];
};

/* "\0read\0write\0close\0open\0sprintf\0table\0hidden\0" */
enum {
	S_READ = 1,
	S_WRITE = 6,
	S_CLOSE = 12,
	S_OPEN = 18,
	S_SPRINTF = 23,
	S_TABLE = 31,
	S_HIDDEN = 37,
	S_END = 44
};

static const struct tt_got_fn fns[] = {
	{"read", NULL}, {"write", NULL}, {"close", NULL}};

#define OFF(field) ((ElfW(Addr))offsetof(struct image, field))

static void sym(ElfW(Sym) * s, unsigned name, int type, int bind,
		unsigned shndx, int vis)
{
	s->st_name = name;
	s->st_info = (unsigned char)ELF64_ST_INFO(bind, type);
	s->st_other = (unsigned char)vis;
	s->st_shndx = (uint16_t)shndx;
}

static void rela(ElfW(Rela) * r, ElfW(Addr) off, unsigned symi, unsigned type)
{
	r->r_offset = off;
	r->r_info = ELF64_R_INFO(symi, type);
	r->r_addend = 0;
}

enum { HASH_GNU, HASH_SYSV, HASH_NONE };

/* A valid object: jump slots read (got[0]), write (got[1]), open
 * (got[2], no hook); GLOB_DAT close (got[3]) and read (got[5]) and a
 * RELATIVE (got[4]).  sprintf is defined, exported; table is data,
 * hidden is hidden. */
static struct image *make(bool absolute, int hash)
{
	struct image *im = calloc(1, sizeof(*im));
	assert_non_null(im);
	ElfW(Addr) base = absolute ? (ElfW(Addr))(uintptr_t)im : 0;
	im->ph[0].p_type = PT_LOAD;
	im->ph[0].p_flags = PF_R | PF_W;
	im->ph[0].p_vaddr = 0;
	im->ph[0].p_memsz = sizeof(*im);
	im->ph[1].p_type = PT_DYNAMIC;
	im->ph[1].p_flags = PF_R | PF_W;
	im->ph[1].p_vaddr = OFF(dyn);
	im->ph[1].p_memsz = sizeof(im->dyn);
	memcpy(im->str, "\0read\0write\0close\0open\0sprintf\0table\0hidden\0",
	       S_END);
	sym(&im->sym[1], S_READ, STT_FUNC, STB_GLOBAL, SHN_UNDEF, STV_DEFAULT);
	sym(&im->sym[2], S_WRITE, STT_FUNC, STB_GLOBAL, SHN_UNDEF, STV_DEFAULT);
	sym(&im->sym[3], S_CLOSE, STT_FUNC, STB_WEAK, SHN_UNDEF, STV_DEFAULT);
	sym(&im->sym[4], S_OPEN, STT_FUNC, STB_GLOBAL, SHN_UNDEF, STV_DEFAULT);
	sym(&im->sym[5], S_SPRINTF, STT_FUNC, STB_GLOBAL, 1, STV_DEFAULT);
	sym(&im->sym[6], S_TABLE, STT_OBJECT, STB_GLOBAL, 1, STV_DEFAULT);
	sym(&im->sym[7], S_HIDDEN, STT_FUNC, STB_GLOBAL, 1, STV_HIDDEN);
	rela(&im->jmprel[0], OFF(got[0]), 1, R_X86_64_JUMP_SLOT);
	rela(&im->jmprel[1], OFF(got[1]), 2, R_X86_64_JUMP_SLOT);
	rela(&im->jmprel[2], OFF(got[2]), 4, R_X86_64_JUMP_SLOT);
	rela(&im->rela[0], OFF(got[3]), 3, R_X86_64_GLOB_DAT);
	rela(&im->rela[1], OFF(got[4]), 0, R_X86_64_RELATIVE);
	rela(&im->rela[2], OFF(got[5]), 1, R_X86_64_GLOB_DAT);
	if (hash == HASH_GNU) {
		/* 1 bucket, symbols from 1, 1 bloom word (2 uint32s), the
		 * bucket's chain 1..7, bit 0 on the last */
		uint32_t h[] = {1, 1, 1, 6, 0, 0, 1, 2, 4, 6, 8, 10, 12, 15};
		memcpy(im->hash, h, sizeof(h));
	} else if (hash == HASH_SYSV) {
		uint32_t h[] = {1, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0};
		memcpy(im->hash, h, sizeof(h));
	}
	ElfW(Dyn) d[] = {
		{DT_STRTAB, {base + OFF(str)}},
		{DT_STRSZ, {S_END}},
		{DT_SYMTAB, {base + OFF(sym)}},
		{DT_SYMENT, {sizeof(ElfW(Sym))}},
		{DT_JMPREL, {base + OFF(jmprel)}},
		{DT_PLTRELSZ, {sizeof(im->jmprel)}},
		{DT_PLTREL, {DT_RELA}},
		{DT_RELA, {base + OFF(rela)}},
		{DT_RELASZ, {sizeof(im->rela)}},
		{DT_RELAENT, {sizeof(ElfW(Rela))}},
		{hash == HASH_GNU    ? DT_GNU_HASH
		 : hash == HASH_SYSV ? DT_HASH
				     : DT_DEBUG,
		 {base + OFF(hash)}},
		{DT_NULL, {0}},
	};
	memcpy(im->dyn, d, sizeof(d));
	return im;
}

static struct dl_phdr_info info_of(struct image *im)
{
	struct dl_phdr_info info;
	memset(&info, 0, sizeof(info));
	info.dlpi_addr = (ElfW(Addr))(uintptr_t)im;
	info.dlpi_name = "made";
	info.dlpi_phdr = im->ph;
	info.dlpi_phnum = 2;
	return info;
}

struct hits {
	struct image *im;
	size_t n;
	void **slot[16];
	size_t fn[16];
	bool jump[16];
};

static void found(void *arg, void **slot, size_t i, bool jump)
{
	struct hits *h = arg;
	uintptr_t a = (uintptr_t)slot, lo = (uintptr_t)h->im;
	/* inside the object, aligned, and a name of the table */
	assert_true(a >= lo && a + sizeof(void *) <= lo + sizeof(*h->im));
	assert_int_equal(a % sizeof(void *), 0);
	assert_true(i < 3);
	if (h->n < 16) {
		h->slot[h->n] = slot;
		h->fn[h->n] = i;
		h->jump[h->n] = jump;
	}
	h->n++;
}

static size_t scan(struct image *im, struct hits *h)
{
	struct dl_phdr_info info = info_of(im);
	memset(h, 0, sizeof(*h));
	h->im = im;
	size_t n = tt_got_scan(&info, fns, 3, found, h);
	assert_int_equal(n, h->n);
	return n;
}

static void check_valid(bool absolute)
{
	struct hits h;
	struct image *im = make(absolute, HASH_GNU);
	assert_int_equal(scan(im, &h), 4);
	assert_ptr_equal(h.slot[0], &im->got[0]);
	assert_int_equal(h.fn[0], 0);
	assert_true(h.jump[0]);
	assert_ptr_equal(h.slot[1], &im->got[1]);
	assert_int_equal(h.fn[1], 1);
	assert_true(h.jump[1]);
	assert_ptr_equal(h.slot[2], &im->got[3]);
	assert_int_equal(h.fn[2], 2);
	assert_false(h.jump[2]);
	assert_ptr_equal(h.slot[3], &im->got[5]);
	assert_int_equal(h.fn[3], 0);
	assert_false(h.jump[3]);
	free(im);
}

static void test_scan(void **state)
{
	(void)state;
	check_valid(false); /* d_ptr as linked */
	check_valid(true);  /* d_ptr relocated by the loader */
}

static void test_exports(void **state)
{
	(void)state;
	const char *names[4];
	for (int hash = HASH_GNU; hash <= HASH_NONE; hash++) {
		struct image *im = make(false, hash);
		struct dl_phdr_info info = info_of(im);
		size_t n = tt_got_exports(&info, names, 4);
		/* without a hash table, no count: nothing */
		assert_int_equal(n, hash == HASH_NONE ? 0 : 1);
		if (n)
			assert_string_equal(names[0], "sprintf");
		free(im);
	}
}

/* One corruption: how many slots are still found. */
typedef void (*spoil_fn)(struct image *im);

static size_t spoiled(spoil_fn f)
{
	struct hits h;
	struct image *im = make(false, HASH_GNU);
	f(im);
	size_t n = scan(im, &h);
	const char *names[4];
	struct dl_phdr_info info = info_of(im);
	assert_true(tt_got_exports(&info, names, 4) <= 7);
	free(im);
	return n;
}

static ElfW(Dyn) * tag(struct image *im, ElfW(Sxword) t)
{
	for (size_t i = 0; i < 16; i++)
		if (im->dyn[i].d_tag == t)
			return &im->dyn[i];
	fail();
	return NULL;
}

static void strtab_out(struct image *im)
{
	tag(im, DT_STRTAB)->d_un.d_ptr = sizeof(*im);
}
static void strsz_huge(struct image *im)
{
	tag(im, DT_STRSZ)->d_un.d_val = 1u << 30;
}
static void strsz_zero(struct image *im)
{
	tag(im, DT_STRSZ)->d_un.d_val = 0;
}
static void symtab_out(struct image *im)
{
	tag(im, DT_SYMTAB)->d_un.d_ptr = (ElfW(Addr)) - 24;
}
static void syment_wrong(struct image *im)
{
	tag(im, DT_SYMENT)->d_un.d_val = 16;
}
static void relaent_wrong(struct image *im)
{
	tag(im, DT_RELAENT)->d_un.d_val = 16;
}
static void relasz_huge(struct image *im)
{
	tag(im, DT_RELASZ)->d_un.d_val = sizeof(ElfW(Rela)) << 20;
}
static void relasz_odd(struct image *im)
{
	tag(im, DT_RELASZ)->d_un.d_val = sizeof(ElfW(Rela)) + 1;
}
static void pltrelsz_past_end(struct image *im)
{
	/* the table runs past the object's end by one entry */
	tag(im, DT_JMPREL)->d_un.d_ptr = sizeof(*im) - 2 * sizeof(ElfW(Rela));
	tag(im, DT_PLTRELSZ)->d_un.d_val = 3 * sizeof(ElfW(Rela));
}
static void pltrel_rel(struct image *im)
{
	tag(im, DT_PLTREL)->d_un.d_val = DT_REL;
}
static void name_past_strsz(struct image *im)
{
	im->sym[1].st_name = S_END; /* read: both its slots */
}
static void name_unended(struct image *im)
{
	/* close's name cut by the table's end */
	tag(im, DT_STRSZ)->d_un.d_val = S_CLOSE + 3;
}
static void sym_index_huge(struct image *im)
{
	im->jmprel[1].r_info = ELF64_R_INFO(0xffffffffu, R_X86_64_JUMP_SLOT);
}
static void offset_out(struct image *im)
{
	im->jmprel[0].r_offset = sizeof(*im);
	im->rela[0].r_offset = (ElfW(Addr)) - 8;
}
static void offset_misaligned(struct image *im)
{
	im->jmprel[0].r_offset += 4;
}
static void no_dt_null(struct image *im)
{
	for (size_t i = 0; i < 16; i++)
		if (im->dyn[i].d_tag == DT_NULL || im->dyn[i].d_tag == 0)
			im->dyn[i].d_tag = DT_DEBUG;
}
static void dynamic_out(struct image *im)
{
	im->ph[1].p_vaddr = sizeof(*im) - 8;
}
static void load_readonly(struct image *im)
{
	im->ph[0].p_flags = PF_R;
}
static void load_wraps(struct image *im)
{
	im->ph[0].p_vaddr = (ElfW(Addr)) - 4096;
}
static void gnu_hash_unended(struct image *im)
{
	for (size_t i = 6; i < 16; i++)
		im->hash[i] = 2; /* bit 0 never set */
}
static void gnu_hash_buckets_huge(struct image *im)
{
	im->hash[0] = 0xffffffffu;
	im->hash[2] = 0x7fffffffu;
}

static void test_corrupt(void **state)
{
	(void)state;
	assert_int_equal(spoiled(strtab_out), 0);
	assert_int_equal(spoiled(strsz_huge), 0);
	assert_int_equal(spoiled(strsz_zero), 0);
	assert_int_equal(spoiled(symtab_out), 0);
	assert_int_equal(spoiled(syment_wrong), 0);
	assert_int_equal(spoiled(relaent_wrong), 0);
	assert_int_equal(spoiled(relasz_huge), 2);
	assert_int_equal(spoiled(relasz_odd), 2);
	assert_int_equal(spoiled(pltrelsz_past_end), 2);
	assert_int_equal(spoiled(pltrel_rel), 2);
	assert_int_equal(spoiled(name_past_strsz), 2);
	assert_int_equal(spoiled(name_unended), 3);
	assert_int_equal(spoiled(sym_index_huge), 3);
	assert_int_equal(spoiled(offset_out), 2);
	assert_int_equal(spoiled(offset_misaligned), 3);
	assert_int_equal(spoiled(no_dt_null), 4);
	assert_int_equal(spoiled(dynamic_out), 0);
	assert_int_equal(spoiled(load_readonly), 0);
	assert_int_equal(spoiled(load_wraps), 0);
	assert_int_equal(spoiled(gnu_hash_unended), 4);
	assert_int_equal(spoiled(gnu_hash_buckets_huge), 4);

	/* no program headers at all */
	struct image *im = make(false, HASH_GNU);
	struct dl_phdr_info info = info_of(im);
	struct hits h = {.im = im};
	info.dlpi_phnum = 0;
	assert_int_equal(tt_got_scan(&info, fns, 3, found, &h), 0);
	info.dlpi_phnum = 2;
	info.dlpi_phdr = NULL;
	assert_int_equal(tt_got_scan(&info, fns, 3, found, &h), 0);
	free(im);
}

/* Random bytes over the dynamic section, the tables and the strings
 * (the program headers come from the loader, which mapped by them). */
static void test_random(void **state)
{
	(void)state;
	unsigned seed = 12345;
	size_t from = offsetof(struct image, dyn);
	size_t to = offsetof(struct image, got);
	for (int round = 0; round < 20000; round++) {
		struct image *im =
			make(round & 1, round & 2 ? HASH_SYSV : HASH_GNU);
		unsigned char *b = (unsigned char *)im;
		int flips = 1 + round % 8;
		for (int k = 0; k < flips; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = from + (seed >> 8) % (to - from);
			seed = seed * 1103515245u + 12345u;
			b[at] = (unsigned char)(seed >> 16);
		}
		struct hits h;
		assert_true(scan(im, &h) <= 6);
		const char *names[8];
		struct dl_phdr_info info = info_of(im);
		tt_got_exports(&info, names, 8);
		free(im);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_exports),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
