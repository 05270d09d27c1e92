// SPDX-License-Identifier: GPL-2.0
/*
 * vrange(): how reclaim treats volatile memory, written from the contract
 * (Reclaim, and the rules on large folios, pins and reports in Semantics).
 *
 * - Volatile memory is purged, never written to swap, under memcg and global
 *   pressure, by memcg reclaim whichever task marked it, and by
 *   MADV_PAGEOUT; MADV_FREE (and MAP_DROPPABLE) run the same scenarios as a
 *   yard stick, so that the swapping that is not vrange's own is allowed for.
 *   Swap is counted exactly where it can be: smaps of the volatile VMA, and
 *   the cgroup's memory.swap.current against pswpout/pswpin.
 * - Reclaim purges in proportion to what it asks (memory.reclaim), and a
 *   PARTIAL range that was purged in part reports each page exactly.
 * - A small memcg whose excess is volatile never OOM-kills.
 * - What reclaim counts and scans is bounded by the resident volatile
 *   memory: a huge unpopulated range, or mlocked pages, cost it nothing.
 * - Large folios (PMD THP, mTHP) covered by a range are purged whole in one
 *   pass; a straddling one is split and the data outside the range kept.
 * - Pinned (io_uring, vmsplice), mlocked and COW-shared swapped pages keep
 *   their data and do not make a report 1; pagemap shows a purged page as
 *   neither present nor swapped.
 *
 * vrange_reclaim_test.c has the simpler single-purge versions of some of
 * these; the ones here are stronger (one pass, counters, a race, swap).
 * Every test needs root (drop_caches, cgroups, sysfs); sysfs values that are
 * changed are put back. Sizes are small (a 512 MiB guest under TCG).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/io_uring.h>

#include "../kselftest_harness.h"
#include "vrange_util.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

#define THP_DIR		"/sys/kernel/mm/transparent_hugepage/"
#define MiB		((size_t)1 << 20)

FIXTURE(lru) {};

FIXTURE_SETUP(lru)
{
	if (!vrange_supported())
		SKIP(return, "vrange() is not supported");
	if (geteuid())
		SKIP(return, "these tests purge (drop_caches, cgroups): they need root");
	/* A child that died must fail the test, not kill it with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
}

FIXTURE_TEARDOWN(lru)
{
}

/* ------------------------------------------------------------ helpers */

static bool have_swap(void)
{
	char line[512];
	int lines = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	return lines > 1;
}

/* A "Field:   N kB" line of a file whose first line is not one (smaps_rollup). */
static long field_kb(const char *file, const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long val = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n) && line[n] == ':') {
			val = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

static long rollup_kb(const char *field)
{
	return field_kb("/proc/self/smaps_rollup", field);
}

/* How many of @pages pages at @p are present (mincore). */
static size_t count_resident(const char *p, size_t pages)
{
	unsigned char *vec = calloc(pages, 1);
	size_t i, n = 0;

	if (!vec || mincore((void *)p, pages * page_size(), vec)) {
		free(vec);
		return (size_t)-1;
	}
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

/*
 * A "Field:  N kB" of the /proc/self/smaps entry of the VMA that starts at
 * @start, or -1. Swap there counts real swap entries only, by a page table
 * walk: exact, unlike the counters of /proc/self/status.
 */
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
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {	/* no field is "hex-hex" */
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

#define PM_SWAP_BIT	62
#define PM_PRESENT_BIT	63

/* Anonymous private memory of @len bytes aligned to @align, or NULL. */
static char *map_aligned(size_t len, size_t align)
{
	char *raw, *p;
	size_t head;

	raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	head = p - raw;
	if (head)
		munmap(raw, head);
	munmap(p + len, align - head);
	return p;
}

/*
 * Anonymous private memory of @pages pages with a PROT_NONE page either
 * side, so that it is a VMA of its own (for vma_kb()); unmap it with
 * unmap_own_vma().
 */
static char *map_own_vma(size_t pages, int flags)
{
	size_t ps = page_size(), len = pages * ps;
	char *p;

	p = mmap(NULL, len + 2 * ps, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p, ps, PROT_NONE) || mprotect(p + ps + len, ps, PROT_NONE)) {
		munmap(p, len + 2 * ps);
		return NULL;
	}
	return p + ps;
}

static void unmap_own_vma(char *p, size_t pages)
{
	munmap(p - page_size(), (pages + 2) * page_size());
}

/* Swapped-out pages of the VMA at @p (smaps), or -1. */
static long vma_swap_pages(const char *p)
{
	long kb = vma_kb(p, "Swap");

	return kb < 0 ? kb : kb / (long)(page_size() / 1024);
}

/* Memory that parent and children both see, for results. */
static void *shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len);	/* charged here, not to a child's cgroup */
	return p;
}

/* Read one byte from @fd within @ms milliseconds: 1 on success. */
static int read_byte(int fd, long ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, (int)ms) != 1)
		return 0;
	return read(fd, &c, 1) == 1;
}

/* Wait for @pid for at most @ms ms, never blocking for ever: status or -1. */
static int reap(pid_t pid, long ms)
{
	long deadline = now_ms() + ms;
	int status;

	do {
		pid_t ret = waitpid(pid, &status, WNOHANG);

		if (ret == pid)
			return status;
		if (ret < 0)
			return -1;
		usleep(10000);
	} while (now_ms() < deadline);
	return -1;
}

/* Kill @pid and reap it if it dies within @ms ms (it may be stuck in the kernel). */
static void kill_reap(pid_t pid, long ms)
{
	kill(pid, SIGKILL);
	reap(pid, ms);
}

/* ----- cgroup v2 (the helpers are in vrange_util.h) */

/* Print the lines of memory.stat that tell where memory went. */
static void cg_print_stat(struct cg *cg, const char *label)
{
	static const char * const keys[] = {
		"anon", "pgscan", "pgsteal", "pglazyfree", "pglazyfreed",
		"workingset_refault_anon",
	};
	char path[192], line[128], buf[512] = "";
	size_t i, len = 0;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		len += snprintf(buf + len, sizeof(buf) - len, " %s=%ld", keys[i],
				cg_get(cg, "memory.stat", keys[i]));
	/* and whatever the series calls its volatile line */
	snprintf(path, sizeof(path), "%s/memory.stat", cg->dir);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f) && len < sizeof(buf) - 64) {
		if (strstr(line, "volatile") || strstr(line, "vrange")) {
			line[strcspn(line, "\n")] = 0;
			len += snprintf(buf + len, sizeof(buf) - len, " %s", line);
		}
	}
	if (f)
		fclose(f);
	ksft_print_msg("%s memory.stat:%s\n", label, buf);
}

/* ----- drop_caches from a helper process, with a deadline */

struct dropper {
	pid_t pid;
	int cmd, ans;
};

/*
 * Fork it before anything is marked, so that it holds no ranges of its own
 * (a child inherits its parent's ranges).
 */
static int dropper_start(struct dropper *d)
{
	int c[2], a[2];
	char b;

	if (pipe(c) || pipe(a))
		return -1;
	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (!d->pid) {
		close(c[1]);
		close(a[0]);
		while (read(c[0], &b, 1) == 1) {
			b = write_drop_caches() ? 'e' : 'd';
			if (write(a[1], &b, 1) != 1)
				break;
		}
		_exit(0);
	}
	close(c[0]);
	close(a[1]);
	d->cmd = c[1];
	d->ans = a[0];
	return 0;
}

/* One echo 2 > drop_caches: how long it took in ms, or -1 after @ms ms. */
static long dropper_drop(struct dropper *d, long ms)
{
	long t0 = now_ms();

	if (write(d->cmd, "x", 1) != 1)
		return -1;
	if (!read_byte(d->ans, ms))
		return -1;
	return now_ms() - t0;
}

static void dropper_stop(struct dropper *d)
{
	close(d->cmd);
	if (reap(d->pid, 2000) == -1)
		kill_reap(d->pid, 5000);
	close(d->ans);
}

/* --------------------------------------- 1, 2: purged, not swapped */

enum hold { HOLD_VRANGE, HOLD_MADV_FREE, HOLD_DROPPABLE, HOLD_NR };
static const char * const hold_name[HOLD_NR] = { "vrange", "MADV_FREE", "MAP_DROPPABLE" };

/* What the child in the pressure scenario found (shared memory). */
struct pressure_child {
	int stage;		/* 1 mapped, 2 filled and marked, 3 hog done, 4 reported */
	int unsupported;	/* the kind of memory could not be had */
	long nov;		/* NOVOLATILE of the held memory after the hog (vrange) */
	size_t resident;	/* held pages still present after the hog */
	size_t hog_pages;
	long swap_cur;		/* pages in the cgroup's swap after the hog, or -1 */
	long held_swapped;	/* held pages in swap after the hog (smaps of their VMA) */
	long held_pm_swap;	/* held pages that pagemap calls swapped */
};

/* What the parent measured. */
struct pressure {
	struct pressure_child *c;
	int status;
	long ms, pswpout, pswpin, lazyfreed, purged, pgsteal;
	long ev_max, ev_oom, ev_oom_kill;
	/*
	 * Pages written to swap that are neither in the cgroup's swap at the
	 * end nor read back: written, then dropped. The hog touches each of
	 * its pages once, so what it had swapped is still in swap: these were
	 * the held pages (-1: no cgroup to account with).
	 */
	long swapped_dropped;
};

#define HOLD_PAGES	((32 * MiB) / page_size())

/*
 * Fill @held pages, lend them to the kernel as @kind says, then touch a hog
 * of @hog pages (0: as much as is free, plus 16 MiB) in the same process.
 */
static void pressure_child_run(struct cg *cg, enum hold kind, size_t hog,
			       struct pressure_child *r)
{
	size_t ps = page_size(), held = HOLD_PAGES, len = held * ps, i;
	char *p, *h;

	if (cg && cg_enter(cg))
		_exit(10);
	/* If anything is OOM-killed, let it be this one, not the test. */
	write_str("/proc/self/oom_score_adj", "1000");
	/* A VMA of their own, so that smaps can tell their swap from the hog's. */
	p = map_own_vma(held, kind == HOLD_DROPPABLE ? MAP_DROPPABLE : MAP_PRIVATE);
	if (!p) {
		r->unsupported = errno;
		_exit(kind == HOLD_DROPPABLE ? 0 : 11);
	}
	r->stage = 1;
	fill(p, held, 21);
	if (kind == HOLD_VRANGE && sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL))
		_exit(12);
	if (kind == HOLD_MADV_FREE && madvise(p, len, MADV_FREE))
		_exit(13);
	r->stage = 2;

	if (!hog)
		hog = (size_t)meminfo_kb("MemFree") * 1024 / ps + 16 * MiB / ps;
	r->hog_pages = hog;
	h = map_anon(hog);
	if (!h)
		_exit(14);
	for (i = 0; i < hog; i++)
		memset(h + i * ps, (int)(i % 251) + 1, ps);
	r->stage = 3;

	r->swap_cur = -1;
	if (cg) {
		char path[192];

		snprintf(path, sizeof(path), "%s/memory.swap.current", cg->dir);
		r->swap_cur = read_long(path);
		if (r->swap_cur >= 0)
			r->swap_cur /= ps;
	}
	r->resident = count_resident(p, held);
	r->held_swapped = vma_swap_pages(p);
	r->held_pm_swap = pagemap_count(p, held, PM_SWAP_BIT);
	r->nov = kind == HOLD_VRANGE ? sys_vrange(p, len, VRANGE_NOVOLATILE, 0) : -1;
	r->stage = 4;
	_exit(0);
}

/*
 * Run the scenario for @kind in a fresh child cgroup: of @max if @max (it
 * must exist then), else without a limit, only to account its swap.
 */
static int pressure_run(enum hold kind, const char *max, size_t hog, long ms,
			struct pressure *m)
{
	long swp0, swpin0, lazy0, purged0, steal0, t0;
	struct cg cg = { "" };
	bool in_cg;
	pid_t pid;
	int ret;

	memset(m->c, 0, sizeof(*m->c));
	ret = cg_make(&cg, hold_name[kind]);
	if (ret && max)
		return ret;
	in_cg = !ret;
	if (max) {
		ret = cg_set(&cg, "memory.max", max);
		if (ret) {
			cg_remove(&cg);
			return ret;
		}
	}
	swp0 = vmstat_counter("pswpout");
	swpin0 = vmstat_counter("pswpin");
	lazy0 = vmstat_counter("pglazyfreed");
	purged0 = vmstat_counter("vrange_purged_anon");
	steal0 = vmstat_counter("pgsteal_kswapd") + vmstat_counter("pgsteal_direct");
	t0 = now_ms();
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (!pid)
		pressure_child_run(in_cg ? &cg : NULL, kind, hog, m->c);
	m->status = reap(pid, ms);
	if (m->status == -1)
		kill_reap(pid, 5000);
	m->ms = now_ms() - t0;
	m->pswpout = vmstat_counter("pswpout") - swp0;
	m->pswpin = vmstat_counter("pswpin") - swpin0;
	m->swapped_dropped = -1;
	if (m->c->swap_cur >= 0 && m->c->stage >= 3)
		m->swapped_dropped = m->pswpout - m->pswpin - m->c->swap_cur;
	m->lazyfreed = vmstat_counter("pglazyfreed") - lazy0;
	m->purged = vmstat_counter("vrange_purged_anon") - purged0;
	m->pgsteal = vmstat_counter("pgsteal_kswapd") + vmstat_counter("pgsteal_direct") - steal0;
	ret = 0;
out:
	if (in_cg) {
		m->ev_max = cg_get(&cg, "memory.events", "max");
		m->ev_oom = cg_get(&cg, "memory.events", "oom");
		m->ev_oom_kill = cg_get(&cg, "memory.events", "oom_kill");
		cg_print_stat(&cg, hold_name[kind]);
		cg_remove(&cg);
	} else {
		m->ev_max = -1;
		m->ev_oom = -1;
		m->ev_oom_kill = -1;
	}
	return ret;
}

static void pressure_print(struct pressure *m, int nr)
{
	int i;

	ksft_print_msg("%-13s%8s%7s%9s%8s%8s%7s%7s%7s%9s%4s%5s%7s %s\n", "held as",
		       "pswpout", "pswpin", "swap.cur", "dropped", "held_sw", "pm_sw", "lazy",
		       "purged", "resident", "nov", "oom", "ms", "status");
	for (i = 0; i < nr; i++) {
		struct pressure_child *c = m[i].c;

		if (c->unsupported) {
			ksft_print_msg("%-13s not supported by this kernel (%s)\n", hold_name[i],
				       strerror(c->unsupported));
			continue;
		}
		ksft_print_msg("%-13s%8ld%7ld%9ld%8ld%8ld%7ld%7ld%7ld%9zd%4ld%5ld%7ld %x\n",
			       hold_name[i], m[i].pswpout, m[i].pswpin, c->swap_cur,
			       m[i].swapped_dropped, c->held_swapped, c->held_pm_swap,
			       m[i].lazyfreed, m[i].purged, (ssize_t)c->resident, c->nov,
			       m[i].ev_oom_kill, m[i].ms, m[i].status);
	}
	ksft_print_msg("(%zu pages held; in pages; swap.cur: the cgroup's swap at the end;\n",
		       HOLD_PAGES);
	ksft_print_msg(" dropped: written to swap, freed unread; held_sw: held pages in swap\n");
	ksft_print_msg(" (smaps); pm_sw: held pages with the swap bit in pagemap; lazy:\n");
	ksft_print_msg(" pglazyfreed; oom: oom_kill; status: wait status, -1: timed out)\n");
}

/* Held pages that were written to swap, as well as they can be counted. */
static long held_written(struct pressure *m)
{
	return (m->c->held_swapped > 0 ? m->c->held_swapped : 0) +
	       (m->swapped_dropped > 0 ? m->swapped_dropped : 0);
}

#define PRESSURE_WAIT_MS	90000
#define GLOBAL_WAIT_MS		45000

/*
 * 32 MiB lent, then a 32 MiB hog, in a cgroup of 48 MiB with swap: 16 MiB
 * at least must be reclaimed. vrange must swap no more than MADV_FREE does
 * (its lazyfree pages are dropped, not swapped), give or take 1%; and,
 * counted exactly, no more than 0.1% of the volatile pages may have gone to
 * swap (nothing else runs in the cgroup, so there is no noise to allow for).
 */
TEST_F_TIMEOUT(lru, volatile_memory_is_purged_not_swapped_under_memcg_pressure, 300)
{
	struct pressure m[HOLD_NR];
	size_t hog = HOLD_PAGES;
	int i, ret;

	if (!have_swap())
		SKIP(return, "no swap is on (/proc/swaps)");
	for (i = 0; i < HOLD_NR; i++) {
		m[i].c = shared_alloc(sizeof(*m[i].c));
		ASSERT_NE(NULL, m[i].c);
		ret = pressure_run(i, "48M", hog, PRESSURE_WAIT_MS, &m[i]);
		if (ret == -ENOENT)
			SKIP(return, "no cgroup v2 memory controller");
		ASSERT_EQ(0, ret) TH_LOG("%s: cgroup setup: %s", hold_name[i], strerror(-ret));
	}
	pressure_print(m, HOLD_NR);

	for (i = HOLD_VRANGE; i <= HOLD_MADV_FREE; i++) {
		EXPECT_TRUE(WIFEXITED(m[i].status) && !WEXITSTATUS(m[i].status))
			TH_LOG("%s: the child's status is %#x, stage %d (9: OOM-killed)",
			       hold_name[i], m[i].status, m[i].c->stage);
		EXPECT_EQ(4, m[i].c->stage);
	}
	EXPECT_LE(m[HOLD_VRANGE].pswpout, m[HOLD_MADV_FREE].pswpout + (long)HOLD_PAGES / 100)
		TH_LOG("volatile memory was swapped: %ld pages out against %ld with MADV_FREE",
		       m[HOLD_VRANGE].pswpout, m[HOLD_MADV_FREE].pswpout);
	/*
	 * "Never written to swap", counted: held pages still in swap, and
	 * pages written to swap then freed unread (the hog's stay in swap).
	 */
	EXPECT_GE((long)HOLD_PAGES / 1000, held_written(&m[HOLD_VRANGE]))
		TH_LOG("volatile pages written to swap: %ld still there, %ld written and dropped",
		       m[HOLD_VRANGE].c->held_swapped, m[HOLD_VRANGE].swapped_dropped);
	EXPECT_EQ(1, m[HOLD_VRANGE].c->nov) TH_LOG("the volatile range was not purged");
	/*
	 * Reclaim purges in proportion to what it asks: about what it took
	 * of the MADV_FREE'd memory under the same hog, not all of it.
	 */
	EXPECT_LE(m[HOLD_MADV_FREE].lazyfreed * 9 / 10, m[HOLD_VRANGE].purged)
		TH_LOG("vrange_purged_anon grew by %ld pages, pglazyfreed by %ld",
		       m[HOLD_VRANGE].purged, m[HOLD_MADV_FREE].lazyfreed);
	EXPECT_EQ(0, m[HOLD_VRANGE].ev_oom_kill);
	for (i = 0; i < HOLD_NR; i++)
		munmap(m[i].c, sizeof(*m[i].c));
}

/*
 * The same under global pressure: the hog asks for all the free memory and
 * 16 MiB more, so kswapd and direct reclaim must find 16 MiB somewhere. How
 * much of the hog is swapped along varies a lot from run to run (kswapd
 * against the hog's faults: 0 to 13000 pages with MADV_FREE), so the claim
 * is on the held pages only: those still in swap at the end (smaps) and
 * those written and then freed (the cgroup accounts for the swap of the
 * hog; the rest of the guest's processes, outside it, are noise, which the
 * MADV_FREE run measures: it runs first, so that what it swaps of them is
 * not swapped again). Sized for small guests: with a lot of free memory the
 * hog would take too long, and the test skips.
 */
TEST_F_TIMEOUT(lru, volatile_memory_is_purged_not_swapped_under_global_pressure, 300)
{
	enum hold order[2] = { HOLD_MADV_FREE, HOLD_VRANGE };
	struct pressure m[HOLD_MADV_FREE + 1];
	long free_kb = meminfo_kb("MemFree");
	int i, k, ret;

	if (!have_swap())
		SKIP(return, "no swap is on (/proc/swaps)");
	if (free_kb > 1024 * 1024)
		SKIP(return, "%ld MiB free: too much to put under pressure in bounded time",
		     free_kb / 1024);
	if (free_kb < 96 * 1024)
		SKIP(return, "only %ld MiB free", free_kb / 1024);
	for (k = 0; k < 2; k++) {
		i = order[k];
		m[i].c = shared_alloc(sizeof(*m[i].c));
		ASSERT_NE(NULL, m[i].c);
		ret = pressure_run(i, NULL, 0, GLOBAL_WAIT_MS, &m[i]);
		ASSERT_EQ(0, ret) TH_LOG("%s: %s", hold_name[i], strerror(-ret));
		/*
		 * MADV_FREE goes first: if even its guest-wide hog cannot
		 * finish in bounded time (a debug kernel under emulation),
		 * the scenario cannot be run here.
		 */
		if (i == HOLD_MADV_FREE && m[i].status == -1)
			SKIP(return, "a guest-wide hog did not finish in %d s here",
			     GLOBAL_WAIT_MS / 1000);
		ksft_print_msg("%s: hog of %zu pages\n", hold_name[i], m[i].c->hog_pages);
	}
	pressure_print(m, HOLD_MADV_FREE + 1);

	EXPECT_TRUE(WIFEXITED(m[HOLD_VRANGE].status) && !WEXITSTATUS(m[HOLD_VRANGE].status))
		TH_LOG("the child's status is %#x, stage %d", m[HOLD_VRANGE].status,
		       m[HOLD_VRANGE].c->stage);
	/*
	 * Guest-wide, the other processes' swap is noise that no counter
	 * tells from the held pages' ("written and dropped" above varied from
	 * 12 to 1016 pages between boots with MADV_FREE alone): what is
	 * asserted is that none of the held pages is in swap at the end,
	 * and that the volatile memory was purged. The memcg test above
	 * compares pswpout, where the cgroup isolates it.
	 */
	EXPECT_EQ(0, m[HOLD_VRANGE].c->held_swapped)
		TH_LOG("%ld volatile pages in swap", m[HOLD_VRANGE].c->held_swapped);
	EXPECT_EQ(1, m[HOLD_VRANGE].c->nov);
	EXPECT_LE(m[HOLD_MADV_FREE].lazyfreed * 9 / 10, m[HOLD_VRANGE].purged)
		TH_LOG("vrange_purged_anon grew by %ld pages, pglazyfreed by %ld",
		       m[HOLD_VRANGE].purged, m[HOLD_MADV_FREE].lazyfreed);
	for (i = 0; i <= HOLD_MADV_FREE; i++)
		munmap(m[i].c, sizeof(*m[i].c));
}

/* Holder and hog of the next test, in shared memory. */
struct marker_child {
	int stage;
	long nov;
	long held_swapped;	/* smaps of the held VMA */
	size_t resident;
	long swap_cur;		/* the cgroup's swap when the hog is done, in pages */
};

/*
 * Memory charged to a cgroup, marked by a task that has since left it (its
 * charges stay behind, as cgroup v2 never moves them): reclaim of that
 * cgroup must still purge it rather than swap it, whichever task marked it.
 */
TEST_F_TIMEOUT(lru, memcg_reclaim_purges_volatile_memory_whichever_task_marked_it, 120)
{
	size_t ps = page_size(), held = HOLD_PAGES, hog = HOLD_PAGES;
	struct marker_child *r = shared_alloc(sizeof(*r));
	long swp0, swpin0, pswpout, pswpin, dropped, oom_kill;
	int ready[2], go[2], status, hstatus, ret;
	pid_t holder, hogp;
	struct cg cg;

	ASSERT_NE(NULL, r);
	if (!have_swap())
		SKIP(return, "no swap is on (/proc/swaps)");
	ret = cg_make(&cg, "marker");
	if (ret == -ENOENT)
		SKIP(return, "no cgroup v2 memory controller");
	ASSERT_EQ(0, ret) TH_LOG("cgroup setup: %s", strerror(-ret));
	ASSERT_EQ(0, cg_set(&cg, "memory.max", "48M"));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	swp0 = vmstat_counter("pswpout");
	swpin0 = vmstat_counter("pswpin");

	holder = fork();
	ASSERT_LE(0, holder);
	if (!holder) {
		char *p;

		close(ready[0]);
		close(go[1]);
		if (cg_enter(&cg))
			_exit(10);
		p = map_own_vma(held, MAP_PRIVATE);
		if (!p)
			_exit(11);
		fill(p, held, 22);
		/* Charged to the cgroup; now leave it, and only then mark. */
		if (write_str(CGROUP_ROOT "/cgroup.procs", "0"))
			_exit(12);
		if (sys_vrange(p, held * ps, VRANGE_VOLATILE, VRANGE_FULL))
			_exit(13);
		r->stage = 1;
		if (write(ready[1], "r", 1) != 1 || !read_byte(go[0], 100000))
			_exit(14);
		r->resident = count_resident(p, held);
		r->held_swapped = vma_swap_pages(p);
		r->nov = sys_vrange(p, held * ps, VRANGE_NOVOLATILE, 0);
		r->stage = 2;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	EXPECT_EQ(1, read_byte(ready[0], 30000)) TH_LOG("the holder did not get ready");

	hogp = fork();
	ASSERT_LE(0, hogp);
	if (!hogp) {
		char path[192];
		size_t i;
		char *h;

		if (cg_enter(&cg))
			_exit(10);
		h = map_anon(hog);
		if (!h)
			_exit(11);
		for (i = 0; i < hog; i++)
			memset(h + i * ps, (int)(i % 251) + 1, ps);
		snprintf(path, sizeof(path), "%s/memory.swap.current", cg.dir);
		r->swap_cur = read_long(path) / (long)ps;
		_exit(0);
	}
	hstatus = reap(hogp, PRESSURE_WAIT_MS);
	if (hstatus == -1)
		kill_reap(hogp, 5000);
	EXPECT_EQ(1, write(go[1], "g", 1));
	status = reap(holder, 30000);
	if (status == -1)
		kill_reap(holder, 5000);
	pswpout = vmstat_counter("pswpout") - swp0;
	pswpin = vmstat_counter("pswpin") - swpin0;
	dropped = pswpout - pswpin - r->swap_cur;
	oom_kill = cg_get(&cg, "memory.events", "oom_kill");
	cg_print_stat(&cg, "marker:");
	cg_remove(&cg);

	ksft_print_msg("pswpout %ld, pswpin %ld, the cgroup's swap %ld, dropped %ld\n",
		       pswpout, pswpin, r->swap_cur, dropped);
	ksft_print_msg("held: %zd resident, %ld in swap, NOVOLATILE %ld\n",
		       (ssize_t)r->resident, r->held_swapped, r->nov);
	EXPECT_TRUE(WIFEXITED(hstatus) && !WEXITSTATUS(hstatus))
		TH_LOG("the hog did not complete (status %#x)", hstatus);
	EXPECT_EQ(0, oom_kill);
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("holder status %#x, stage %d", status, r->stage);
	EXPECT_EQ(1, r->nov) TH_LOG("the cgroup's reclaim did not purge the volatile memory");
	EXPECT_GE((long)held / 1000, r->held_swapped + (dropped > 0 ? dropped : 0))
		TH_LOG("volatile pages written to swap: %ld still there, %ld written and dropped",
		       r->held_swapped, dropped);
	close(ready[0]);
	close(go[1]);
	munmap(r, sizeof(*r));
}

/*
 * MADV_PAGEOUT reclaims the caller's pages through vmscan's folio reclaim,
 * without a shrinker: the LRU path, made deterministic. Lazyfree pages are
 * dropped there, not swapped; volatile pages must not be swapped either
 * (whether they are purged on the spot is not the contract's business).
 */
TEST_F(lru, madv_pageout_of_volatile_memory_swaps_nothing)
{
	size_t pages = 4 * MiB / page_size(), len = pages * page_size();
	long s0, free_out, vol_out, vol_swap, nov;
	size_t left;
	char *f, *p;

	if (!have_swap())
		SKIP(return, "no swap is on (/proc/swaps)");
	/* The yard stick: MADV_FREE'd pages paged out. */
	f = map_own_vma(pages, MAP_PRIVATE);
	ASSERT_NE(NULL, f);
	fill(f, pages, 23);
	ASSERT_EQ(0, madvise(f, len, MADV_FREE));
	s0 = vmstat_counter("pswpout");
	if (madvise(f, len, MADV_PAGEOUT))
		SKIP(return, "MADV_PAGEOUT: %s", strerror(errno));
	free_out = vmstat_counter("pswpout") - s0;
	unmap_own_vma(f, pages);

	p = map_own_vma(pages, MAP_PRIVATE);
	ASSERT_NE(NULL, p);
	fill(p, pages, 24);
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL));
	s0 = vmstat_counter("pswpout");
	ASSERT_EQ(0, madvise(p, len, MADV_PAGEOUT));
	vol_out = vmstat_counter("pswpout") - s0;
	vol_swap = vma_swap_pages(p);
	left = count_resident(p, pages);
	nov = sys_vrange(p, len, VRANGE_NOVOLATILE, 0);
	ksft_print_msg("MADV_PAGEOUT of %zu pages: pswpout +%ld MADV_FREE'd, +%ld volatile\n",
		       pages, free_out, vol_out);
	ksft_print_msg("volatile: %ld pages in swap, %zu resident, NOVOLATILE %ld\n",
		       vol_swap, left, nov);
	EXPECT_GE(free_out + (long)pages / 100, vol_out);
	EXPECT_EQ(0, vol_swap) TH_LOG("volatile pages were written to swap");
	/* Kept: intact; purged: zeroes. Nothing else. */
	EXPECT_TRUE(nov == 0 ? all_intact(p, pages, 24) : all_zero(p, pages));
	unmap_own_vma(p, pages);
}

/* ------------------------------- 3: memory.reclaim purges in proportion */

#define NR_RANGES	4
#define RANGE_PAGES	((16 * MiB) / page_size())
#define GAP_PAGES	16	/* unmarked, so that the ranges do not merge */

struct reclaim_child {
	int stage;
	int reclaim_err;	/* errno of the write to memory.reclaim */
	long purged;		/* vrange_purged_anon delta around memory.reclaim */
	long ms;
	long nov[NR_RANGES];
	size_t resident[NR_RANGES];
	/* for the PARTIAL test */
	size_t pages, gone, wrong, wrong_first;
};

static void reclaim_full_child(struct cg *cg, const char *ask, struct reclaim_child *r)
{
	size_t ps = page_size(), stride = RANGE_PAGES + GAP_PAGES;
	long purged0, t0;
	char *p;
	int i;

	if (cg_enter(cg))
		_exit(10);
	p = map_anon(NR_RANGES * stride);
	if (!p)
		_exit(11);
	for (i = 0; i < NR_RANGES; i++) {
		fill(p + i * stride * ps, RANGE_PAGES, 30 + i);
		if (sys_vrange(p + i * stride * ps, RANGE_PAGES * ps, VRANGE_VOLATILE, VRANGE_FULL))
			_exit(12);
	}
	r->stage = 1;
	purged0 = vmstat_counter("vrange_purged_anon");
	t0 = now_ms();
	r->reclaim_err = -cg_set(cg, "memory.reclaim", ask);
	r->ms = now_ms() - t0;
	r->purged = vmstat_counter("vrange_purged_anon") - purged0;
	for (i = 0; i < NR_RANGES; i++) {
		r->resident[i] = count_resident(p + i * stride * ps, RANGE_PAGES);
		r->nov[i] = sys_vrange(p + i * stride * ps, RANGE_PAGES * ps, VRANGE_NOVOLATILE, 0);
	}
	r->stage = 2;
	_exit(0);
}

/* A cgroup that cannot swap (memory.swap.max = 0), so only purging frees. */
static int noswap_cgroup(struct cg *cg, const char *tag, const char *max)
{
	int ret = cg_make(cg, tag);

	if (ret)
		return ret;
	ret = cg_set(cg, "memory.swap.max", "0");
	if (!ret && max)
		ret = cg_set(cg, "memory.max", max);
	if (ret)
		cg_remove(cg);
	return ret;
}

TEST_F_TIMEOUT(lru, memory_reclaim_without_swap_purges_in_proportion, 120)
{
	struct reclaim_child *r = shared_alloc(sizeof(*r));
	int i, status, ret, purged = 0;
	struct cg cg;
	pid_t pid;

	ASSERT_NE(NULL, r);
	ret = noswap_cgroup(&cg, "reclaim", NULL);
	if (ret == -ENOENT)
		SKIP(return, "no cgroup v2 memory controller (or no memory.swap.max)");
	ASSERT_EQ(0, ret) TH_LOG("cgroup setup: %s", strerror(-ret));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		reclaim_full_child(&cg, "2M", r);
	status = reap(pid, 60000);
	if (status == -1)
		kill_reap(pid, 5000);
	cg_print_stat(&cg, "after memory.reclaim 2M:");
	cg_remove(&cg);

	for (i = 0; i < NR_RANGES; i++) {
		ksft_print_msg("range %d: NOVOLATILE %ld, %zd of %zu pages resident\n", i,
			       r->nov[i], (ssize_t)r->resident[i], RANGE_PAGES);
		purged += r->nov[i] == 1;
	}
	ksft_print_msg("memory.reclaim 2M: %s, %ld ms, purged_anon +%ld, %d of %d ranges\n",
		       r->reclaim_err ? strerror(r->reclaim_err) : "ok", r->ms, r->purged,
		       purged, NR_RANGES);
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x, stage %d", status, r->stage);
	EXPECT_LE(1, purged) TH_LOG("memory.reclaim purged nothing");
	EXPECT_GE(2, purged) TH_LOG("2M asked, %d ranges of 16M purged", purged);
	EXPECT_LT(0, r->purged);
	EXPECT_GE(8192, r->purged);
	munmap(r, sizeof(*r));
}

/*
 * A PARTIAL range, reclaimed in part: the node is split into purged and
 * unpurged parts, and each page's report must say which it is: NOVOLATILE
 * over a page is 1 exactly when the page is gone (no swap here: a page
 * that is not present was purged).
 */
static void reclaim_partial_child(struct cg *cg, const char *ask, struct reclaim_child *r)
{
	size_t ps = page_size(), pages = RANGE_PAGES, i;
	unsigned char *vec;
	long purged0;
	char *p;

	if (cg_enter(cg))
		_exit(10);
	p = map_anon(pages);
	vec = malloc(pages);
	if (!p || !vec)
		_exit(11);
	fill(p, pages, 40);
	if (sys_vrange(p, pages * ps, VRANGE_VOLATILE, VRANGE_PARTIAL))
		_exit(12);
	r->stage = 1;
	purged0 = vmstat_counter("vrange_purged_anon");
	r->reclaim_err = -cg_set(cg, "memory.reclaim", ask);
	r->purged = vmstat_counter("vrange_purged_anon") - purged0;
	if (mincore(p, pages * ps, vec))
		_exit(13);
	r->pages = pages;
	r->wrong_first = (size_t)-1;
	for (i = 0; i < pages; i++) {
		long nov = sys_vrange(p + i * ps, ps, VRANGE_NOVOLATILE, 0);
		bool gone = !(vec[i] & 1);

		r->gone += gone;
		if (nov != gone || (!gone && page_state(p, i, 40) != 1)) {
			if (!r->wrong++)
				r->wrong_first = i;
		}
	}
	r->stage = 2;
	_exit(0);
}

TEST_F_TIMEOUT(lru, partial_range_purged_in_part_reports_each_page_exactly, 120)
{
	struct reclaim_child *r = shared_alloc(sizeof(*r));
	struct cg cg;
	int status, ret;
	pid_t pid;

	ASSERT_NE(NULL, r);
	ret = noswap_cgroup(&cg, "partial", NULL);
	if (ret == -ENOENT)
		SKIP(return, "no cgroup v2 memory controller (or no memory.swap.max)");
	ASSERT_EQ(0, ret) TH_LOG("cgroup setup: %s", strerror(-ret));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		reclaim_partial_child(&cg, "2M", r);
	status = reap(pid, 60000);
	if (status == -1)
		kill_reap(pid, 5000);
	cg_remove(&cg);

	ksft_print_msg("memory.reclaim 2M of 16M PARTIAL: %s, %zu of %zu pages gone\n",
		       r->reclaim_err ? strerror(r->reclaim_err) : "ok", r->gone, r->pages);
	ksft_print_msg("purged_anon +%ld, %zu pages misreported (first: page %zd)\n",
		       r->purged, r->wrong, (ssize_t)r->wrong_first);
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x, stage %d", status, r->stage);
	EXPECT_LT(0, r->gone) TH_LOG("memory.reclaim purged nothing");
	EXPECT_GE(r->pages / 2, r->gone) TH_LOG("2M asked, %zu pages purged", r->gone);
	EXPECT_EQ(0, r->wrong) TH_LOG("NOVOLATILE of a page disagrees with the page");
	munmap(r, sizeof(*r));
}

/* ----- THP settings (used from 4 and 6) */

struct thp_state {
	bool was_never;
};

/* The guest boots with transparent_hugepage=madvise; make sure of it. */
static int thp_madvise_on(struct thp_state *s)
{
	if (access(THP_DIR "enabled", R_OK))
		return -ENOENT;
	s->was_never = file_contains(THP_DIR "enabled", "[never]");
	if (s->was_never && write_str(THP_DIR "enabled", "madvise"))
		return -EPERM;
	return 0;
}

static void thp_restore(struct thp_state *s)
{
	if (s->was_never)
		write_str(THP_DIR "enabled", "never");
}

static size_t pmd_size(void)
{
	long sz = read_long(THP_DIR "hpage_pmd_size");

	return sz > 0 ? (size_t)sz : 2 * MiB;
}

/* --------------------------------- 4: a small memcg does not OOM-kill */

struct oom_child {
	int stage;
	long nov;
	long thp_kb;		/* AnonHugePages of the holder */
};

/*
 * One process lends 8 MiB (in PMD THPs if @thp), another in the same 20 MiB
 * cgroup without swap needs 16 MiB: only purging can make the room.
 */
static void small_memcg(struct __test_metadata *_metadata, bool thp)
{
	size_t ps = page_size(), vol = 8 * MiB / ps, hog = 16 * MiB / ps;
	struct oom_child *r = shared_alloc(sizeof(*r));
	int ready[2], go[2], status, hstatus, ret;
	struct thp_state ts = { false };
	long oom_kill, ev_max;
	pid_t holder, hogp;
	struct cg cg;

	ASSERT_NE(NULL, r);
	if (thp && thp_madvise_on(&ts))
		SKIP(return, "THP is not available");
	ret = noswap_cgroup(&cg, thp ? "small_thp" : "small", "20M");
	if (ret == -ENOENT) {
		thp_restore(&ts);
		SKIP(return, "no cgroup v2 memory controller (or no memory.swap.max)");
	}
	ASSERT_EQ(0, ret) TH_LOG("cgroup setup: %s", strerror(-ret));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));

	holder = fork();
	ASSERT_LE(0, holder);
	if (!holder) {
		char *p;

		close(ready[0]);
		close(go[1]);
		if (cg_enter(&cg))
			_exit(10);
		p = thp ? map_aligned(vol * ps, pmd_size()) : map_anon(vol);
		if (!p)
			_exit(11);
		if (thp && madvise(p, vol * ps, MADV_HUGEPAGE))
			_exit(11);
		fill(p, vol, 50);
		r->thp_kb = rollup_kb("AnonHugePages");
		if (sys_vrange(p, vol * ps, VRANGE_VOLATILE, VRANGE_FULL))
			_exit(12);
		r->stage = 1;
		if (write(ready[1], "r", 1) != 1 || !read_byte(go[0], 100000))
			_exit(13);
		r->nov = sys_vrange(p, vol * ps, VRANGE_NOVOLATILE, 0);
		r->stage = 2;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	EXPECT_EQ(1, read_byte(ready[0], 30000)) TH_LOG("the holder did not get ready");

	hogp = fork();
	ASSERT_LE(0, hogp);
	if (!hogp) {
		size_t i;
		char *h;

		if (cg_enter(&cg))
			_exit(10);
		h = map_anon(hog);
		if (!h)
			_exit(11);
		for (i = 0; i < hog; i++)
			memset(h + i * ps, (int)(i % 251) + 1, ps);
		_exit(0);
	}
	hstatus = reap(hogp, 60000);
	if (hstatus == -1)
		kill_reap(hogp, 5000);
	EXPECT_EQ(1, write(go[1], "g", 1));
	status = reap(holder, 30000);
	if (status == -1)
		kill_reap(holder, 5000);

	oom_kill = cg_get(&cg, "memory.events", "oom_kill");
	ev_max = cg_get(&cg, "memory.events", "max");
	cg_print_stat(&cg, "20M cgroup:");
	cg_remove(&cg);
	thp_restore(&ts);
	ksft_print_msg("holder: AnonHugePages %ld kB, status %#x, NOVOLATILE %ld\n",
		       r->thp_kb, status, r->nov);
	ksft_print_msg("hog status %#x\n", hstatus);
	ksft_print_msg("memory.events: max %ld oom_kill %ld\n", ev_max, oom_kill);
	if (thp && r->thp_kb < 2048 && WIFEXITED(hstatus) && !WEXITSTATUS(hstatus))
		SKIP(goto out, "the holder got no THP");
	EXPECT_TRUE(WIFEXITED(hstatus) && !WEXITSTATUS(hstatus))
		TH_LOG("the hog did not complete (status %#x)", hstatus);
	EXPECT_EQ(0, oom_kill);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("holder status %#x, stage %d", status, r->stage);
	EXPECT_EQ(1, r->nov) TH_LOG("the hog fitted without a purge?");
out:
	close(ready[0]);
	close(go[1]);
	munmap(r, sizeof(*r));
}

TEST_F_TIMEOUT(lru, small_memcg_with_volatile_memory_never_oom_kills, 120)
{
	small_memcg(_metadata, false);
}

/* The same with the volatile memory in THPs: each purge pass must free them whole. */
TEST_F_TIMEOUT(lru, small_memcg_with_volatile_thp_never_oom_kills, 120)
{
	small_memcg(_metadata, true);
}

/* ------------------- 5: what cannot be purged costs reclaim nothing */

#define DROP_LIMIT_MS	10000
#define SCAN_LIMIT	1000000L

/* drop_caches until the caches are as empty as they get; then one, measured. */
static long baseline_scan(struct dropper *d, long *ms)
{
	long s0;

	dropper_drop(d, DROP_LIMIT_MS);
	dropper_drop(d, DROP_LIMIT_MS);
	s0 = vmstat_counter("slabs_scanned");
	*ms = dropper_drop(d, DROP_LIMIT_MS);
	return vmstat_counter("slabs_scanned") - s0;
}

/* Does any mapping of ours meet [start, start + len)? */
static bool anything_mapped(unsigned long start, unsigned long len)
{
	unsigned long s, e;
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%lx-%lx", &s, &e) == 2 && e > start && s < start + len;
	if (f)
		fclose(f);
	return found || !f;
}

TEST_F_TIMEOUT(lru, huge_unpopulated_range_costs_reclaim_nothing, 120)
{
	/* 16 TiB at 16 TiB (the casts keep a 32-bit build quiet; it skips) */
	void *start = (void *)(uintptr_t)0x100000000000ULL;
	size_t len = (size_t)(1ULL << 44);
	long base, base_ms, s0, scanned, ms;
	struct dropper d;

	if (sizeof(long) < 8)
		SKIP(return, "needs a 64-bit address space");
	if (anything_mapped((unsigned long)start, len))
		SKIP(return, "something is mapped at 16 TiB");
	ASSERT_EQ(0, dropper_start(&d));
	base = baseline_scan(&d, &base_ms);

	ASSERT_EQ(0, sys_vrange(start, len, VRANGE_VOLATILE, 0)) TH_LOG("%s", strerror(errno));
	s0 = vmstat_counter("slabs_scanned");
	ms = dropper_drop(&d, DROP_LIMIT_MS);
	scanned = vmstat_counter("slabs_scanned") - s0;
	ksft_print_msg("drop_caches: %ld scanned in %ld ms; with 16 TiB volatile: %ld in %ld ms\n",
		       base, base_ms, scanned, ms);
	if (ms < 0) {
		/* Let it go: with no range left, a reclaim that spins ends. */
		sys_vrange(start, len, VRANGE_NOVOLATILE, 0);
		ksft_print_msg("drop_caches took over %d s; %s afterwards\n", DROP_LIMIT_MS / 1000,
			       read_byte(d.ans, 30000) ? "it ended" : "it had not ended 30 s");
		ksft_print_msg("slabs_scanned grew by %ld\n", vmstat_counter("slabs_scanned") - s0);
	}
	EXPECT_LE(0, ms) TH_LOG("drop_caches did not return within %d s", DROP_LIMIT_MS / 1000);
	EXPECT_GT(SCAN_LIMIT, scanned);
	EXPECT_EQ(0, sys_vrange(start, len, VRANGE_NOVOLATILE, 0));
	dropper_stop(&d);
}

TEST_F_TIMEOUT(lru, unpurgeable_mlocked_range_costs_reclaim_nothing, 120)
{
	size_t pages = 4 * MiB / page_size(), len = pages * page_size();
	long base, base_ms, s0, s1, first, second, ms1, ms2, noise;
	struct dropper d;
	char *p;

	ASSERT_EQ(0, dropper_start(&d));
	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 60);
	if (mlock(p, len)) {
		dropper_stop(&d);
		SKIP(return, "mlock 4 MiB: %s", strerror(errno));
	}
	base = baseline_scan(&d, &base_ms);

	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, 0));
	s0 = vmstat_counter("slabs_scanned");
	ms1 = dropper_drop(&d, DROP_LIMIT_MS);
	s1 = vmstat_counter("slabs_scanned");
	ms2 = dropper_drop(&d, DROP_LIMIT_MS);
	first = s1 - s0;
	second = vmstat_counter("slabs_scanned") - s1;
	ksft_print_msg("drop_caches: %ld scanned in %ld ms before marking %zu mlocked pages\n",
		       base, base_ms, pages);
	ksft_print_msg("with them volatile: %ld in %ld ms, then %ld in %ld ms\n",
		       first, ms1, second, ms2);
	if (ms1 < 0 || ms2 < 0)
		sys_vrange(p, len, VRANGE_NOVOLATILE, 0);
	EXPECT_LE(0, ms1);
	EXPECT_LE(0, ms2);
	EXPECT_GT(SCAN_LIMIT, first + second);
	/*
	 * Looking at each page once to learn that it cannot go is allowed (an
	 * echo calls the shrinkers once per node, two here: twice then);
	 * looking again at every pass is reclaim paying for what it cannot get.
	 */
	noise = base > 128 ? 2 * base : 256;
	EXPECT_GE(base + 2 * (long)pages + noise, first);
	EXPECT_GE(base + noise, second)
		TH_LOG("the second pass scanned %ld objects, %ld without the range", second, base);
	EXPECT_EQ(0, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_intact(p, pages, 60));
	munlock(p, len);
	munmap(p, len);
	dropper_stop(&d);
}

/* ---------------------------------------------------- 6: large folios */

/* 2 PMD THPs, filled with @seed; NULL (and a reason) if THP is not to be had. */
static char *thp_region(size_t *len, int seed, const char **why)
{
	size_t hs = pmd_size(), pages;
	long thp0, thp1;
	char *p;

	*len = 2 * hs;
	pages = *len / page_size();
	p = map_aligned(*len, hs);
	if (!p) {
		*why = "mmap failed";
		return NULL;
	}
	if (madvise(p, *len, MADV_HUGEPAGE)) {
		munmap(p, *len);
		*why = "MADV_HUGEPAGE failed";
		return NULL;
	}
	thp0 = rollup_kb("AnonHugePages");
	fill(p, pages, seed);
	thp1 = rollup_kb("AnonHugePages");
	if (thp1 - thp0 < (long)(*len / 1024)) {
		munmap(p, *len);
		*why = "no THP was allocated (AnonHugePages did not grow)";
		return NULL;
	}
	return p;
}

TEST_F(lru, covered_pmd_thp_is_purged_whole_in_one_pass)
{
	long purged0, purged, rss0, rss1, thp1;
	const char *why = "";
	struct thp_state s;
	size_t len, pages, left;
	char *p;

	if (thp_madvise_on(&s))
		SKIP(return, "THP is not available");
	p = thp_region(&len, 70, &why);
	if (!p) {
		thp_restore(&s);
		SKIP(return, "%s", why);
	}
	pages = len / page_size();
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL));
	rss0 = rollup_kb("Rss");
	purged0 = vmstat_counter("vrange_purged_anon");
	ASSERT_EQ(0, write_drop_caches());	/* once */
	purged = vmstat_counter("vrange_purged_anon") - purged0;
	rss1 = rollup_kb("Rss");
	thp1 = rollup_kb("AnonHugePages");
	left = count_resident(p, pages);
	ksft_print_msg("one drop_caches: %zu of %zu pages left, purged_anon +%ld\n",
		       left, pages, purged);
	ksft_print_msg("Rss %ld -> %ld kB, AnonHugePages %ld kB\n", rss0, rss1, thp1);
	EXPECT_EQ(0, left) TH_LOG("one pass left %zu of %zu pages", left, pages);
	EXPECT_LE((long)pages, purged);
	EXPECT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_zero(p, pages));
	munmap(p, len);
	thp_restore(&s);
}

TEST_F(lru, straddling_thp_is_split_and_data_outside_kept)
{
	size_t ps = page_size(), len, hs = pmd_size(), q = hs / 2;
	const char *why = "";
	struct thp_state s;
	char *p;

	if (thp_madvise_on(&s))
		SKIP(return, "THP is not available");
	p = thp_region(&len, 71, &why);
	if (!p) {
		thp_restore(&s);
		SKIP(return, "%s", why);
	}
	/* [1M, 3M) of two 2M THPs: each THP is half in, half out. */
	ASSERT_EQ(0, sys_vrange(p + q, 2 * q, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, purge_now());
	ksft_print_msg("purged: %zu of %zu pages present in the range, AnonHugePages %ld kB\n",
		       count_resident(p + q, 2 * q / ps), 2 * q / ps, rollup_kb("AnonHugePages"));
	EXPECT_TRUE(all_intact(p, q / ps, 71)) TH_LOG("data before the range was lost");
	EXPECT_TRUE(all_intact(p + 3 * q, q / ps, 71 + 3 * q / ps * 7))
		TH_LOG("data after the range was lost");
	EXPECT_EQ(0, count_resident(p + q, 2 * q / ps));
	EXPECT_EQ(0, sys_vrange(p, q, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(1, sys_vrange(p + q, 2 * q, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, sys_vrange(p + 3 * q, q, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_zero(p + q, 2 * q / ps));
	munmap(p, len);
	thp_restore(&s);
}

/* One mTHP size at "always" (and back): 40 folios in a FULL range, one pass. */
static void mthp_one_pass(struct __test_metadata *_metadata, int kb)
{
	char dir[96], path[160], old[32] = "", buf[160];
	size_t ps = page_size(), fsz = (size_t)kb * 1024, len = 40 * fsz, pages = len / ps;
	long alloc0, alloc, purged0, purged;
	size_t left;
	char *p, *b;
	FILE *f;

	snprintf(dir, sizeof(dir), THP_DIR "hugepages-%dkB/", kb);
	snprintf(path, sizeof(path), "%senabled", dir);
	if (access(path, W_OK))
		SKIP(return, "no %d kB mTHP (%s)", kb, path);
	/* "always inherit madvise [never]": keep the bracketed word. */
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f)) {
		b = strchr(buf, '[');
		if (b && sscanf(b + 1, "%31[^]]", old) != 1)
			old[0] = 0;
	}
	if (f)
		fclose(f);
	ASSERT_NE(0, old[0]) TH_LOG("cannot parse %s", path);
	ASSERT_EQ(0, write_str(path, "always"));

	snprintf(buf, sizeof(buf), "%sstats/anon_fault_alloc", dir);
	alloc0 = read_long(buf);
	p = map_aligned(len, fsz);
	ASSERT_NE(NULL, p);
	fill(p, pages, 72);
	alloc = read_long(buf) - alloc0;
	ksft_print_msg("%d kB mTHP: %ld of 40 folios allocated at fault\n", kb, alloc);
	if (alloc0 >= 0 && alloc < 20) {
		munmap(p, len);
		write_str(path, old);
		SKIP(return, "only %ld of 40 %d kB folios were allocated", alloc, kb);
	}

	EXPECT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL));
	purged0 = vmstat_counter("vrange_purged_anon");
	EXPECT_EQ(0, write_drop_caches());	/* once */
	purged = vmstat_counter("vrange_purged_anon") - purged0;
	left = count_resident(p, pages);
	ksft_print_msg("one drop_caches: %zu of %zu pages left, vrange_purged_anon +%ld\n",
		       left, pages, purged);
	EXPECT_EQ(0, left);
	EXPECT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_zero(p, pages));
	munmap(p, len);
	write_str(path, old);
}

TEST_F(lru, covered_64k_mthp_folios_are_purged_whole_in_one_pass)
{
	mthp_one_pass(_metadata, 64);
}

TEST_F(lru, covered_16k_mthp_folios_are_purged_whole_in_one_pass)
{
	mthp_one_pass(_metadata, 16);
}

/* Lines of /proc/self/vranges that meet [p, p + len): how many, how many purged. */
static int vranges_lines(const char *p, size_t len, int *purged, char *first, size_t flen)
{
	unsigned long lo = (unsigned long)p, hi = lo + len, s, e;
	char line[256];
	int n = 0, pu;
	FILE *f = fopen("/proc/self/vranges", "r");

	*purged = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %*s purged=%d", &s, &e, &pu) != 3)
			continue;
		if (e <= lo || s >= hi)
			continue;
		if (!n++)
			snprintf(first, flen, "%s", line);
		*purged += pu == 1;
	}
	fclose(f);
	return n;
}

/*
 * A PARTIAL range over exactly one PMD THP: the THP goes whole, so the node
 * becomes one purged part, one line, not a purged line per base page.
 */
TEST_F(lru, purged_thp_is_one_line_in_proc_vranges)
{
	size_t len, hs = pmd_size();
	char first[256] = "";
	const char *why = "";
	struct thp_state s;
	int lines, purged;
	unsigned long a, b;
	char *p;

	if (access("/proc/self/vranges", R_OK))
		SKIP(return, "no /proc/self/vranges");
	if (thp_madvise_on(&s))
		SKIP(return, "THP is not available");
	p = thp_region(&len, 73, &why);
	if (!p) {
		thp_restore(&s);
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(0, sys_vrange(p, hs, VRANGE_VOLATILE, VRANGE_PARTIAL));
	ASSERT_EQ(0, purge_now());
	lines = vranges_lines(p, hs, &purged, first, sizeof(first));
	ksft_print_msg("/proc/self/vranges: %d lines over the THP, %d purged; first: %s",
		       lines, purged, first[0] ? first : "(none)\n");
	EXPECT_EQ(1, lines);
	EXPECT_EQ(1, purged);
	if (sscanf(first, "%lx-%lx", &a, &b) == 2) {
		EXPECT_EQ((unsigned long)p, a);
		EXPECT_EQ((unsigned long)p + hs, b);
	}
	EXPECT_TRUE(all_intact(p + hs, hs / page_size(), 73 + hs / page_size() * 7));
	EXPECT_EQ(1, sys_vrange(p, hs, VRANGE_NOVOLATILE, 0));
	munmap(p, len);
	thp_restore(&s);
}

/* --------------------------------------------------------- 7: pins */

/*
 * Minimal io_uring, raw syscalls: one SQE at a time, waited for.
 */
struct uring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *sq_ring, *cq_ring;
	size_t sq_len, cq_len, sqes_len;
};

static int uring_init(struct uring *u)
{
	struct io_uring_params pr;
	char *sq, *cq;

	memset(&pr, 0, sizeof(pr));
	u->fd = syscall(__NR_io_uring_setup, 4, &pr);
	if (u->fd < 0)
		return -errno;
	u->sq_len = pr.sq_off.array + pr.sq_entries * sizeof(unsigned int);
	u->cq_len = pr.cq_off.cqes + pr.cq_entries * sizeof(struct io_uring_cqe);
	if (pr.features & IORING_FEAT_SINGLE_MMAP) {
		if (u->cq_len > u->sq_len)
			u->sq_len = u->cq_len;
		u->cq_len = u->sq_len;
	}
	u->sq_ring = mmap(NULL, u->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			  u->fd, IORING_OFF_SQ_RING);
	if (u->sq_ring == MAP_FAILED)
		goto fail;
	u->cq_ring = u->sq_ring;
	if (!(pr.features & IORING_FEAT_SINGLE_MMAP)) {
		u->cq_ring = mmap(NULL, u->cq_len, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_CQ_RING);
		if (u->cq_ring == MAP_FAILED)
			goto fail;
	}
	u->sqes_len = pr.sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       u->fd, IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED)
		goto fail;
	sq = u->sq_ring;
	cq = u->cq_ring;
	u->sq_tail = (unsigned int *)(sq + pr.sq_off.tail);
	u->sq_mask = (unsigned int *)(sq + pr.sq_off.ring_mask);
	u->sq_array = (unsigned int *)(sq + pr.sq_off.array);
	u->cq_head = (unsigned int *)(cq + pr.cq_off.head);
	u->cq_tail = (unsigned int *)(cq + pr.cq_off.tail);
	u->cq_mask = (unsigned int *)(cq + pr.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)(cq + pr.cq_off.cqes);
	return 0;
fail:
	close(u->fd);
	return -ENOMEM;
}

/* IORING_OP_WRITE_FIXED of registered buffer 0: its result. */
static int uring_write_fixed(struct uring *u, int fd, void *buf, unsigned int len, off_t off)
{
	unsigned int tail = *u->sq_tail, idx = tail & *u->sq_mask, head;
	struct io_uring_sqe *sqe = &u->sqes[idx];
	int res;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_WRITE_FIXED;
	sqe->fd = fd;
	sqe->addr = (unsigned long)buf;
	sqe->len = len;
	sqe->off = off;
	sqe->buf_index = 0;
	sqe->user_data = 1;
	u->sq_array[idx] = idx;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, u->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	head = __atomic_load_n(u->cq_head, __ATOMIC_ACQUIRE);
	if (head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	res = u->cqes[head & *u->cq_mask].res;
	__atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

#define PIN_CHUNK	8	/* pages of one volatile range */
#define PIN_FIRST	2	/* the pinned pages are [PIN_FIRST, PIN_FIRST + PIN_PAGES) */
#define PIN_PAGES	2
#define PIN_WITNESS	10	/* a 4-page range of its own, never pinned: are purges happening? */
#define PIN_STRIDE	16	/* pages per thread; the gaps keep the ranges apart */
#define PIN_SECONDS	8

enum pin_kind { PIN_VMSPLICE, PIN_IO_URING, PIN_NR };

struct pin_stats {
	long cycles, pinned, missed, purges, witness;
	long bad_errno, bad_while_volatile, bad_report, bad_map, bad_pin;
	int last_errno;
};

struct pin_ctx {
	char *mem;
	int stop;
	int memfd;		/* io_uring writes the pinned buffer here */
	int scratch;		/* copies of the pinned pages made while volatile */
	struct pin_stats st[PIN_NR];
};

struct pin_thread {
	struct pin_ctx *ctx;
	enum pin_kind kind;
	int pipe[2];
	struct uring u;
	char *buf;		/* PIN_PAGES pages */
};

/* Pin the pages at @p: how many pages got pinned, or -errno. */
static long pin_pages(struct pin_thread *t, char *p)
{
	size_t ps = page_size();
	struct iovec iov = { .iov_base = p, .iov_len = PIN_PAGES * ps };
	ssize_t n;

	if (t->kind == PIN_VMSPLICE) {
		n = vmsplice(t->pipe[1], &iov, 1, 0);
		if (n < 0)
			return -errno;
		if (n % ps) {	/* cannot happen: vmsplice takes whole pages here */
			char buf[64];

			while (n > 0)
				n -= read(t->pipe[0], buf, n < 64 ? n : 64);
			return -EIO;
		}
		return n / ps;
	}
	if (syscall(__NR_io_uring_register, t->u.fd, IORING_REGISTER_BUFFERS, &iov, 1))
		return -errno;
	return PIN_PAGES;
}

/* Read the pinned pages back through the pin into @buf, and let them go: 0 or -1. */
static int pin_read_release(struct pin_thread *t, char *p, long n, char *buf)
{
	size_t ps = page_size(), len = n * ps;
	int ret = 0;

	if (t->kind == PIN_VMSPLICE) {
		size_t got = 0;

		while (got < len) {
			ssize_t r = read(t->pipe[0], buf + got, len - got);

			if (r <= 0)
				return -1;
			got += r;
		}
		return 0;
	}
	if (uring_write_fixed(&t->u, t->ctx->memfd, p, len, 0) != (int)len ||
	    pread(t->ctx->memfd, buf, len, 0) != (ssize_t)len)
		ret = -1;
	syscall(__NR_io_uring_register, t->u.fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
	return ret;
}

/* Do the @n pages at @q hold the data of pages @first.. of a fill(, , @seed)? */
static bool buf_intact(const char *q, long n, int first, int seed)
{
	size_t ps = page_size(), k;
	long j;

	for (j = 0; j < n; j++) {
		char want = (char)(((first + j) * 7 + seed) % 251) + 1;

		for (k = 0; k < ps; k++)
			if (q[j * ps + k] != want)
				return false;
	}
	return true;
}

static void pin_cycle(struct pin_thread *t, int seed, bool pin_first)
{
	struct pin_stats *st = &t->ctx->st[t->kind];
	size_t ps = page_size();
	char *chunk = t->ctx->mem + t->kind * PIN_STRIDE * ps;
	char *pinp = chunk + PIN_FIRST * ps, *wit = chunk + PIN_WITNESS * ps, *b = t->buf;
	off_t soff = t->kind * PIN_PAGES * ps;
	long n = 0;
	int j;

	fill(chunk, PIN_STRIDE, seed);
	if (pin_first)
		n = pin_pages(t, pinp);
	sys_vrange(chunk, PIN_CHUNK * ps, VRANGE_VOLATILE, VRANGE_FULL);
	sys_vrange(wit, 4 * ps, VRANGE_VOLATILE, VRANGE_FULL);
	if (!pin_first) {
		usleep(rand() % 3000);
		n = pin_pages(t, pinp);
	}
	if (n < 0) {
		/* Purged before the pin: a syscall meeting a purged page gets EFAULT. */
		if (n != -EFAULT || pin_first) {
			st->bad_errno++;
			st->last_errno = -n;
		}
		st->missed++;
		goto next;
	}
	if (n == 0) {
		st->missed++;
		goto next;
	}
	st->pinned++;
	usleep(20000 + rand() % 20000);	/* the purger runs */

	/* Still volatile: the pinned pages are there (no EFAULT), with their data. */
	if (pwrite(t->ctx->scratch, pinp, n * ps, soff) != (ssize_t)(n * ps) ||
	    pread(t->ctx->scratch, b, n * ps, soff) != (ssize_t)(n * ps) ||
	    !buf_intact(b, n, PIN_FIRST, seed))
		st->bad_while_volatile++;
	if (sys_vrange(pinp, n * ps, VRANGE_NOVOLATILE, 0) != 0)
		st->bad_report++;
	for (j = 0; j < n; j++)
		if (page_state(chunk, PIN_FIRST + j, seed) != 1) {
			st->bad_map++;
			break;
		}
	memset(b, 0, n * ps);
	if (pin_read_release(t, pinp, n, b) || !buf_intact(b, n, PIN_FIRST, seed))
		st->bad_pin++;
next:
	if (sys_vrange(chunk, PIN_CHUNK * ps, VRANGE_NOVOLATILE, 0) == 1)
		st->purges++;
	if (sys_vrange(wit, 4 * ps, VRANGE_NOVOLATILE, 0) == 1)
		st->witness++;
	st->cycles++;
}

static void *pin_thread_fn(void *arg)
{
	struct pin_thread *t = arg;
	int seed = 80 + t->kind * 50;

	while (!__atomic_load_n(&t->ctx->stop, __ATOMIC_RELAXED)) {
		seed = seed % 200 + 1;
		pin_cycle(t, seed, t->ctx->st[t->kind].cycles & 1);
	}
	return NULL;
}

/*
 * Pages pinned by vmsplice (extra references) and by io_uring fixed buffers
 * (FOLL_PIN | FOLL_LONGTERM) while their range is volatile, with purges
 * running all the time from another process. Half the cycles pin first and
 * then mark, half mark first and then pin, racing the purge; a pin made
 * before its page was purged must keep the page: in the mapping, through
 * the pin, and in the report (NOVOLATILE over the pinned pages is 0). A pin
 * that comes after the purge fails with EFAULT, which is fine.
 */
TEST_F_TIMEOUT(lru, pinned_pages_are_never_purged, 90)
{
	bool running[PIN_NR] = { false };
	struct pin_thread th[PIN_NR];
	size_t ps = page_size();
	pthread_t tid[PIN_NR];
	struct pin_ctx ctx;
	long end, purged0;
	pid_t purger;
	int i;

	memset(&ctx, 0, sizeof(ctx));
	memset(th, 0, sizeof(th));
	/* The purger first: forked later, it would share our pages copy-on-write. */
	purger = fork();
	ASSERT_LE(0, purger);
	if (!purger) {
		/* Every 2 ms is often enough, and keeps the console's log short. */
		for (;;) {
			write_drop_caches();
			usleep(2000);
		}
	}
	ctx.mem = map_anon(PIN_NR * PIN_STRIDE);
	ASSERT_NE(NULL, ctx.mem);
	ctx.memfd = memfd_create("vrange_lru_pin", 0);
	ctx.scratch = memfd_create("vrange_lru_scratch", 0);
	ASSERT_LE(0, ctx.memfd);
	ASSERT_LE(0, ctx.scratch);
	ASSERT_EQ(0, ftruncate(ctx.memfd, PIN_PAGES * ps));
	ASSERT_EQ(0, ftruncate(ctx.scratch, PIN_NR * PIN_PAGES * ps));

	for (i = 0; i < PIN_NR; i++) {
		th[i].ctx = &ctx;
		th[i].kind = i;
		th[i].u.fd = -1;
	}
	ASSERT_EQ(0, pipe(th[PIN_VMSPLICE].pipe));
	i = uring_init(&th[PIN_IO_URING].u);
	if (i)
		ksft_print_msg("io_uring is not available (%s): vmsplice only\n", strerror(-i));

	purged0 = vmstat_counter("vrange_purged_anon");
	for (i = 0; i < PIN_NR; i++) {
		th[i].buf = malloc(PIN_PAGES * ps);
		ASSERT_NE(NULL, th[i].buf);
		if (i == PIN_IO_URING && th[i].u.fd < 0)
			continue;
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, pin_thread_fn, &th[i]));
		running[i] = true;
	}
	end = now_ms() + PIN_SECONDS * 1000;
	while (now_ms() < end)
		usleep(100000);
	__atomic_store_n(&ctx.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < PIN_NR; i++)
		if (running[i])
			pthread_join(tid[i], NULL);
	kill_reap(purger, 10000);

	for (i = 0; i < PIN_NR; i++) {
		struct pin_stats *st = &ctx.st[i];

		const char *name = i == PIN_VMSPLICE ? "vmsplice" : "io_uring";

		ksft_print_msg("%s: %ld cycles, %ld pinned, %ld missed (purged first)\n",
			       name, st->cycles, st->pinned, st->missed);
		ksft_print_msg("%s: purged: chunk %ld times, witness %ld times\n",
			       name, st->purges, st->witness);
		ksft_print_msg("%s: bad: errno %ld (%s), vol %ld, report %ld, map %ld, pin %ld\n",
			       name, st->bad_errno, strerror(st->last_errno),
			       st->bad_while_volatile, st->bad_report, st->bad_map, st->bad_pin);
	}
	ksft_print_msg("vrange_purged_anon +%ld\n", vmstat_counter("vrange_purged_anon") - purged0);
	for (i = 0; i < PIN_NR; i++) {
		struct pin_stats *st = &ctx.st[i];

		if (i == PIN_IO_URING && th[i].u.fd < 0)
			continue;
		EXPECT_LT(0, st->pinned);
		EXPECT_EQ(0, st->bad_errno);
		EXPECT_EQ(0, st->bad_while_volatile)
			TH_LOG("a pinned page was gone while volatile");
		EXPECT_EQ(0, st->bad_report) TH_LOG("NOVOLATILE of pinned pages returned 1");
		EXPECT_EQ(0, st->bad_map) TH_LOG("a pinned page lost its data in the mapping");
		EXPECT_EQ(0, st->bad_pin) TH_LOG("the pin did not read back what was written");
		EXPECT_LT(0, st->witness)
			TH_LOG("nothing was ever purged: the test proved nothing");
	}
	for (i = 0; i < PIN_NR; i++)
		free(th[i].buf);
	if (th[PIN_IO_URING].u.fd >= 0)
		close(th[PIN_IO_URING].u.fd);
	munmap(ctx.mem, PIN_NR * PIN_STRIDE * ps);
}

/* ------------------------------------------------ 8: exact reports */

TEST_F(lru, mlocked_page_in_full_range_reports_zero)
{
	size_t ps = page_size(), pages = 16;
	char *p;

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 90);
	ASSERT_EQ(0, mlock(p + 5 * ps, ps)) TH_LOG("mlock: %s", strerror(errno));
	ASSERT_EQ(0, sys_vrange(p, pages * ps, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(p + 5 * ps, ps, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(1, page_state(p, 5, 90));
	EXPECT_EQ(1, sys_vrange(p + 9 * ps, ps, VRANGE_NOVOLATILE, 0))
		TH_LOG("the rest of the FULL range was not purged");
	EXPECT_EQ(1, sys_vrange(p, pages * ps, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(1, page_state(p, 5, 90));
	munlock(p + 5 * ps, ps);
	munmap(p, pages * ps);
}

/*
 * A PARTIAL range with a 2 MiB hole that was never populated between two
 * populated 256 KiB parts: the purge takes the data, and splits the node
 * into purged and unpurged parts; the hole had no data, so its middle
 * (256 KiB from either edge: room for any purge granule up to that) was not
 * purged and reports 0.
 */
TEST_F(lru, partial_range_with_hole_reports_exactly)
{
	size_t ps = page_size(), part = 256 * 1024, hole = 2 * MiB, len = 2 * part + hole;
	char *p, *h;

	p = map_anon(len / ps);
	ASSERT_NE(NULL, p);
	h = p + part;
	fill(p, part / ps, 91);
	fill(h + hole, part / ps, 92);
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_PARTIAL));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, count_resident(p, part / ps));
	EXPECT_EQ(0, sys_vrange(h + part, hole - 2 * part, VRANGE_NOVOLATILE, 0))
		TH_LOG("the never-populated middle of the hole reports a purge");
	EXPECT_EQ(1, sys_vrange(p, part, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(1, sys_vrange(h + hole, part, VRANGE_NOVOLATILE, 0));
	munmap(p, len);
}

/* The contract: "/proc/pid/pagemap (a purged page is not present and not swapped)". */
TEST_F(lru, purged_page_is_neither_present_nor_swapped_in_pagemap)
{
	size_t pages = 16, len = pages * page_size();
	char *p;

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 94);
	ASSERT_EQ(pages, pagemap_count(p, pages, PM_PRESENT_BIT));
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, pagemap_count(p, pages, PM_PRESENT_BIT));
	EXPECT_EQ(0, pagemap_count(p, pages, PM_SWAP_BIT))
		TH_LOG("pagemap calls purged pages swapped");
	EXPECT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, pagemap_count(p, pages, PM_PRESENT_BIT));
	EXPECT_EQ(0, pagemap_count(p, pages, PM_SWAP_BIT))
		TH_LOG("pagemap calls unmarked purged pages swapped");
	munmap(p, len);
}

/* ---------------------------------- 9: a swap entry shared after fork */

TEST_F_TIMEOUT(lru, swap_cow_shared_page_survives_child_unmark, 60)
{
	size_t pages = 256, len = pages * page_size();
	int ready[2], go[2], status;
	long swap0, swap1;
	pid_t child;
	char *p;

	if (!have_swap())
		SKIP(return, "no swap is on (/proc/swaps)");
	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 93);
	swap0 = status_kb(0, "VmSwap");
	if (madvise(p, len, MADV_PAGEOUT))
		SKIP(return, "MADV_PAGEOUT: %s", strerror(errno));
	swap1 = status_kb(0, "VmSwap");
	ksft_print_msg("VmSwap %ld -> %ld kB, %zu resident of %zu\n", swap0, swap1,
		       count_resident(p, pages), pages);
	if (swap1 - swap0 < (long)(len / 1024 / 2))
		SKIP(return, "MADV_PAGEOUT swapped out only %ld kB", swap1 - swap0);

	/* Marked before the fork: the child inherits the range, and unmarks it. */
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		close(ready[0]);
		close(go[1]);
		if (sys_vrange(p, len, VRANGE_NOVOLATILE, 0) != 0)
			_exit(2);
		if (write(ready[1], "r", 1) != 1 || !read_byte(go[0], 30000))
			_exit(3);
		_exit(all_intact(p, pages, 93) ? 0 : 1);
	}
	close(ready[1]);
	close(go[0]);
	EXPECT_EQ(1, read_byte(ready[0], 30000)) TH_LOG("the child did not get ready");
	EXPECT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(p, len, VRANGE_NOVOLATILE, 0))
		TH_LOG("swap entries shared with a non-volatile child were purged");
	EXPECT_TRUE(all_intact(p, pages, 93));
	EXPECT_EQ(1, write(go[1], "g", 1));
	status = reap(child, 30000);
	if (status == -1)
		kill_reap(child, 5000);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x (1: its data was lost, 2: its NOVOLATILE was not 0)",
		       status);
	close(ready[0]);
	close(go[1]);
	munmap(p, len);
}

TEST_HARNESS_MAIN
