// SPDX-License-Identifier: GPL-2.0
/*
 * vrange(): how the rest of mm treats volatile ranges, written from the
 * contract alone. The sentences tested:
 *
 * - "munmap, mremap and MAP_FIXED replacement keep the ranges true: unmapped
 *   addresses lose their volatility (a new mapping at the same address is
 *   never born volatile); mremap moves it with the pages. vrange() does not
 *   check VMAs, so a range may cover addresses that are not mapped; a mapping
 *   created there later is not volatile either, however it gets there: mmap,
 *   brk, stack growth (MAP_GROWSDOWN and the main stack), mremap growth in
 *   place or into a new place (MREMAP_MAYMOVE/MREMAP_FIXED: the grown tail
 *   too). MREMAP_DONTUNMAP moves the volatility with the pages; the old, now
 *   empty range is not volatile. A call that fails (mmap MAP_FIXED with
 *   ENOMEM, mremap with EFAULT) leaves the ranges, their purge reports and
 *   the markers exactly as they were."
 * - "Touching a purged page while its range is still volatile raises SIGBUS.
 *   A syscall that touches it (read(2) into it, process_vm_readv) gets
 *   EFAULT. After NOVOLATILE the purged pages are plain zero-fill memory."
 * - "Other mm operations treat a purged page like an unpopulated one:
 *   userfaultfd (UFFDIO_ZEROPAGE, UFFDIO_COPY, UFFDIO_POISON, UFFDIO_MOVE),
 *   khugepaged and MADV_COLLAPSE (a collapse neither fails for ever on a
 *   range that was purged and then unmarked, nor counts as a SIGBUS),
 *   /proc/pid/pagemap (a purged page is not present and not swapped)."
 * - vrange_sigbus: "only user faults that raise SIGBUS count; a GUP, a
 *   collapse or a core dump that meets a purged page does not".
 * - "userfaultfd-armed VMAs are never purged": the uffd tests purge first,
 *   then register.
 *
 * Purges are made deterministic with drop_caches (purge_now()). Where a
 * test checks that something is NOT purged, the same purge also takes a
 * volatile control range, so that "intact" cannot mean "nothing was purged
 * at all". Every page is read through a SIGBUS probe, so that a page purged
 * by mistake fails the test with a count instead of killing it. The
 * collapse tests first collapse a PMD half emptied by MADV_DONTNEED (the
 * control: skip if even that does not collapse).
 * Every test needs root; rlimits, sysfs and sysctl values changed are put
 * back.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <linux/userfaultfd.h>

#include "../kselftest_harness.h"
#include "vrange_util.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define THP_DIR		"/sys/kernel/mm/transparent_hugepage/"
#define KHUGEPAGED	THP_DIR "khugepaged/"
#define KiB		((size_t)1 << 10)
#define MiB		((size_t)1 << 20)
#define PM_SWAP_BIT	62
#define PM_PRESENT_BIT	63

FIXTURE(mm) {};

FIXTURE_SETUP(mm)
{
	if (!vrange_supported())
		SKIP(return, "vrange() is not supported");
	if (geteuid())
		SKIP(return, "these tests purge with drop_caches: they need root");
	signal(SIGPIPE, SIG_IGN);
}

FIXTURE_TEARDOWN(mm)
{
}

/* ------------------------------------------------------------ helpers */

static long vol_kb(void)
{
	return status_kb(0, "VmVolatile");
}

static char *align_up(char *p, size_t a)
{
	return (char *)(((uintptr_t)p + a - 1) & ~(uintptr_t)(a - 1));
}

/* A free hole of @len bytes (reserved, then unmapped), or NULL. */
static char *free_hole(size_t len)
{
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, len);
	return p;
}

/* Anonymous private memory of @len bytes aligned to @align, or NULL. */
static char *map_aligned(size_t len, size_t align)
{
	char *raw, *p;
	size_t head;

	raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	p = align_up(raw, align);
	head = p - raw;
	if (head)
		munmap(raw, head);
	munmap(p + len, align - head);
	return p;
}

/* What reading each page of [from, to) of @p finds (page_state() indices). */
struct census {
	size_t intact, zero, sigbus, other;
};

static struct census take_census(const char *p, size_t from, size_t to, int seed)
{
	struct census c = { 0 };
	size_t i;

	for (i = from; i < to; i++) {
		int sig = probe_read(p + i * page_size());

		if (sig == SIGBUS)
			c.sigbus++;
		else if (sig)
			c.other++;
		else if (page_state(p, i, seed) == 1)
			c.intact++;
		else if (page_state(p, i, seed) == 0)
			c.zero++;
		else
			c.other++;
	}
	return c;
}

/* "N intact, N zero, N SIGBUS, N other", in one of 4 rotating buffers. */
static const char *census_str(struct census c)
{
	static char buf[4][96];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%zu intact, %zu zero, %zu SIGBUS, %zu other",
		 c.intact, c.zero, c.sigbus, c.other);
	return buf[i];
}

/* Write one byte; the signal it raised, or 0. */
static int probe_write(char *addr, char val)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old_bus, old_segv;
	int sig;

	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(probe_jmp, 1);
	if (!sig)
		__atomic_store_n(addr, val, __ATOMIC_RELAXED);
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

/* The whole of /proc/self/vranges in @buf, NUL-terminated; its length or -1. */
static ssize_t read_vranges(char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd = open("/proc/self/vranges", O_RDONLY);

	buf[0] = 0;
	if (fd < 0)
		return -1;
	while (len < (ssize_t)size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	return len;
}

/* How many of @pages pages at @p are resident (mincore), or -1. */
static long count_resident(const char *p, size_t pages)
{
	unsigned char *vec = calloc(pages, 1);
	size_t i;
	long n = 0;

	if (!vec || mincore((void *)p, pages * page_size(), vec)) {
		free(vec);
		return -1;
	}
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

/* The start of the VMA that contains @addr in /proc/self/maps, or 0. */
static unsigned long vma_start_of(const void *addr)
{
	unsigned long s, e, a = (unsigned long)addr, found = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s <= a && a < e) {
			found = s;
			break;
		}
	}
	fclose(f);
	return found;
}

/* The start of the [stack] VMA, or 0. */
static unsigned long stack_vma_start(void)
{
	unsigned long s, e, found = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &s, &e) == 2) {
			found = s;
			break;
		}
	}
	fclose(f);
	return found;
}

/* A "Field: N kB" of the /proc/self/smaps entry of the VMA at @start, or -1. */
static long vma_kb(const void *start, const char *field)
{
	size_t n = strlen(field);
	unsigned long s, e;
	bool in = false;
	char line[256];
	long val = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			in = s == (unsigned long)start;
			continue;
		}
		if (in && !strncmp(line, field, n) && line[n] == ':') {
			val = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/*
 * A volatile control: @pages populated pages marked volatile. After a
 * purge_now(), control_purged() tells whether the purge did purge.
 */
static char *control_range(size_t pages)
{
	char *c = map_anon(pages);

	if (!c)
		return NULL;
	fill(c, pages, 99);
	if (sys_vrange(c, pages * page_size(), VRANGE_VOLATILE, VRANGE_FULL)) {
		munmap(c, pages * page_size());
		return NULL;
	}
	return c;
}

static long control_purged(char *c, size_t pages)
{
	long ret = sys_vrange(c, pages * page_size(), VRANGE_NOVOLATILE, 0);

	munmap(c, pages * page_size());
	return ret;
}

/* --------------------------------------------------- 1: MREMAP_DONTUNMAP */

TEST_F(mm, mremap_dontunmap_moves_volatility_old_range_is_not_volatile)
{
	size_t ps = page_size(), n = 16, len = n * ps;
	struct census c;
	char *p, *q;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 1);
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL));
	q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	ASSERT_NE(MAP_FAILED, q) TH_LOG("mremap(MREMAP_DONTUNMAP): %s", strerror(errno));
	ASSERT_NE(p, q);
	EXPECT_TRUE(all_intact(q, n, 1));
	EXPECT_EQ((long)(len / KiB), vol_kb())
		TH_LOG("VmVolatile %ld kB after the move, want %zu", vol_kb(), len / KiB);
	/* The old VMA is still mapped, empty: new data written there is not volatile. */
	EXPECT_EQ(0, count_resident(p, n));
	fill(p, n, 2);
	ASSERT_EQ(0, purge_now());
	c = take_census(p, 0, n, 2);
	EXPECT_EQ(n, c.intact)
		TH_LOG("old range after the move and a purge: %s (it stayed volatile)",
		       census_str(c));
	EXPECT_EQ(0, sys_vrange(p, len, VRANGE_NOVOLATILE, 0))
		TH_LOG("NOVOLATILE over the old, emptied range reports a purge");
	/* The new address has the volatility: it was purged. */
	c = take_census(q, 0, n, 1);
	EXPECT_EQ(n, c.sigbus)
		TH_LOG("new range after a purge: %s", census_str(c));
	EXPECT_EQ(1, sys_vrange(q, len, VRANGE_NOVOLATILE, 0))
		TH_LOG("the moved range was not purged: the volatility did not move");
	EXPECT_TRUE(all_zero(q, n));
	munmap(p, len);
	munmap(q, len);
}

TEST_F(mm, mremap_dontunmap_of_purged_range_moves_the_purge)
{
	size_t ps = page_size(), n = 16, len = n * ps;
	struct census c;
	char *p, *q;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 3);
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, purge_now());
	ASSERT_EQ(0, count_resident(p, n)) TH_LOG("drop_caches did not purge the range");
	q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	ASSERT_NE(MAP_FAILED, q) TH_LOG("mremap(MREMAP_DONTUNMAP): %s", strerror(errno));
	/* The old range: empty, not volatile: zero-fill, no SIGBUS, no report. */
	c = take_census(p, 0, n, 3);
	EXPECT_EQ(n, c.zero)
		TH_LOG("old range after moving a purged range away: %s", census_str(c));
	EXPECT_EQ(0, sys_vrange(p, len, VRANGE_NOVOLATILE, 0))
		TH_LOG("the old, emptied range kept the purge report");
	/* The new range: still volatile and purged. */
	c = take_census(q, 0, n, 3);
	EXPECT_EQ(n, c.sigbus)
		TH_LOG("moved purged range: %s", census_str(c));
	EXPECT_EQ(1, sys_vrange(q, len, VRANGE_NOVOLATILE, 0))
		TH_LOG("the purge report did not move with the range");
	EXPECT_TRUE(all_zero(q, n));
	munmap(p, len);
	munmap(q, len);
}

/* ---------------------------------------------- 2, 3: mremap growth */

/*
 * [D, D + 2N) marked while unmapped; old (N pages) grown and moved there with
 * MREMAP_FIXED. @old_volatile: old was volatile, so [D, D + N) is, after.
 */
static void grow_move_fixed(struct __test_metadata *_metadata, bool old_volatile)
{
	size_t ps = page_size(), n = 16, len = n * ps;
	char *old, *d, *q, *ctl;
	struct census c;

	old = map_anon(n);
	ASSERT_NE(NULL, old);
	ctl = control_range(4);
	ASSERT_NE(NULL, ctl);
	fill(old, n, 4);
	if (old_volatile)
		ASSERT_EQ(0, sys_vrange(old, len, VRANGE_VOLATILE, VRANGE_FULL));
	d = free_hole(2 * len + 2 * ps);
	ASSERT_NE(NULL, d);
	d += ps;
	ASSERT_EQ(0, sys_vrange(d, 2 * len, VRANGE_VOLATILE, VRANGE_FULL));
	q = mremap(old, len, 2 * len, MREMAP_MAYMOVE | MREMAP_FIXED, d);
	ASSERT_EQ(d, q) TH_LOG("mremap(MREMAP_FIXED): %s", strerror(errno));
	EXPECT_TRUE(all_intact(d, n, 4));
	if (!old_volatile)
		fill(d, n, 5);		/* the whole new mapping: head... */
	fill(d + len, n, 5);		/* ...and tail */
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(1, control_purged(ctl, 4)) TH_LOG("the purge purged nothing");
	c = take_census(d + len, 0, n, 5);
	EXPECT_EQ(n, c.intact)
		TH_LOG("grown tail after a purge: %s (born volatile)", census_str(c));
	EXPECT_EQ(0, sys_vrange(d + len, len, VRANGE_NOVOLATILE, 0))
		TH_LOG("NOVOLATILE over the grown tail reports a purge");
	if (old_volatile) {
		/* "mremap moves it with the pages": the head was volatile, purged. */
		c = take_census(d, 0, n, 4);
		EXPECT_EQ(n, c.sigbus)
			TH_LOG("moved volatile head after a purge: %s", census_str(c));
		EXPECT_EQ(1, sys_vrange(d, len, VRANGE_NOVOLATILE, 0))
			TH_LOG("the moved head was not purged: its volatility did not move");
	} else {
		c = take_census(d, 0, n, 5);
		EXPECT_EQ(n, c.intact)
			TH_LOG("moved head (not volatile) after a purge: %s",
			       census_str(c));
		EXPECT_EQ(0, sys_vrange(d, len, VRANGE_NOVOLATILE, 0))
			TH_LOG("the moved non-volatile head became volatile");
	}
	/* The old addresses are unmapped now: nothing volatile, nothing purged. */
	EXPECT_EQ(0, sys_vrange(old, len, VRANGE_NOVOLATILE, 0));
	munmap(d, 2 * len);
}

TEST_F(mm, mremap_grow_move_fixed_into_marked_hole_is_not_volatile)
{
	grow_move_fixed(_metadata, false);
}

TEST_F(mm, mremap_grow_move_fixed_of_volatile_range_tail_is_not_volatile)
{
	grow_move_fixed(_metadata, true);
}

/*
 * MREMAP_MAYMOVE alone: the kernel picks the new place. A hole of the same
 * size, found (and given back) just before, is where it looks first: that
 * hole is marked.
 */
TEST_F(mm, mremap_grow_maymove_into_marked_hole_is_not_volatile)
{
	size_t ps = page_size(), n = 16, len = n * ps;
	struct census head, tail;
	char *old, *w, *q, *ctl;

	/* old with a PROT_NONE page after it: it cannot grow in place. */
	old = map_anon(n + 1);
	ASSERT_NE(NULL, old);
	ASSERT_EQ(0, mprotect(old + len, ps, PROT_NONE));
	ctl = control_range(4);
	ASSERT_NE(NULL, ctl);
	fill(old, n, 6);
	w = free_hole(2 * len);
	ASSERT_NE(NULL, w);
	ASSERT_EQ(0, sys_vrange(w, 2 * len, VRANGE_VOLATILE, VRANGE_FULL));
	q = mremap(old, len, 2 * len, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, q) TH_LOG("mremap(MREMAP_MAYMOVE): %s", strerror(errno));
	ASSERT_NE(old, q);
	if (q != w) {
		sys_vrange(w, 2 * len, VRANGE_NOVOLATILE, 0);
		control_purged(ctl, 4);
		munmap(q, 2 * len);
		munmap(old + len, ps);
		SKIP(return, "mremap chose %p, not the marked hole %p", q, w);
	}
	EXPECT_TRUE(all_intact(q, n, 6));
	fill(q, 2 * n, 7);
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(1, control_purged(ctl, 4)) TH_LOG("the purge purged nothing");
	head = take_census(q, 0, n, 7);
	tail = take_census(q, n, 2 * n, 7);
	EXPECT_EQ(n, head.intact)
		TH_LOG("moved head, after a purge: %s", census_str(head));
	EXPECT_EQ(n, tail.intact)
		TH_LOG("grown tail, after a purge: %s", census_str(tail));
	EXPECT_EQ(0, sys_vrange(q, 2 * len, VRANGE_NOVOLATILE, 0))
		TH_LOG("NOVOLATILE over the moved and grown mapping reports a purge");
	munmap(q, 2 * len);
	munmap(old + len, ps);
}

/* In place; @head_volatile: one range covers the mapped head and the tail. */
static void grow_in_place(struct __test_metadata *_metadata, bool head_volatile)
{
	size_t ps = page_size(), n = 16, len = n * ps;
	char *p, *q, *ctl;
	struct census c;

	ctl = control_range(4);
	ASSERT_NE(NULL, ctl);
	p = map_anon(2 * n);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, munmap(p + len, len));
	fill(p, n, 8);
	ASSERT_EQ(0, sys_vrange(head_volatile ? p : p + len, head_volatile ? 2 * len : len,
				VRANGE_VOLATILE, VRANGE_FULL));
	q = mremap(p, len, 2 * len, 0);
	ASSERT_EQ(p, q) TH_LOG("mremap in place: %s", strerror(errno));
	fill(p + len, n, 9);
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(1, control_purged(ctl, 4)) TH_LOG("the purge purged nothing");
	c = take_census(p + len, 0, n, 9);
	EXPECT_EQ(n, c.intact)
		TH_LOG("tail grown in place after a purge: %s", census_str(c));
	EXPECT_EQ(0, sys_vrange(p + len, len, VRANGE_NOVOLATILE, 0))
		TH_LOG("NOVOLATILE over the grown tail reports a purge");
	c = take_census(p, 0, n, 8);
	if (head_volatile) {
		EXPECT_EQ(n, c.sigbus)
			TH_LOG("volatile head after a purge: %s", census_str(c));
		EXPECT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	} else {
		EXPECT_EQ(n, c.intact)
			TH_LOG("head after a purge: %s", census_str(c));
		EXPECT_EQ(0, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	}
	munmap(p, 2 * len);
}

TEST_F(mm, mremap_grow_in_place_into_marked_addresses_is_not_volatile)
{
	grow_in_place(_metadata, false);
}

TEST_F(mm, mremap_grow_in_place_of_volatile_range_tail_is_not_volatile)
{
	grow_in_place(_metadata, true);
}

/* ------------------------------------------------- 4, 5: stack growth */

/*
 * A MAP_GROWSDOWN VMA of 64 KiB over a 3 MiB hole (a PROT_NONE floor
 * below it, which enforces no guard gap); [hole, top) marked in one range,
 * the VMA's own pages included (they are the control); touching 1 MiB
 * below grows the VMA there.
 */
TEST_F(mm, map_growsdown_growth_into_marked_addresses_is_not_volatile)
{
	size_t ps = page_size(), total = 4 * MiB, vlen = 64 * KiB, grow = 1 * MiB;
	char *r, *g, *top, *lo, *hole;
	struct rlimit old_stack, rl;
	struct census c;
	unsigned long vs;
	int sig;

	ASSERT_EQ(0, getrlimit(RLIMIT_STACK, &old_stack));
	rl = old_stack;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 4 * MiB) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 4 * MiB ?
			      4 * MiB : rl.rlim_max;
		setrlimit(RLIMIT_STACK, &rl);
	}
	r = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	top = r + total;
	g = top - vlen;
	ASSERT_EQ(g, mmap(g, vlen, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0))
		TH_LOG("mmap(MAP_GROWSDOWN): %s", strerror(errno));
	hole = r + 1 * MiB;
	ASSERT_EQ(0, munmap(hole, g - hole));
	fill(g, vlen / ps, 10);
	ASSERT_EQ(0, sys_vrange(hole, top - hole, VRANGE_VOLATILE, VRANGE_FULL));
	lo = g - grow;
	sig = probe_write(lo, 1);
	setrlimit(RLIMIT_STACK, &old_stack);
	ASSERT_EQ(0, sig) TH_LOG("touching %zu KiB below a MAP_GROWSDOWN VMA: signal %d",
				 grow / KiB, sig);
	vs = vma_start_of(g);
	ASSERT_EQ((unsigned long)lo, vs)
		TH_LOG("the MAP_GROWSDOWN VMA starts at %#lx, want %p", vs, lo);
	fill(lo, grow / ps, 11);
	ASSERT_EQ(0, purge_now());
	/* The VMA's own pages were volatile: the control. */
	c = take_census(g, 0, vlen / ps, 10);
	EXPECT_EQ(vlen / ps, c.sigbus)
		TH_LOG("the marked MAP_GROWSDOWN VMA after a purge: %s", census_str(c));
	EXPECT_EQ(1, sys_vrange(g, vlen, VRANGE_NOVOLATILE, 0));
	c = take_census(lo, 0, grow / ps, 11);
	EXPECT_EQ(grow / ps, c.intact)
		TH_LOG("stack grown into marked addresses, after a purge: %s",
		       census_str(c));
	EXPECT_EQ(0, sys_vrange(lo, grow, VRANGE_NOVOLATILE, 0))
		TH_LOG("NOVOLATILE over the grown stack reports a purge");
	sys_vrange(hole, top - hole, VRANGE_NOVOLATILE, 0);
	munmap(r, total);
}

struct stack_report {
	int stage;		/* 1: grown and filled, 2: checked, 3: a signal */
	int code;		/* 0, or why the child could not test; 3: the signal */
	unsigned long stack_start, stack_start_after, lo, buf, fp, fault;
	long report, control;
	struct census c;
};

static int stack_fd = -1;

/* On the alternate stack: tell the parent where the child faulted. */
static void stack_signal(int sig, siginfo_t *si, void *uc)
{
	struct stack_report r = { .stage = 3, .code = sig,
				  .fault = (unsigned long)si->si_addr };

	if (write(stack_fd, &r, sizeof(r)) != sizeof(r))
		_exit(4);
	_exit(3);
}

/*
 * alloca() down to below @lo, so that [lo, lo + len) is a buffer on the
 * main stack, in addresses that were marked while they were not mapped.
 */
static void grow_main_stack(struct stack_report *r, char *lo, size_t len,
			    char *mark, size_t mlen, char *ctl, int fd)
{
	char *fp = __builtin_frame_address(0);
	size_t depth = (size_t)(fp - lo) + 64 * KiB;
	char *buf = alloca(depth);

	asm volatile("" : : "r"(buf) : "memory");
	r->buf = (unsigned long)buf;
	r->fp = (unsigned long)fp;
	if (lo < buf || lo + len > buf + depth) {
		r->code = 1;
		return;
	}
	fill(lo, len / page_size(), 12);
	r->stack_start_after = stack_vma_start();
	r->stage = 1;
	if (write(fd, r, sizeof(*r)) != sizeof(*r))
		r->code = 2;
	if (purge_now()) {
		r->code = 3;
		return;
	}
	r->c = take_census(lo, 0, len / page_size(), 12);
	r->report = sys_vrange(mark, mlen, VRANGE_NOVOLATILE, 0);
	r->control = sys_vrange(ctl, 4 * page_size(), VRANGE_NOVOLATILE, 0);
	r->stage = 2;
	asm volatile("" : : "r"(buf) : "memory");
}

static void main_stack_child(int fd)
{
	/* Called through a pointer the compiler cannot see: never inlined. */
	void (*grow)(struct stack_report *r, char *lo, size_t len,
		     char *mark, size_t mlen, char *ctl, int fd) = grow_main_stack;
	struct sigaction sa = { .sa_sigaction = stack_signal,
				.sa_flags = SA_SIGINFO | SA_ONSTACK };
	struct rlimit rl = { 0, 0 };
	struct stack_report r = { 0 };
	char *s, *lo, *mark, *ctl;
	stack_t ss = { 0 };

	asm volatile("" : "+r" (grow));
	stack_fd = fd;
	setrlimit(RLIMIT_CORE, &rl);
	getrlimit(RLIMIT_STACK, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 8 * MiB) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 8 * MiB ?
			      8 * MiB : rl.rlim_max;
		setrlimit(RLIMIT_STACK, &rl);
	}
	ss.ss_size = 256 * KiB;
	ss.ss_sp = map_anon(ss.ss_size / page_size());
	ctl = control_range(4);
	s = (char *)stack_vma_start();
	r.stack_start = (unsigned long)s;
	if (!s || !ctl || !ss.ss_sp || sigaltstack(&ss, NULL) ||
	    sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL)) {
		r.code = 4;
		goto out;
	}
	/* [s - 1 MiB, s) marked; the buffer at [s - 768 KiB, s - 512 KiB). */
	mark = s - 1 * MiB;
	lo = s - 768 * KiB;
	r.lo = (unsigned long)lo;
	if (sys_vrange(mark, 1 * MiB, VRANGE_VOLATILE, VRANGE_FULL)) {
		r.code = 5;
		goto out;
	}
	grow(&r, lo, 256 * KiB, mark, 1 * MiB, ctl, fd);
out:
	if (write(fd, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	_exit(0);
}

TEST_F_TIMEOUT(mm, main_stack_growth_into_marked_addresses_is_not_volatile, 60)
{
	struct stack_report rec, got[4] = { { 0 } };
	int fds[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(fds[0]);
		main_stack_child(fds[1]);
	}
	close(fds[1]);
	while (read(fds[0], &rec, sizeof(rec)) == sizeof(rec))
		if (rec.stage >= 0 && rec.stage < 4)
			got[rec.stage] = rec;
	close(fds[0]);
	status = wait_child(pid, 50000);
	if (got[1].stage)
		ksft_print_msg("[stack] at %#lx, marked [%#lx, %#lx), buffer at %#lx\n"
			       "(alloca %#lx, frame %#lx), [stack] after growth at %#lx\n",
			       got[1].stack_start, got[1].stack_start - MiB, got[1].stack_start,
			       got[1].lo, got[1].buf, got[1].fp, got[1].stack_start_after);
	ASSERT_NE(-1, status) TH_LOG("the child hung");
	EXPECT_EQ(0, got[3].stage)
		TH_LOG("the child got signal %d at %#lx after the purge: main stack pages grown %s",
		       got[3].code, got[3].fault, "into marked addresses were purged");
	EXPECT_FALSE(WIFSIGNALED(status)) TH_LOG("the child died of signal %d", WTERMSIG(status));
	if (got[3].stage || WIFSIGNALED(status))
		return;
	ASSERT_EQ(0, got[0].code) TH_LOG("the child could not set up (code %d)", got[0].code);
	ASSERT_EQ(1, got[1].stage) TH_LOG("the child could not grow its stack");
	ASSERT_EQ(0, got[2].code) TH_LOG("the child failed (code %d)", got[2].code);
	ASSERT_EQ(2, got[2].stage);
	EXPECT_GE(got[1].lo, got[1].stack_start_after);
	EXPECT_EQ(1, got[2].control) TH_LOG("the purge purged nothing");
	EXPECT_EQ(256 * KiB / page_size(), got[2].c.intact)
		TH_LOG("stack buffer after a purge: %s", census_str(got[2].c));
	EXPECT_EQ(0, got[2].report)
		TH_LOG("NOVOLATILE over the addresses the stack grew into reports a purge");
}

/* ----------------------------------------------------------- 6: brk */

TEST_F(mm, brk_growth_into_marked_addresses_is_not_volatile)
{
	size_t ps = page_size(), len = 256 * KiB, inc;
	char *cur, *base, *ctl;
	struct census c;

	ctl = control_range(4);
	ASSERT_NE(NULL, ctl);
	cur = sbrk(0);
	ASSERT_NE((void *)-1, cur);
	base = align_up(cur, ps);
	inc = base - cur + len;
	ASSERT_EQ(0, sys_vrange(base, len, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(cur, sbrk(inc)) TH_LOG("sbrk: %s", strerror(errno));
	fill(base, len / ps, 13);
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(1, control_purged(ctl, 4)) TH_LOG("the purge purged nothing");
	c = take_census(base, 0, len / ps, 13);
	EXPECT_EQ(len / ps, c.intact)
		TH_LOG("heap grown by brk into marked addresses, after a purge: %s",
		       census_str(c));
	EXPECT_EQ(0, sys_vrange(base, len, VRANGE_NOVOLATILE, 0))
		TH_LOG("NOVOLATILE over the grown heap reports a purge");
	if (sbrk(0) == cur + inc)
		sbrk(-(intptr_t)inc);
}

/* --------------------------------------------------- 7: failed calls */

/*
 * A populated, purged volatile range [p, p + n); an mmap(MAP_FIXED) from
 * @start_page covering it to p + 2n, which RLIMIT_AS makes fail with ENOMEM.
 */
static void failed_map_fixed(struct __test_metadata *_metadata, size_t start_page)
{
	size_t ps = page_size(), n = 16, len = n * ps, h;
	char before[4096], after[4096];
	struct rlimit old, rl;
	long vk0, vm_kb;
	struct census c;
	void *q;
	char *p;
	int err;

	p = map_anon(2 * n);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, munmap(p + len, len));
	fill(p, n, 14);
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, purge_now());
	ASSERT_EQ(0, count_resident(p, n)) TH_LOG("drop_caches did not purge the range");
	read_vranges(before, sizeof(before));
	vk0 = vol_kb();

	ASSERT_EQ(0, getrlimit(RLIMIT_AS, &old));
	vm_kb = status_kb(0, "VmSize");
	ASSERT_LT(0, vm_kb);
	rl = old;
	rl.rlim_cur = vm_kb * KiB + len / 2;	/* the mmap needs len more */
	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &rl));
	q = mmap(p + start_page * ps, 2 * len - start_page * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	err = errno;
	setrlimit(RLIMIT_AS, &old);
	ASSERT_EQ(MAP_FAILED, q) TH_LOG("the MAP_FIXED mmap did not fail: cannot test");
	ASSERT_EQ(ENOMEM, err);

	read_vranges(after, sizeof(after));
	EXPECT_STREQ(before, after)
		TH_LOG("a failed MAP_FIXED changed /proc/self/vranges");
	EXPECT_EQ(vk0, vol_kb());
	/* Still volatile and purged: touching it raises SIGBUS. */
	c = take_census(p, 0, n, 14);
	EXPECT_EQ(n, c.sigbus)
		TH_LOG("the purged range after a failed MAP_FIXED: %s", census_str(c));
	for (h = 0; h < n; h += start_page ? start_page : n) {
		size_t l = start_page ? start_page : n;

		EXPECT_EQ(1, sys_vrange(p + h * ps, l * ps, VRANGE_NOVOLATILE, 0))
			TH_LOG("pages %zu-%zu lost their purge report", h, h + l - 1);
	}
	EXPECT_TRUE(all_zero(p, n));
	munmap(p, 2 * len);
}

TEST_F(mm, failed_map_fixed_leaves_purged_range_as_it_was)
{
	failed_map_fixed(_metadata, 0);
}

TEST_F(mm, failed_map_fixed_that_splits_leaves_purged_range_as_it_was)
{
	failed_map_fixed(_metadata, 8);
}

TEST_F(mm, failed_mremap_efault_leaves_ranges_as_they_were)
{
	size_t ps = page_size(), n = 8, len = n * ps;
	char before[4096], after[4096];
	struct {
		const char *what;
		char *addr;
		size_t old_len, new_len;
		int flags;
		char *new_addr;
	} calls[6];
	struct census c;
	char *p, *h, *q;
	long vk0;
	int i;

	/* h: a dst that is mapped PROT_NONE and never marked. */
	h = mmap(NULL, 2 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, h);
	/* [p, p + n) mapped, volatile, purged; [p + n, p + 4n) marked, unmapped. */
	p = map_anon(4 * n);
	ASSERT_NE(NULL, p);
	fill(p, n, 15);
	ASSERT_EQ(0, munmap(p + len, 3 * len));
	ASSERT_EQ(0, sys_vrange(p, 4 * len, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, purge_now());
	ASSERT_EQ(0, count_resident(p, n)) TH_LOG("drop_caches did not purge the range");
	read_vranges(before, sizeof(before));
	vk0 = vol_kb();

	calls[0] = (typeof(calls[0])){ "grow in place across the VMA end",
				       p, 2 * len, 3 * len, 0, NULL };
	calls[1] = (typeof(calls[0])){ "MREMAP_MAYMOVE across the VMA end",
				       p, 2 * len, 3 * len, MREMAP_MAYMOVE, NULL };
	calls[2] = (typeof(calls[0])){ "MREMAP_MAYMOVE of unmapped marked addresses",
				       p + len, len, 2 * len, MREMAP_MAYMOVE, NULL };
	calls[3] = (typeof(calls[0])){ "MREMAP_FIXED of unmapped addresses onto the purged range",
				       p + 2 * len, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, p };
	calls[4] = (typeof(calls[0])){ "MREMAP_FIXED across the VMA end",
				       p, 2 * len, 2 * len, MREMAP_MAYMOVE | MREMAP_FIXED, h };
	calls[5] = (typeof(calls[0])){ "MREMAP_DONTUNMAP across the VMA end", p, 2 * len,
				       2 * len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL };
	for (i = 0; i < 6; i++) {
		errno = 0;
		q = mremap(calls[i].addr, calls[i].old_len, calls[i].new_len, calls[i].flags,
			   calls[i].new_addr);
		EXPECT_EQ(MAP_FAILED, q) TH_LOG("%s did not fail", calls[i].what);
		EXPECT_EQ(EFAULT, errno) TH_LOG("%s: %s, want EFAULT", calls[i].what,
						strerror(errno));
		read_vranges(after, sizeof(after));
		EXPECT_STREQ(before, after)
			TH_LOG("%s (EFAULT) changed /proc/self/vranges", calls[i].what);
		EXPECT_EQ(vk0, vol_kb())
			TH_LOG("%s (EFAULT) changed VmVolatile: %ld kB, was %ld kB",
			       calls[i].what, vol_kb(), vk0);
	}
	c = take_census(p, 0, n, 15);
	EXPECT_EQ(n, c.sigbus)
		TH_LOG("the purged range after failed mremaps: %s", census_str(c));
	EXPECT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0))
		TH_LOG("the purged range lost its purge report");
	EXPECT_EQ(0, sys_vrange(p + len, 3 * len, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_zero(p, n));
	munmap(p, len);
	munmap(h, 2 * len);
}

/* ------------------------------------------- 8: userfaultfd over purges */

enum uffd_op { OP_ZEROPAGE, OP_COPY, OP_POISON, OP_MOVE };
static const char *const op_name[] = { "UFFDIO_ZEROPAGE", "UFFDIO_COPY",
				       "UFFDIO_POISON", "UFFDIO_MOVE" };

/* A userfaultfd with @features; -errno on failure. */
static int uffd_open(__u64 features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd;

	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL)
		fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

/* Register [p, p + len) MISSING; 0, -errno, or -EOPNOTSUPP if @ioctl is not offered. */
static int uffd_register(int uffd, char *p, size_t len, int ioctl_nr)
{
	struct uffdio_register reg = {
		.range = { (uintptr_t)p, len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	return reg.ioctls & ((__u64)1 << ioctl_nr) ? 0 : -EOPNOTSUPP;
}

/* Resolve (or fill) one page at @dst: 0, or errno (-1: a short count). */
static int uffd_resolve(int uffd, enum uffd_op op, char *dst, char *src, __u64 mode)
{
	size_t ps = page_size();
	int ret;

	switch (op) {
	case OP_ZEROPAGE: {
		struct uffdio_zeropage z = { .range = { (uintptr_t)dst, ps } };

		ret = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
		if (!ret && z.zeropage != (__s64)ps)
			return -1;
		break;
	}
	case OP_COPY: {
		struct uffdio_copy cp = { .dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = ps };

		ret = ioctl(uffd, UFFDIO_COPY, &cp);
		if (!ret && cp.copy != (__s64)ps)
			return -1;
		break;
	}
	case OP_POISON: {
		struct uffdio_poison po = { .range = { (uintptr_t)dst, ps } };

		ret = ioctl(uffd, UFFDIO_POISON, &po);
		if (!ret && po.updated != (__s64)ps)
			return -1;
		break;
	}
	default: {
		struct uffdio_move mv = { .dst = (uintptr_t)dst, .src = (uintptr_t)src,
					  .len = ps, .mode = mode };

		ret = ioctl(uffd, UFFDIO_MOVE, &mv);
		if (!ret && mv.move != (__s64)ps)
			return -1;
		break;
	}
	}
	return ret ? errno : 0;
}

struct toucher {
	char *addr;
	int done;
	int sig;
	char val;
};

static __thread sigjmp_buf toucher_jmp;

static void toucher_handler(int sig)
{
	siglongjmp(toucher_jmp, sig);
}

static void *toucher_fn(void *arg)
{
	struct toucher *t = arg;
	int sig;

	sig = sigsetjmp(toucher_jmp, 1);
	if (!sig)
		t->val = __atomic_load_n(t->addr, __ATOMIC_RELAXED);
	t->sig = sig;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool toucher_wait(struct toucher *t, long ms)
{
	long deadline = now_ms() + ms;

	while (!__atomic_load_n(&t->done, __ATOMIC_ACQUIRE)) {
		if (now_ms() > deadline)
			return false;
		usleep(10000);
	}
	return true;
}

/* 1: a page fault message in @msg; 0: the toucher finished without one; -1: timeout. */
static int uffd_wait_fault(int uffd, struct toucher *t, long ms, struct uffd_msg *msg)
{
	long deadline = now_ms() + ms;
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };

	while (now_ms() < deadline) {
		if (poll(&pfd, 1, 50) == 1 && read(uffd, msg, sizeof(*msg)) == sizeof(*msg) &&
		    msg->event == UFFD_EVENT_PAGEFAULT)
			return 1;
		if (__atomic_load_n(&t->done, __ATOMIC_ACQUIRE))
			return 0;
	}
	return -1;
}

/*
 * A range purged and then unmarked (report 1): its ptes may hold stale
 * purge markers. Registered with userfaultfd MISSING after that. Page 0 is
 * resolved with @op after a user fault on it, page 1 filled with @op
 * without one: both must work as over pages never populated.
 */
static void uffd_over_stale(struct __test_metadata *_metadata, enum uffd_op op)
{
	static const __u64 feature[] = { 0, 0, UFFD_FEATURE_POISON, UFFD_FEATURE_MOVE };
	static const int nr[] = { _UFFDIO_ZEROPAGE, _UFFDIO_COPY, _UFFDIO_POISON, _UFFDIO_MOVE };
	struct sigaction sa = { .sa_handler = toucher_handler }, old_bus;
	size_t ps = page_size(), pages = 4, len = pages * ps;
	char *p, *src = NULL;
	struct toucher t = { 0 };
	struct uffd_msg msg;
	pthread_t thr;
	int uffd, ret, got;
	bool done;

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 40);
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, purge_now());
	ASSERT_EQ(0, count_resident(p, pages)) TH_LOG("drop_caches did not purge the range");
	ASSERT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));

	if (op == OP_COPY) {
		src = map_anon(pages);
		ASSERT_NE(NULL, src);
		memset(src, 0x5a, len);
	} else if (op == OP_MOVE) {
		src = map_anon(pages);
		ASSERT_NE(NULL, src);
		fill(src, pages, 41);	/* freshly written: exclusive anon pages */
	}
	uffd = uffd_open(feature[op]);
	if (uffd < 0)	/* no userfaultfd, not for us, or not these features */
		SKIP(return, "userfaultfd (features %#llx): %s",
		     (unsigned long long)feature[op], strerror(-uffd));
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(-uffd));
	ret = uffd_register(uffd, p, len, nr[op]);
	if (ret == -EOPNOTSUPP)
		SKIP(close(uffd); return, "%s is not offered on anonymous memory", op_name[op]);
	ASSERT_EQ(0, ret) TH_LOG("UFFDIO_REGISTER: %s", strerror(-ret));

	/* Page 1: op over the stale marker without a fault first. */
	ret = uffd_resolve(uffd, op, p + ps, src ? src + ps : NULL, 0);
	EXPECT_EQ(0, ret)
		TH_LOG("%s over a purged, unmarked page (no fault): %s", op_name[op],
		       ret < 0 ? "short count" : strerror(ret));
	if (!ret) {
		switch (op) {
		case OP_ZEROPAGE:
			EXPECT_TRUE(all_zero(p + ps, 1));
			break;
		case OP_COPY:
			EXPECT_EQ(0, memcmp(p + ps, src + ps, ps));
			break;
		case OP_POISON:
			ksft_print_msg("reading the poisoned page: signal %d\n",
				       probe_read(p + ps));
			break;
		case OP_MOVE:
			EXPECT_EQ(1, page_state(p, 1, 41));
			break;
		}
	}

	/* Page 0: a user fault, then op resolves it. */
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, &old_bus));
	t.addr = p;
	ASSERT_EQ(0, pthread_create(&thr, NULL, toucher_fn, &t));
	got = uffd_wait_fault(uffd, &t, 10000, &msg);
	EXPECT_EQ(1, got)
		TH_LOG("%s", got ? "no userfault in 10 s, and the toucher did not finish" :
		       "a fault on a purged, unmarked page raised no MISSING userfault");
	ret = -2;
	if (got == 1) {
		EXPECT_EQ((uintptr_t)p, msg.arg.pagefault.address & ~(uintptr_t)(ps - 1));
		ret = uffd_resolve(uffd, op, p, src, 0);
		EXPECT_EQ(0, ret)
			TH_LOG("%s of the faulting page over a purge marker: %s", op_name[op],
			       ret < 0 ? "short count" : strerror(ret));
	}
	done = toucher_wait(&t, 10000);
	if (!ret) {
		EXPECT_TRUE(done) TH_LOG("the %s succeeded, but the toucher did not finish in 10 s",
					 op_name[op]);
	}
	if (!done) {
		/* Closing the userfaultfd wakes the fault; then it completes. */
		close(uffd);
		uffd = -1;
		done = toucher_wait(&t, 5000);
		ksft_print_msg("toucher %s after the userfaultfd was closed\n",
			       done ? "finished" : "still blocked");
	}
	if (done) {
		pthread_join(thr, NULL);
		if (!ret) {
			switch (op) {
			case OP_ZEROPAGE:
				EXPECT_EQ(0, t.sig);
				EXPECT_EQ(0, t.val);
				break;
			case OP_COPY:
				EXPECT_EQ(0, t.sig);
				EXPECT_EQ(0x5a, t.val);
				break;
			case OP_POISON:
				/* The poison semantic: SIGBUS (BUS_MCEERR_AR). */
				ksft_print_msg("toucher of the poisoned page: signal %d\n", t.sig);
				break;
			case OP_MOVE:
				EXPECT_EQ(0, t.sig);
				EXPECT_EQ((char)(41 % 251 + 1), t.val);
				break;
			}
		}
	} else {
		pthread_detach(thr);
	}
	sigaction(SIGBUS, &old_bus, NULL);
	if (uffd >= 0)
		close(uffd);
	if (done)
		munmap(p, len);
	if (src)
		munmap(src, len);
}

TEST_F_TIMEOUT(mm, uffd_zeropage_over_purged_unmarked_page, 60)
{
	uffd_over_stale(_metadata, OP_ZEROPAGE);
}

TEST_F_TIMEOUT(mm, uffd_copy_over_purged_unmarked_page, 60)
{
	uffd_over_stale(_metadata, OP_COPY);
}

TEST_F_TIMEOUT(mm, uffd_poison_over_purged_unmarked_page, 60)
{
	uffd_over_stale(_metadata, OP_POISON);
}

TEST_F_TIMEOUT(mm, uffd_move_onto_purged_unmarked_page, 60)
{
	uffd_over_stale(_metadata, OP_MOVE);
}

/*
 * UFFDIO_MOVE from a purged page: a hole. From a page purged and still
 * volatile, and from one purged and unmarked (a stale marker): ENOENT
 * without UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES, and nothing to move with it.
 */
TEST_F_TIMEOUT(mm, uffd_move_from_purged_page_is_a_hole, 60)
{
	size_t ps = page_size(), pages = 4, len = pages * ps;
	char *dst, *srcv, *srcs, *srcs_[2];
	const char *what[2] = { "purged volatile", "purged, unmarked" };
	int uffd, ret, i;

	dst = map_anon(pages);
	srcv = map_anon(pages);
	srcs = map_anon(pages);
	ASSERT_NE(NULL, dst);
	ASSERT_NE(NULL, srcv);
	ASSERT_NE(NULL, srcs);
	fill(srcv, pages, 42);
	fill(srcs, pages, 43);
	ASSERT_EQ(0, sys_vrange(srcv, len, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, sys_vrange(srcs, len, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, purge_now());
	ASSERT_EQ(0, count_resident(srcv, pages)) TH_LOG("drop_caches did not purge");
	ASSERT_EQ(0, count_resident(srcs, pages)) TH_LOG("drop_caches did not purge");
	ASSERT_EQ(1, sys_vrange(srcs, len, VRANGE_NOVOLATILE, 0));

	uffd = uffd_open(UFFD_FEATURE_MOVE);
	if (uffd < 0)
		SKIP(return, "userfaultfd with UFFD_FEATURE_MOVE: %s", strerror(-uffd));
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(-uffd));
	ret = uffd_register(uffd, dst, len, _UFFDIO_MOVE);
	if (ret == -EOPNOTSUPP)
		SKIP(close(uffd); return, "UFFDIO_MOVE is not offered");
	ASSERT_EQ(0, ret) TH_LOG("UFFDIO_REGISTER: %s", strerror(-ret));
	srcs_[0] = srcv;
	srcs_[1] = srcs;
	for (i = 0; i < 2; i++) {
		ret = uffd_resolve(uffd, OP_MOVE, dst + 2 * i * ps, srcs_[i], 0);
		EXPECT_EQ(ENOENT, ret)
			TH_LOG("UFFDIO_MOVE from a %s page: %s, want ENOENT (a hole)", what[i],
			       ret < 0 ? "short count" : ret ? strerror(ret) : "success");
		ret = uffd_resolve(uffd, OP_MOVE, dst + (2 * i + 1) * ps, srcs_[i] + ps,
				   UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES);
		EXPECT_EQ(0, ret)
			TH_LOG("UFFDIO_MOVE(ALLOW_SRC_HOLES) from a %s page: %s", what[i],
			       ret < 0 ? "short count" : strerror(ret));
	}
	/* Nothing was moved: dst is still empty (read it without touching it). */
	EXPECT_EQ(0, pagemap_count(dst, pages, PM_PRESENT_BIT));
	EXPECT_EQ(0, pagemap_count(dst, pages, PM_SWAP_BIT));
	close(uffd);
	/* The volatile source is still purged and volatile. */
	EXPECT_EQ(SIGBUS, probe_read(srcv));
	EXPECT_EQ(1, sys_vrange(srcv, len, VRANGE_NOVOLATILE, 0));
	munmap(dst, len);
	munmap(srcv, len);
	munmap(srcs, len);
}

/* ------------------------------------------- 9: MADV_COLLAPSE, khugepaged */

FIXTURE(thp) {
	bool was_never;
	long scan_sleep, alloc_sleep, pages_to_scan;
};

FIXTURE_SETUP(thp)
{
	self->scan_sleep = -1;
	self->alloc_sleep = -1;
	self->pages_to_scan = -1;
	if (!vrange_supported())
		SKIP(return, "vrange() is not supported");
	if (geteuid())
		SKIP(return, "these tests purge and write sysfs: they need root");
	if (access(THP_DIR "enabled", R_OK))
		SKIP(return, "no transparent hugepages");
	self->was_never = file_contains(THP_DIR "enabled", "[never]");
	if (self->was_never && write_str(THP_DIR "enabled", "madvise"))
		SKIP(return, "cannot enable THP (madvise)");
	self->scan_sleep = read_long(KHUGEPAGED "scan_sleep_millisecs");
	self->alloc_sleep = read_long(KHUGEPAGED "alloc_sleep_millisecs");
	self->pages_to_scan = read_long(KHUGEPAGED "pages_to_scan");
}

FIXTURE_TEARDOWN(thp)
{
	if (self->scan_sleep >= 0)
		write_long(KHUGEPAGED "scan_sleep_millisecs", self->scan_sleep);
	if (self->alloc_sleep >= 0)
		write_long(KHUGEPAGED "alloc_sleep_millisecs", self->alloc_sleep);
	if (self->pages_to_scan >= 0)
		write_long(KHUGEPAGED "pages_to_scan", self->pages_to_scan);
	if (self->was_never)
		write_str(THP_DIR "enabled", "never");
}

static size_t pmd_size(void)
{
	long sz = read_long(THP_DIR "hpage_pmd_size");

	return sz > 0 ? (size_t)sz : 2 * MiB;
}

enum half { HALF_DONTNEED, HALF_PURGED_UNMARKED, HALF_PURGED_VOLATILE };

/*
 * One PMD of small pages (MADV_NOHUGEPAGE while filled), its first half
 * emptied: by MADV_DONTNEED (the control: a half never populated, as far
 * as a collapse can tell), or marked volatile and purged, then unmarked
 * (report 1) or not. Then MADV_HUGEPAGE. NULL if something failed.
 */
static char *half_empty_pmd(struct __test_metadata *_metadata, enum half how, int seed)
{
	size_t hs = pmd_size(), ps = page_size(), pages = hs / ps;
	char *p;

	p = map_aligned(hs, hs);
	if (!p)
		return NULL;
	if (madvise(p, hs, MADV_NOHUGEPAGE))
		goto fail;
	fill(p, pages, seed);
	if (vma_kb(p, "AnonHugePages") != 0) {
		TH_LOG("MADV_NOHUGEPAGE memory got THPs");
		goto fail;
	}
	if (how == HALF_DONTNEED) {
		if (madvise(p, hs / 2, MADV_DONTNEED))
			goto fail;
	} else {
		if (sys_vrange(p, hs / 2, VRANGE_VOLATILE, VRANGE_FULL) || purge_now())
			goto fail;
		if (count_resident(p, pages / 2) != 0) {
			TH_LOG("drop_caches did not purge the first half");
			goto fail;
		}
		if (how == HALF_PURGED_UNMARKED &&
		    sys_vrange(p, hs / 2, VRANGE_NOVOLATILE, 0) != 1) {
			TH_LOG("NOVOLATILE after the purge did not report it");
			goto fail;
		}
	}
	if (madvise(p, hs, MADV_HUGEPAGE))
		goto fail;
	return p;
fail:
	munmap(p, hs);
	return NULL;
}

/* MADV_COLLAPSE, retried on EAGAIN: 0 or errno. */
static int collapse(char *p, size_t len)
{
	int i, err = 0;

	for (i = 0; i < 10; i++) {
		if (!madvise(p, len, MADV_COLLAPSE))
			return 0;
		err = errno;
		if (err != EAGAIN)
			break;
		usleep(100000);
	}
	return err;
}

TEST_F_TIMEOUT(thp, madv_collapse_after_purge_and_unmark_succeeds, 90)
{
	size_t hs = pmd_size(), ps = page_size(), pages = hs / ps;
	long sig0, sig1, thp_kb;
	struct census c;
	char *p;
	int err;

	/* The control: half of it MADV_DONTNEED, it collapses here. */
	p = half_empty_pmd(_metadata, HALF_DONTNEED, 49);
	ASSERT_NE(NULL, p) TH_LOG("could not set up a half-empty PMD of small pages");
	err = collapse(p, hs);
	thp_kb = vma_kb(p, "AnonHugePages");
	munmap(p, hs);
	if (err || thp_kb != (long)(hs / KiB))
		SKIP(return, "MADV_COLLAPSE of a half-empty PMD: %s, AnonHugePages %ld kB",
		     strerror(err), thp_kb);

	p = half_empty_pmd(_metadata, HALF_PURGED_UNMARKED, 50);
	ASSERT_NE(NULL, p) TH_LOG("could not set up a half-purged PMD of small pages");
	sig0 = vmstat_counter("vrange_sigbus");
	err = collapse(p, hs);
	sig1 = vmstat_counter("vrange_sigbus");
	thp_kb = vma_kb(p, "AnonHugePages");
	EXPECT_EQ(0, err)
		TH_LOG("MADV_COLLAPSE of a range purged and unmarked: %s %s",
		       strerror(err), "(a half-empty one collapses)");
	EXPECT_EQ(sig0, sig1) TH_LOG("the collapse counted %ld vrange_sigbus", sig1 - sig0);
	if (!err) {
		EXPECT_EQ((long)(hs / KiB), thp_kb)
			TH_LOG("MADV_COLLAPSE succeeded but AnonHugePages is %ld kB", thp_kb);
	}
	c = take_census(p, 0, pages / 2, 50);
	EXPECT_EQ(pages / 2, c.zero)
		TH_LOG("purged half after the collapse: %s", census_str(c));
	c = take_census(p, pages / 2, pages, 50);
	EXPECT_EQ(pages / 2, c.intact)
		TH_LOG("unpurged half after the collapse: %s", census_str(c));
	munmap(p, hs);
}

TEST_F_TIMEOUT(thp, madv_collapse_over_volatile_purged_pages_counts_no_sigbus, 90)
{
	size_t hs = pmd_size(), ps = page_size(), pages = hs / ps;
	long sig0, sig1;
	struct census c;
	char *p;
	int err;

	if (vmstat_counter("vrange_sigbus") < 0)
		SKIP(return, "no vrange_sigbus in /proc/vmstat");
	p = half_empty_pmd(_metadata, HALF_PURGED_VOLATILE, 51);
	ASSERT_NE(NULL, p) TH_LOG("could not set up a half-purged PMD of small pages");
	sig0 = vmstat_counter("vrange_sigbus");
	err = collapse(p, hs);
	sig1 = vmstat_counter("vrange_sigbus");
	ksft_print_msg("MADV_COLLAPSE over volatile purged pages: %s, AnonHugePages %ld kB\n",
		       err ? strerror(err) : "ok", vma_kb(p, "AnonHugePages"));
	EXPECT_EQ(sig0, sig1) TH_LOG("the collapse counted %ld vrange_sigbus", sig1 - sig0);
	/* Lost data is never taken for zeroes: still SIGBUS, still reported. */
	EXPECT_EQ(SIGBUS, probe_read(p))
		TH_LOG("a purged page of a volatile range reads without SIGBUS after the collapse");
	EXPECT_EQ(1, sys_vrange(p, hs / 2, VRANGE_NOVOLATILE, 0));
	c = take_census(p, 0, pages / 2, 51);
	EXPECT_EQ(pages / 2, c.zero)
		TH_LOG("purged half after NOVOLATILE: %s", census_str(c));
	c = take_census(p, pages / 2, pages, 51);
	EXPECT_EQ(pages / 2, c.intact)
		TH_LOG("unpurged half: %s", census_str(c));
	munmap(p, hs);
}

/*
 * khugepaged, with a control PMD whose half was MADV_DONTNEED: once the
 * control is collapsed, and 4 more full scans have passed, the PMD purged
 * and unmarked must be too.
 */
TEST_F_TIMEOUT(thp, khugepaged_collapses_range_purged_and_unmarked, 120)
{
	size_t hs = pmd_size(), ps = page_size(), pages = hs / ps;
	long sig0, sig1, scans0, scans = 0, at_ctl = -1, kb = 0, ctl_kb = 0, t0;
	struct census c;
	char *p, *ctl;

	if (access(KHUGEPAGED "full_scans", R_OK))
		SKIP(return, "no khugepaged");
	ASSERT_EQ(0, write_long(KHUGEPAGED "pages_to_scan", 4096));
	ASSERT_EQ(0, write_long(KHUGEPAGED "alloc_sleep_millisecs", 100));
	sig0 = vmstat_counter("vrange_sigbus");
	p = half_empty_pmd(_metadata, HALF_PURGED_UNMARKED, 52);
	ASSERT_NE(NULL, p) TH_LOG("could not set up a half-purged PMD of small pages");
	ctl = half_empty_pmd(_metadata, HALF_DONTNEED, 53);
	ASSERT_NE(NULL, ctl) TH_LOG("could not set up a half-empty PMD of small pages");
	scans0 = read_long(KHUGEPAGED "full_scans");
	ASSERT_EQ(0, write_long(KHUGEPAGED "scan_sleep_millisecs", 100));
	for (t0 = now_ms(); now_ms() - t0 < 60000; usleep(200000)) {
		kb = vma_kb(p, "AnonHugePages");
		ctl_kb = vma_kb(ctl, "AnonHugePages");
		scans = read_long(KHUGEPAGED "full_scans") - scans0;
		if (at_ctl < 0 && ctl_kb >= (long)(hs / KiB))
			at_ctl = scans;
		if (kb >= (long)(hs / KiB) && at_ctl >= 0)
			break;
		if (at_ctl >= 0 && scans >= at_ctl + 4)
			break;
	}
	sig1 = vmstat_counter("vrange_sigbus");
	ksft_print_msg("after %ld ms, %ld full scans: AnonHugePages %ld kB, %s %ld kB (%s %ld)\n",
		       now_ms() - t0, scans, kb, "control", ctl_kb, "collapsed by scan", at_ctl);
	if (at_ctl < 0) {
		munmap(p, hs);
		munmap(ctl, hs);
		SKIP(return, "khugepaged did not collapse the half-empty control PMD in 60 s");
	}
	EXPECT_EQ((long)(hs / KiB), kb)
		TH_LOG("khugepaged left a purged, unmarked range %s %ld, %s %ld, %s %ld",
		       "(full scans after the control:",
		       scans - at_ctl, "max_ptes_none", read_long(KHUGEPAGED "max_ptes_none"),
		       "max_ptes_swap", read_long(KHUGEPAGED "max_ptes_swap"));
	EXPECT_EQ(sig0, sig1) TH_LOG("khugepaged counted %ld vrange_sigbus", sig1 - sig0);
	c = take_census(p, 0, pages / 2, 52);
	EXPECT_EQ(pages / 2, c.zero)
		TH_LOG("purged half: %s", census_str(c));
	c = take_census(p, pages / 2, pages, 52);
	EXPECT_EQ(pages / 2, c.intact)
		TH_LOG("unpurged half: %s", census_str(c));
	munmap(p, hs);
	munmap(ctl, hs);
}

/* ---------------------------------------- 10: vrange_sigbus, user faults */

static char *purged_volatile(size_t pages, int seed)
{
	char *p = map_anon(pages);

	if (!p)
		return NULL;
	fill(p, pages, seed);
	if (sys_vrange(p, pages * page_size(), VRANGE_VOLATILE, VRANGE_FULL) || purge_now() ||
	    count_resident(p, pages)) {
		munmap(p, pages * page_size());
		return NULL;
	}
	return p;
}

/* A process_vm_readv (@write: writev) of a page of @pid's at @addr, from a child. */
static int vm_rw_from_child(pid_t pid, char *addr, bool write)
{
	size_t ps = page_size();
	char *buf = malloc(ps);
	struct iovec local = { buf, ps }, remote = { addr, ps };
	int status;
	pid_t c;

	if (!buf)
		return -1;
	memset(buf, 0x33, ps);
	c = fork();
	if (c < 0)
		return -1;
	if (!c) {
		ssize_t ret = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0) :
				      process_vm_readv(pid, &local, 1, &remote, 1, 0);

		_exit(ret == -1 && errno == EFAULT ? 0 : ret == -1 ? 1 : 2);
	}
	status = wait_child(c, 20000);
	free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *vm_rw_what(int ret)
{
	return ret == 1 ? "not EFAULT" : ret == 2 ? "it succeeded" : "the child failed";
}

TEST_F_TIMEOUT(mm, vrange_sigbus_counts_user_faults_only, 60)
{
	size_t ps = page_size(), pages = 8, len = pages * ps;
	char path[64], *p, *buf = malloc(ps);
	int fds[2], mfd, memfd, status, ret;
	long s0, s1;
	ssize_t n;
	pid_t pid;

	if (vmstat_counter("vrange_sigbus") < 0)
		SKIP(return, "no vrange_sigbus in /proc/vmstat");
	ASSERT_NE(NULL, buf);
	memset(buf, 0x33, ps);
	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(5, write(fds[1], "hello", 5));
	mfd = memfd_create("vrange_mm", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ((ssize_t)ps, pwrite(mfd, buf, ps, 0));
	snprintf(path, sizeof(path), "/proc/%d/mem", getpid());
	memfd = open(path, O_RDWR);
	ASSERT_LE(0, memfd);
	p = purged_volatile(pages, 60);
	ASSERT_NE(NULL, p) TH_LOG("could not purge a volatile range");

	/* read(2) into it (copy_to_user), from a pipe and from a file: EFAULT. */
	s0 = vmstat_counter("vrange_sigbus");
	errno = 0;
	n = read(fds[0], p, 5);
	EXPECT_TRUE(n == -1 && errno == EFAULT)
		TH_LOG("read(2) from a pipe into a purged page: %zd (%s)", n, strerror(errno));
	s1 = vmstat_counter("vrange_sigbus");
	EXPECT_EQ(s0, s1) TH_LOG("read(2) from a pipe into a purged page counted %ld vrange_sigbus",
				 s1 - s0);
	s0 = s1;
	errno = 0;
	n = pread(mfd, p + ps, ps, 0);
	EXPECT_TRUE(n == -1 && errno == EFAULT)
		TH_LOG("read(2) from a file into a purged page: %zd (%s)", n, strerror(errno));
	s1 = vmstat_counter("vrange_sigbus");
	EXPECT_EQ(s0, s1) TH_LOG("read(2) from a file into a purged page counted %ld vrange_sigbus",
				 s1 - s0);

	/* GUP: process_vm_readv/writev from another process, /proc/pid/mem. */
	s0 = vmstat_counter("vrange_sigbus");
	ret = vm_rw_from_child(getpid(), p + 2 * ps, false);
	EXPECT_EQ(0, ret) TH_LOG("process_vm_readv of a purged page: %s", vm_rw_what(ret));
	s1 = vmstat_counter("vrange_sigbus");
	EXPECT_EQ(s0, s1) TH_LOG("process_vm_readv of a purged page counted %ld vrange_sigbus",
				 s1 - s0);
	s0 = s1;
	ret = vm_rw_from_child(getpid(), p + 3 * ps, true);
	EXPECT_EQ(0, ret) TH_LOG("process_vm_writev into a purged page: %s", vm_rw_what(ret));
	s1 = vmstat_counter("vrange_sigbus");
	EXPECT_EQ(s0, s1) TH_LOG("process_vm_writev into a purged page counted %ld vrange_sigbus",
				 s1 - s0);
	s0 = s1;
	n = pread(memfd, buf, ps, (off_t)(uintptr_t)(p + 4 * ps));
	EXPECT_NE((ssize_t)ps, n) TH_LOG("/proc/pid/mem read a purged page");
	s1 = vmstat_counter("vrange_sigbus");
	EXPECT_EQ(s0, s1) TH_LOG("a /proc/pid/mem read of a purged page counted %ld vrange_sigbus",
				 s1 - s0);

	/* A user touch in a child: SIGBUS, counted once. */
	s0 = vmstat_counter("vrange_sigbus");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit rl = { 0, 0 };

		setrlimit(RLIMIT_CORE, &rl);	/* no core dump: that is another test */
		signal(SIGBUS, SIG_DFL);
		__atomic_load_n(p + 5 * ps, __ATOMIC_RELAXED);
		_exit(0);
	}
	status = wait_child(pid, 20000);
	s1 = vmstat_counter("vrange_sigbus");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
		TH_LOG("touching a purged volatile page: status %#x, want SIGBUS", status);
	EXPECT_EQ(s0 + 1, s1) TH_LOG("a user SIGBUS counted %ld vrange_sigbus, want 1", s1 - s0);
	/* And one in this process, through the probe. */
	s0 = s1;
	EXPECT_EQ(SIGBUS, probe_read(p + 6 * ps));
	s1 = vmstat_counter("vrange_sigbus");
	EXPECT_EQ(s0 + 1, s1) TH_LOG("a user SIGBUS counted %ld vrange_sigbus, want 1", s1 - s0);

	EXPECT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(5, read(fds[0], p, 5));
	EXPECT_EQ(0, memcmp(p, "hello", 5));
	close(fds[0]);
	close(fds[1]);
	close(mfd);
	close(memfd);
	munmap(p, len);
	free(buf);
}

/* A core dump reads every page of the process (get_dump_page(), a GUP). */
TEST_F_TIMEOUT(mm, core_dump_of_purged_page_counts_no_sigbus, 60)
{
	static const char core_path[] = "/tmp/vrange_mm_test.core";
	size_t pages = 4, len = pages * page_size();
	char pattern[256] = "";
	bool set_pattern = false;
	int status, fd;
	long s0, s1;
	ssize_t n;
	pid_t pid;
	char *p;

	if (vmstat_counter("vrange_sigbus") < 0)
		SKIP(return, "no vrange_sigbus in /proc/vmstat");
	fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
	if (fd < 0)
		SKIP(return, "no /proc/sys/kernel/core_pattern (CONFIG_COREDUMP=n?)");
	n = read(fd, pattern, sizeof(pattern) - 1);
	close(fd);
	pattern[n > 0 ? n : 0] = 0;
	if (pattern[0] == '|')
		SKIP(return, "core_pattern is a pipe: %s", pattern);
	/* An empty pattern dumps nothing: dump to a file for this test. */
	ASSERT_EQ(0, write_str("/proc/sys/kernel/core_pattern", core_path));
	set_pattern = true;
	unlink(core_path);
	p = purged_volatile(pages, 61);
	if (!p)
		goto restore;
	s0 = vmstat_counter("vrange_sigbus");
	pid = fork();
	if (!pid) {
		struct rlimit rl = { 64 * MiB, 64 * MiB };

		setrlimit(RLIMIT_CORE, &rl);
		prctl(PR_SET_DUMPABLE, 1);
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	status = pid > 0 ? wait_child(pid, 50000) : -1;
	s1 = vmstat_counter("vrange_sigbus");
	ksft_print_msg("child: signal %d, core dumped: %d\n",
		       WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		       WIFSIGNALED(status) && WCOREDUMP(status));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && WCOREDUMP(status))
		TH_LOG("the child dumped no core (status %#x)", status);
	EXPECT_EQ(s0, s1) TH_LOG("a core dump of a purged page counted %ld vrange_sigbus",
				 s1 - s0);
	EXPECT_EQ(SIGBUS, probe_read(p));
	EXPECT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	munmap(p, len);
restore:
	unlink(core_path);
	if (set_pattern)
		write_str("/proc/sys/kernel/core_pattern", pattern[0] ? pattern : "\n");
	ASSERT_NE(NULL, p) TH_LOG("could not purge a volatile range");
}

/* --------------------------------------------------------- 11: pagemap */

static void pagemap_of_purged(struct __test_metadata *_metadata, int behavior, int seed)
{
	size_t pages = 16, len = pages * page_size(), i, purged = 0;
	long ret;
	char *p;

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, seed);
	ASSERT_EQ(pages, pagemap_count(p, pages, PM_PRESENT_BIT));
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, behavior));
	ASSERT_EQ(0, purge_now());
	for (i = 0; i < pages; i++) {
		char *q = p + i * page_size();

		if (count_resident(q, 1))
			continue;
		purged++;
		EXPECT_EQ(0, pagemap_count(q, 1, PM_PRESENT_BIT))
			TH_LOG("page %zu: not resident but present in pagemap", i);
		EXPECT_EQ(0, pagemap_count(q, 1, PM_SWAP_BIT))
			TH_LOG("page %zu: purged, still volatile, pagemap calls it swapped", i);
	}
	ASSERT_LT(0, purged) TH_LOG("drop_caches purged nothing");
	ret = sys_vrange(p, len, VRANGE_NOVOLATILE, 0);
	EXPECT_EQ(1, ret);
	EXPECT_EQ(pages - purged, pagemap_count(p, pages, PM_PRESENT_BIT));
	EXPECT_EQ(0, pagemap_count(p, pages, PM_SWAP_BIT))
		TH_LOG("pagemap calls purged, unmarked pages swapped");
	munmap(p, len);
}

TEST_F(mm, pagemap_purged_full_page_is_neither_present_nor_swapped)
{
	pagemap_of_purged(_metadata, VRANGE_FULL, 70);
}

TEST_F(mm, pagemap_purged_partial_page_is_neither_present_nor_swapped)
{
	pagemap_of_purged(_metadata, VRANGE_PARTIAL, 71);
}

TEST_F(mm, pagemap_purged_zerofill_page_is_neither_present_nor_swapped)
{
	pagemap_of_purged(_metadata, VRANGE_ZEROFILL, 72);
}

/* A page in swap when it is purged: its swap entry goes with it. */
TEST_F_TIMEOUT(mm, pagemap_purged_swapped_page_is_not_swapped, 60)
{
	size_t pages = 16, len = pages * page_size();
	long swapped;
	char *p;

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 73);
	if (madvise(p, len, MADV_PAGEOUT))
		SKIP(munmap(p, len); return, "MADV_PAGEOUT: %s", strerror(errno));
	swapped = pagemap_count(p, pages, PM_SWAP_BIT);
	if (swapped < (long)pages / 2)
		SKIP(munmap(p, len); return, "MADV_PAGEOUT swapped %ld of %zu pages (no swap?)",
		     swapped, pages);
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, pagemap_count(p, pages, PM_PRESENT_BIT));
	EXPECT_EQ(0, pagemap_count(p, pages, PM_SWAP_BIT))
		TH_LOG("%ld pages purged from swap still swapped in pagemap",
		       pagemap_count(p, pages, PM_SWAP_BIT));
	EXPECT_EQ(SIGBUS, probe_read(p)) TH_LOG("the swapped, volatile range was not purged");
	EXPECT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, pagemap_count(p, pages, PM_SWAP_BIT))
		TH_LOG("pagemap calls purged, unmarked pages swapped");
	EXPECT_TRUE(all_zero(p, pages));
	munmap(p, len);
}

/*
 * Visibility: "memory.stat of cgroup v2 shows the cgroup's volatile memory
 * (resident volatile bytes, or an upper bound of them that the
 * documentation defines), so that a container manager can tell lent memory
 * from used memory". The bound documented: for each process and file with
 * ranges queued for reclaim, the lesser of their size and what is resident.
 * In a child cgroup: 16 MiB populated and marked shows 16 MiB, unmarked 0;
 * a 64 MiB range of which 4 MiB is populated shows no more than what the
 * process has resident.
 */
TEST_F(mm, memory_stat_volatile_follows_mark_and_unmark_in_a_child_cgroup)
{
	size_t ps = page_size(), pages = (16 << 20) / ps, big = (64 << 20) / ps;
	long before, marked, unmarked, sparse, rss_kb;
	struct cg cg;
	char *p, *q;
	int ret;

	ret = cg_make(&cg, "stat");
	if (ret == -ENOENT)
		SKIP(return, "no cgroup v2 memory controller");
	ASSERT_EQ(0, ret) TH_LOG("cgroup: %s", strerror(-ret));
	ASSERT_EQ(0, cg_enter(&cg));
	before = cg_get(&cg, "memory.stat", "volatile_anon");
	ASSERT_LE(0, before) TH_LOG("memory.stat has no volatile_anon line");
	EXPECT_LE(0, cg_get(&cg, "memory.stat", "volatile_file"))
		TH_LOG("memory.stat has no volatile_file line");

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 61);
	ASSERT_EQ(0, sys_vrange(p, pages * ps, VRANGE_VOLATILE, 0));
	marked = cg_get(&cg, "memory.stat", "volatile_anon");
	ASSERT_EQ(0, sys_vrange(p, pages * ps, VRANGE_NOVOLATILE, 0));
	unmarked = cg_get(&cg, "memory.stat", "volatile_anon");

	q = map_anon(big);
	ASSERT_NE(NULL, q);
	fill(q, (4 << 20) / ps, 62);
	ASSERT_EQ(0, sys_vrange(q, big * ps, VRANGE_VOLATILE, 0));
	sparse = cg_get(&cg, "memory.stat", "volatile_anon");
	rss_kb = status_kb(0, "RssAnon");
	ASSERT_EQ(0, sys_vrange(q, big * ps, VRANGE_NOVOLATILE, 0));

	write_str(CGROUP_ROOT "/cgroup.procs", "0");
	munmap(p, pages * ps);
	munmap(q, big * ps);
	cg_remove(&cg);
	ksft_print_msg("volatile_anon: %ld before, %ld marked, %ld unmarked, %ld sparse\n",
		       before, marked, unmarked, sparse);
	ksft_print_msg("(RssAnon %ld kB)\n", rss_kb);
	EXPECT_EQ(0, before);
	EXPECT_EQ((long)(pages * ps), marked)
		TH_LOG("16 MiB populated and marked: memory.stat says %ld", marked);
	EXPECT_EQ(0, unmarked) TH_LOG("unmarked, memory.stat still says %ld", unmarked);
	EXPECT_LE(sparse, rss_kb * 1024)
		TH_LOG("a 64 MiB range, 4 MiB resident: %ld is more than is resident", sparse);
	EXPECT_GE(sparse, 4L << 20)
		TH_LOG("a 64 MiB range, 4 MiB resident: %ld is less than that", sparse);
}

/* The part of a VMA in volatile ranges of /proc/self/smaps, in kB, or -1. */
static long smaps_volatile_kb(void *addr)
{
	unsigned long start, end, want = (unsigned long)addr;
	char line[256];
	bool in = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			if (in)
				break;
			in = start <= want && want < end;
		} else if (in && sscanf(line, "Volatile: %ld kB", &kb) == 1) {
			break;
		}
	}
	if (f)
		fclose(f);
	return kb;
}

/*
 * smaps: a "Volatile:" line per VMA, the part of a private anonymous VMA in
 * volatile ranges (addresses, resident or not).
 */
TEST_F(mm, smaps_shows_the_volatile_part_of_a_vma)
{
	size_t ps = page_size(), pages = (8 << 20) / ps;
	long none, some, after;
	char *p = map_anon(pages);

	ASSERT_NE(NULL, p);
	fill(p, 1, 63);
	none = smaps_volatile_kb(p);
	ASSERT_EQ(0, sys_vrange(p + (2 << 20), 2 << 20, VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, sys_vrange(p + (6 << 20), 4 << 20, VRANGE_VOLATILE, 0));
	some = smaps_volatile_kb(p);
	ASSERT_EQ(0, sys_vrange(p, pages * ps, VRANGE_NOVOLATILE, 0));
	after = smaps_volatile_kb(p);
	sys_vrange(p + (8 << 20), 2 << 20, VRANGE_NOVOLATILE, 0);
	munmap(p, pages * ps);
	EXPECT_EQ(0, none) TH_LOG("smaps has no Volatile: line (%ld)", none);
	EXPECT_EQ(4096, some)
		TH_LOG("2 MiB + 2 MiB of a 4 MiB range in the VMA: smaps says %ld kB", some);
	EXPECT_EQ(0, after);
}

TEST_HARNESS_MAIN
