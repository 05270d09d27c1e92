// SPDX-License-Identifier: GPL-2.0
/*
 * A stress test of vrange() and fvrange(): everything at once, with an
 * oracle that knows, page by page, what every access may find.
 *
 *   - worker threads of one process (one mm, one tree of ranges) own slots
 *     of anonymous memory and mark and unmark them at random (every
 *     behavior, sub-ranges that split and merge), read them (catching
 *     SIGBUS), read them through process_vm_readv (a GUP pin), write them,
 *     munmap+mmap, mremap and mlock them, and fork children that check and
 *     unmark their copy and exit;
 *   - processes share a memfd cut into segments (locks and state in shared
 *     memory): one marks a segment, another unmarks it and reads the
 *     report; they read through the mapping and pread(), punch holes, and
 *     create, mark and close short-lived memfds;
 *   - a process drops caches in a loop (the shrinker purges), and a hog
 *     process makes real memory pressure (it is the OOM killer's pick).
 *
 * The oracle: a page that is not volatile always holds what was last
 * written to it; an unmark that returns 0 finds every page intact, one that
 * returns 1 finds whole pages intact or zero, and had something volatile
 * (a 1 with nothing lost is counted, not failed: see check_unmark()); a
 * volatile page reads its data, or zeroes after a VRANGE_ZEROFILL mark, or raises SIGBUS (si_code
 * BUS_ADRERR, si_addr in the page) after a mark without it.
 *
 * VRANGE_STRESS_SECONDS sets the duration (default 60). Afterwards the
 * vrange slab must return to its baseline (when the cache is not merged).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "vrange_util.h"

#define ANON_THREADS	3
#define SLOTS		8
#define SLOT_PAGES	16
#define FILE_PROCS	2
#define SEGS		32
#define SEG_PAGES	8
#define CHILD_OPS	64

enum op {
	OP_MARK, OP_UNMARK, OP_TOUCH, OP_PVREAD, OP_WRITE, OP_REMAP, OP_MREMAP,
	OP_MLOCK, OP_FORK, OP_VERIFY, OP_FMARK, OP_FUNMARK, OP_FTOUCH,
	OP_FPREAD, OP_FPUNCH, OP_FWRITE, OP_EPHEMERAL, NR_OPS
};

static const char *const op_name[NR_OPS] = {
	"mark", "unmark", "touch", "process_vm_readv", "write", "munmap+mmap",
	"mremap", "mlock/munlock", "fork", "verify", "fvrange mark",
	"fvrange unmark", "file touch", "pread", "punch hole", "file write",
	"short-lived memfd",
};

/* The state of one page range (slot or segment) that the oracle knows. */
struct pages {
	uint32_t vol;		/* pages marked volatile */
	uint32_t zf;		/* ... by a mark with VRANGE_ZEROFILL */
	uint32_t sig;		/* ... by a mark without it */
	uint32_t taint;		/* pinned, mlocked or shared with a child */
	uint32_t seed[SLOT_PAGES];	/* page contents; 0: zeroes */
};

struct seg {
	int lock;
	struct pages st;
};

/* Shared by every process of the test (MAP_SHARED). */
struct shared {
	int stop;
	long failures;
	char first[512];
	long ops[NR_OPS];
	long sigbus, efault, zero_reads, reports, kept_pinned, kept_other;
	long purges, hog_rounds, hog_kills, children;
	struct seg segs[SEGS];
};

static struct shared *sh;
static size_t ps;
static int memfd = -1;
static char *fmap;

static void failf(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&sh->failures, 1, __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->first, sizeof(sh->first), fmt, ap);
	va_end(ap);
}

static void count(long *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

static uint64_t pat(uint32_t seed, size_t j)
{
	return (uint64_t)seed << 32 | (uint32_t)(j + 1);
}

/* ---------------------------------------------------------- probing */

/* Set and read with __atomic: the signal handler runs on the same thread. */
static __thread sigjmp_buf probe_env;
static __thread int probing;
static __thread int bus_code;
static __thread void *bus_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	static const char msg[] = "vrange_stress: SIGBUS/SIGSEGV outside a probe\n";

	if (__atomic_load_n(&probing, __ATOMIC_RELAXED) && sig == SIGBUS) {
		__atomic_store_n(&bus_code, si->si_code, __ATOMIC_RELAXED);
		__atomic_store_n(&bus_addr, si->si_addr, __ATOMIC_RELAXED);
		siglongjmp(probe_env, 1);
	}
	__atomic_fetch_add(&sh->failures, 1, __ATOMIC_SEQ_CST);
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static void catch_faults(void)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

enum { INTACT, ZERO, TORN, GARBAGE, BUS };

static const char *const state_name[] = { "intact", "zero", "torn", "garbage", "SIGBUS" };

/*
 * Read a page word by word: INTACT (it holds @seed's pattern), ZERO, TORN
 * (its pattern up to a point, zeroes after: purged while being read),
 * GARBAGE, or BUS (SIGBUS; bus_code and bus_addr tell where).
 */
static int read_page(const char *p, uint32_t seed)
{
	const uint64_t *w = (const uint64_t *)p;
	size_t j, n = ps / sizeof(uint64_t);
	size_t zeroes = 0;

	__atomic_store_n(&probing, 1, __ATOMIC_RELAXED);
	if (sigsetjmp(probe_env, 1)) {
		__atomic_store_n(&probing, 0, __ATOMIC_RELAXED);
		return BUS;
	}
	for (j = 0; j < n; j++) {
		uint64_t v = __atomic_load_n(&w[j], __ATOMIC_RELAXED);

		if (!zeroes && v == (seed ? pat(seed, j) : 0))
			continue;
		if (v)
			break;
		zeroes++;
	}
	__atomic_store_n(&probing, 0, __ATOMIC_RELAXED);
	if (j < n)
		return GARBAGE;
	if (!zeroes)
		return INTACT;
	return zeroes == n ? ZERO : TORN;
}

/* Write @seed's pattern; false if that raised SIGBUS. */
static bool write_page(char *p, uint32_t seed)
{
	uint64_t *w = (uint64_t *)p;
	size_t j, n = ps / sizeof(uint64_t);

	__atomic_store_n(&probing, 1, __ATOMIC_RELAXED);
	if (sigsetjmp(probe_env, 1)) {
		__atomic_store_n(&probing, 0, __ATOMIC_RELAXED);
		return false;
	}
	for (j = 0; j < n; j++)
		__atomic_store_n(&w[j], seed ? pat(seed, j) : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&probing, 0, __ATOMIC_RELAXED);
	return true;
}

/*
 * Is what a read of page @i found allowed by the state? @via_fault: a
 * mapped access, where a purged page raises SIGBUS (without ZEROFILL);
 * otherwise pread(), which reads holes as zeroes.
 */
static bool allowed(const struct pages *st, int i, int found, const char *page,
		    bool via_fault)
{
	uint32_t bit = 1u << i;

	if (found == INTACT)
		return true;
	if (found == ZERO && !st->seed[i])
		return true;
	if (!(st->vol & bit))
		return false;
	switch (found) {
	case ZERO:
	case TORN:
		return (st->zf & bit) || !via_fault;
	case BUS:
		if (!(st->sig & bit) || !via_fault)
			return false;
		int code = __atomic_load_n(&bus_code, __ATOMIC_RELAXED);
		char *addr = __atomic_load_n(&bus_addr, __ATOMIC_RELAXED);

		if (code != BUS_ADRERR || addr < page || addr >= page + ps) {
			failf("SIGBUS with si_code %d at %p for page %p", code,
			      addr, page);
			return false;
		}
		return true;
	}
	return false;
}

static void note_read(int found)
{
	if (found == BUS)
		count(&sh->sigbus);
	else if (found == ZERO || found == TORN)
		count(&sh->zero_reads);
}

/*
 * After an unmark of pages @mask that returned @ret: check them (they are
 * not volatile now) and forget their volatile state. @reader reads page
 * i of @ctx.
 */
static void check_unmark(struct pages *st, uint32_t mask, long ret, void *ctx,
			 int (*reader)(void *, int, uint32_t), const char *what)
{
	uint32_t vmask = st->vol & mask, lost = 0, maybe = 0;
	int i;

	if (ret != 0 && ret != 1) {
		failf("%s: unmark returned %ld (errno %d)", what, ret, errno);
		return;
	}
	if (ret == 1 && !vmask)
		failf("%s: unmark reported a purge of memory that was not volatile", what);
	for (i = 0; i < SLOT_PAGES; i++) {
		uint32_t bit = 1u << i;
		int found;

		if (!(mask & bit))
			continue;
		found = reader(ctx, i, st->seed[i]);
		if (found == INTACT) {
			if (!st->seed[i])
				maybe |= bit;
			continue;
		}
		if (found == ZERO && ret == 1 && (vmask & bit)) {
			lost |= bit;
			st->seed[i] = 0;
			continue;
		}
		failf("%s: page %d %s after an unmark that returned %ld (%s, seed %u)",
		      what, i, state_name[found], ret,
		      vmask & bit ? "was volatile" : "was not volatile", st->seed[i]);
		return;
	}
	/*
	 * A purged node spans its lowest to its highest purged page, and may
	 * hold pages the purge could not take (pinned, mlocked, shared with a
	 * child, isolated by reclaim, locked in the swap cache): a 1 for a
	 * sub-range of such pages is allowed (Documentation/mm/vrange.rst),
	 * and counted. A 0 with a page lost never is.
	 */
	if (ret == 1) {
		count(&sh->reports);
		if (!lost && (vmask & (st->taint | maybe)))
			count(&sh->kept_pinned);
		else if (!lost)
			count(&sh->kept_other);
	}
	st->vol &= ~mask;
	st->zf &= ~mask;
	st->sig &= ~mask;
	st->taint &= ~mask;
}

static void pick(uint64_t *r, int pages, int *a, int *b)
{
	*a = rnd(r) % pages;
	*b = *a + 1 + rnd(r) % (pages - *a);
}

static uint32_t span(int a, int b)
{
	return (uint32_t)(((1ull << b) - 1) & ~((1ull << a) - 1));
}

static int random_behavior(uint64_t *r)
{
	static const int b[] = { VRANGE_FULL, VRANGE_PARTIAL, VRANGE_ZEROFILL,
				 VRANGE_PARTIAL | VRANGE_ZEROFILL };

	return b[rnd(r) % 4];
}

static void note_mark(struct pages *st, uint32_t mask, int behavior)
{
	st->vol |= mask;
	if (behavior & VRANGE_ZEROFILL)
		st->zf |= mask;
	else
		st->sig |= mask;
}

/* ---------------------------------------------------------- anonymous */

struct slot {
	char *mem;
	bool mlocked;
	struct pages st;
};

struct worker {
	int id;
	uint64_t rnd;
	uint32_t next_seed;
	bool child;
	struct slot slots[SLOTS];
};

static char *slot_page(void *ctx, int i)
{
	return ((struct slot *)ctx)->mem + (size_t)i * ps;
}

static int slot_read(void *ctx, int i, uint32_t seed)
{
	return read_page(slot_page(ctx, i), seed);
}

static uint32_t new_seed(struct worker *w)
{
	w->next_seed++;
	return (uint32_t)w->id << 24 | (w->next_seed & 0xffffff) | 1;
}

static void slot_fill(struct worker *w, struct slot *s, uint32_t mask)
{
	int i;

	for (i = 0; i < SLOT_PAGES; i++) {
		if (!(mask & (1u << i)) || (s->st.vol & (1u << i)))
			continue;
		s->st.seed[i] = new_seed(w);
		if (!write_page(slot_page(s, i), s->st.seed[i]))
			failf("anon: SIGBUS writing page %d, which is not volatile", i);
	}
}

static void slot_new(struct worker *w, struct slot *s)
{
	s->mem = map_anon(SLOT_PAGES);
	if (!s->mem) {
		failf("anon: mmap failed: %s", strerror(errno));
		return;
	}
	memset(&s->st, 0, sizeof(s->st));
	s->mlocked = false;
	slot_fill(w, s, ~0u);
}

static void slot_touch(struct slot *s, int i, const char *what)
{
	int found = read_page(slot_page(s, i), s->st.seed[i]);

	note_read(found);
	if (!allowed(&s->st, i, found, slot_page(s, i), true))
		failf("%s: page %d read %s (volatile %d, zerofill %d, seed %u)", what, i,
		      state_name[found], !!(s->st.vol & 1u << i),
		      !!(s->st.zf & 1u << i), s->st.seed[i]);
}

static void anon_op(struct worker *w, enum op op);

static void anon_fork(struct worker *w)
{
	int i, status;
	pid_t pid;

	for (i = 0; i < SLOTS; i++)
		w->slots[i].st.taint = ~0u;	/* pages shared with the child */
	pid = fork();
	if (pid < 0) {
		if (errno != ENOMEM && errno != EAGAIN)
			failf("fork: %s", strerror(errno));
		return;
	}
	if (!pid) {
		/* The child checks and changes its copy of this worker's slots. */
		w->child = true;
		for (i = 0; i < CHILD_OPS && !__atomic_load_n(&sh->stop, __ATOMIC_RELAXED); i++)
			anon_op(w, (enum op)(rnd(&w->rnd) % OP_FORK));
		anon_op(w, OP_VERIFY);
		_exit(0);
	}
	count(&sh->children);
	status = wait_child(pid, 60000);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
		failf("anon: a forked child failed (status %#x)", status);
}

static void anon_op(struct worker *w, enum op op)
{
	struct slot *s = &w->slots[rnd(&w->rnd) % SLOTS];
	size_t sz = SLOT_PAGES * ps;
	uint32_t mask;
	int a, b, i;
	long ret;

	if (!s->mem)
		return;
	pick(&w->rnd, SLOT_PAGES, &a, &b);
	mask = span(a, b);
	count(&sh->ops[op]);
	switch (op) {
	case OP_MARK: {
		int behavior = random_behavior(&w->rnd);

		ret = sys_vrange(s->mem + a * ps, (b - a) * ps, VRANGE_VOLATILE, behavior);
		if (ret)
			failf("anon: mark returned %ld (errno %d)", ret, errno);
		else
			note_mark(&s->st, mask, behavior);
		break;
	}
	case OP_UNMARK:
		ret = sys_vrange(s->mem + a * ps, (b - a) * ps, VRANGE_NOVOLATILE, 0);
		check_unmark(&s->st, mask, ret, s, slot_read, "anon");
		if (rnd(&w->rnd) & 1)
			slot_fill(w, s, mask);
		break;
	case OP_TOUCH:
		for (i = a; i < b; i++)
			slot_touch(s, i, "anon touch");
		break;
	case OP_PVREAD: {
		static __thread uint64_t buf[65536 / sizeof(uint64_t)];
		struct iovec local = { buf, ps }, remote = { s->mem + a * ps, ps };
		uint32_t bit = 1u << a;
		int found;

		s->st.taint |= bit;	/* pinned while a purge may look at it */
		ret = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		if (ret < 0) {
			if (errno != EFAULT || !(s->st.vol & s->st.sig & bit))
				failf("anon: process_vm_readv of page %d: %s (volatile %d)", a,
				      strerror(errno), !!(s->st.vol & bit));
			count(&sh->efault);
			break;
		}
		found = read_page((char *)buf, s->st.seed[a]);
		note_read(found);
		if (ret != (long)ps || !allowed(&s->st, a, found, (char *)buf, false) ||
		    (found != INTACT && !(s->st.zf & bit) && s->st.seed[a]))
			failf("anon: process_vm_readv of page %d returned %ld, read %s", a,
			      ret, state_name[found]);
		break;
	}
	case OP_WRITE:
		slot_fill(w, s, mask);
		break;
	case OP_REMAP:
		munmap(s->mem, sz);
		slot_new(w, s);
		break;
	case OP_MREMAP: {
		void *to = mmap(NULL, sz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *got;

		if (to == MAP_FAILED)
			break;
		got = mremap(s->mem, sz, sz, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (got != to) {
			failf("anon: mremap: %s", strerror(errno));
			munmap(to, sz);
			break;
		}
		s->mem = to;	/* volatility and purges moved with the pages */
		break;
	}
	case OP_MLOCK:
		if (s->mlocked) {
			munlock(s->mem, sz);
		} else {
			s->st.taint = ~0u;
			mlock(s->mem, sz);	/* may fail on purged pages: ENOMEM */
		}
		s->mlocked = !s->mlocked;
		break;
	case OP_FORK:
		if (!w->child)
			anon_fork(w);
		break;
	case OP_VERIFY:
		for (s = w->slots; s < w->slots + SLOTS; s++)
			for (i = 0; s->mem && i < SLOT_PAGES; i++)
				slot_touch(s, i, w->child ? "child verify" : "verify");
		break;
	default:
		break;
	}
}

static void *anon_worker(void *arg)
{
	struct worker *w = arg;
	static const enum op mix[] = {
		OP_MARK, OP_MARK, OP_MARK, OP_MARK, OP_MARK, OP_UNMARK, OP_UNMARK,
		OP_UNMARK, OP_UNMARK, OP_UNMARK, OP_TOUCH, OP_TOUCH, OP_TOUCH,
		OP_TOUCH, OP_PVREAD, OP_PVREAD, OP_WRITE, OP_REMAP, OP_MREMAP,
		OP_MLOCK, OP_VERIFY,
	};
	long n = 0;
	int i;

	for (i = 0; i < SLOTS; i++)
		slot_new(w, &w->slots[i]);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		anon_op(w, mix[rnd(&w->rnd) % ARRAY_SIZE(mix)]);
		if (++n % 500 == 0)
			anon_op(w, OP_FORK);
	}
	anon_op(w, OP_VERIFY);
	for (i = 0; i < SLOTS; i++) {
		struct slot *s = &w->slots[i];

		if (!s->mem)
			continue;
		check_unmark(&s->st, ~0u,
			     sys_vrange(s->mem, SLOT_PAGES * ps, VRANGE_NOVOLATILE, 0),
			     s, slot_read, "anon final");
	}
	return NULL;
}

static void anon_process(void)
{
	pthread_t t[ANON_THREADS];
	struct worker *w = calloc(ANON_THREADS, sizeof(*w));
	int i;

	catch_faults();
	for (i = 0; i < ANON_THREADS; i++) {
		w[i].id = i + 1;
		w[i].rnd = 0x9e3779b97f4a7c15ull * (i + 1) ^ (uint64_t)getpid();
		if (pthread_create(&t[i], NULL, anon_worker, &w[i]))
			failf("pthread_create failed");
	}
	for (i = 0; i < ANON_THREADS; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

/* ---------------------------------------------------------- files */

struct fctx {
	int seg;
};

static char *seg_page(void *ctx, int i)
{
	return fmap + ((size_t)((struct fctx *)ctx)->seg * SEG_PAGES + i) * ps;
}

/* Read a file page through pread(): no SIGBUS, holes read zeroes. */
static int seg_pread(void *ctx, int i, uint32_t seed)
{
	static __thread uint64_t buf[65536 / sizeof(uint64_t)];
	off_t off = seg_page(ctx, i) - fmap;

	if (pread(memfd, buf, ps, off) != (ssize_t)ps) {
		failf("file: pread at %ld: %s", (long)off, strerror(errno));
		return GARBAGE;
	}
	return read_page((char *)buf, seed);
}

static int seg_mapread(void *ctx, int i, uint32_t seed)
{
	return read_page(seg_page(ctx, i), seed);
}

static void seg_fill(struct seg *g, struct fctx *c, uint32_t mask, uint64_t *r,
		     uint32_t proc)
{
	static __thread uint64_t buf[65536 / sizeof(uint64_t)];
	int i;

	for (i = 0; i < SEG_PAGES; i++) {
		uint32_t seed;

		if (!(mask & (1u << i)) || (g->st.vol & (1u << i)))
			continue;
		seed = proc << 24 | (rnd(r) & 0xffffff) | 1;
		g->st.seed[i] = seed;
		if (rnd(r) & 1) {
			if (!write_page(seg_page(c, i), seed))
				failf("file: SIGBUS writing page %d, which is not volatile", i);
			continue;
		}
		write_page((char *)buf, seed);
		if (pwrite(memfd, buf, ps, seg_page(c, i) - fmap) != (ssize_t)ps)
			failf("file: pwrite: %s", strerror(errno));
	}
}

static void ephemeral_memfd(uint64_t *r)
{
	struct fvrange_range fr = { 0, 4 * ps };
	int fd = memfd_create("vrange-stress-short", 0);
	char *m = MAP_FAILED;

	if (fd < 0)
		return;
	if (ftruncate(fd, 4 * ps) || pwrite(fd, "data", 4, ps) != 4)
		failf("short-lived memfd: %s", strerror(errno));
	if (rnd(r) & 1)
		m = mmap(NULL, 4 * ps, PROT_READ, MAP_SHARED, fd, 0);
	if (sys_fvrange(fd, &fr, VRANGE_VOLATILE, random_behavior(r)))
		failf("short-lived memfd: fvrange: %s", strerror(errno));
	if (rnd(r) & 1)
		sched_yield();	/* let a purge come */
	close(fd);		/* the last close, unless mapped */
	if (m != MAP_FAILED)
		munmap(m, 4 * ps);	/* the last reference */
}

static void file_op(uint32_t proc, uint64_t *r)
{
	struct fctx c = { .seg = rnd(r) % SEGS };
	struct seg *g = &sh->segs[c.seg];
	struct fvrange_range fr;
	enum op op = OP_FMARK + rnd(r) % (OP_EPHEMERAL - OP_FMARK + 1);
	uint32_t mask;
	int a, b, i, unlocked = 0;
	long ret;

	if (op == OP_EPHEMERAL) {
		count(&sh->ops[op]);
		ephemeral_memfd(r);
		return;
	}
	if (!__atomic_compare_exchange_n(&g->lock, &unlocked, 1, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	count(&sh->ops[op]);
	pick(r, SEG_PAGES, &a, &b);
	mask = span(a, b);
	fr.off = (uint64_t)(seg_page(&c, a) - fmap);
	fr.len = (uint64_t)(b - a) * ps;
	switch (op) {
	case OP_FMARK: {
		int behavior = random_behavior(r);

		ret = sys_fvrange(memfd, &fr, VRANGE_VOLATILE, behavior);
		if (ret)
			failf("file: mark returned %ld (errno %d)", ret, errno);
		else
			note_mark(&g->st, mask, behavior);
		break;
	}
	case OP_FUNMARK:
		ret = sys_fvrange(memfd, &fr, VRANGE_NOVOLATILE, 0);
		check_unmark(&g->st, mask, ret, &c,
			     rnd(r) & 1 ? seg_pread : seg_mapread, "file");
		if (rnd(r) & 1)
			seg_fill(g, &c, mask, r, proc);
		break;
	case OP_FTOUCH:
	case OP_FPREAD:
		for (i = a; i < b; i++) {
			bool mapped = op == OP_FTOUCH;
			int found = mapped ? seg_mapread(&c, i, g->st.seed[i]) :
					     seg_pread(&c, i, g->st.seed[i]);

			note_read(found);
			if (!allowed(&g->st, i, found, seg_page(&c, i), mapped))
				failf("file: %s of page %d of segment %d: %s (volatile %d, zf %d)",
				      mapped ? "mapped read" : "pread", i, c.seg,
				      state_name[found], !!(g->st.vol & 1u << i),
				      !!(g->st.zf & 1u << i));
		}
		break;
	case OP_FPUNCH:
		if (fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)fr.off, (off_t)fr.len))
			failf("file: punch hole: %s", strerror(errno));
		for (i = a; i < b; i++)
			g->st.seed[i] = 0;	/* zeroes, volatile or not */
		break;
	case OP_FWRITE:
		seg_fill(g, &c, mask, r, proc);
		break;
	default:
		break;
	}
	__atomic_store_n(&g->lock, 0, __ATOMIC_RELEASE);
}

static void file_process(uint32_t proc)
{
	uint64_t r = 0x2545f4914f6cdd1dull * proc ^ (uint64_t)getpid();

	catch_faults();
	fmap = mmap(NULL, (size_t)SEGS * SEG_PAGES * ps, PROT_READ | PROT_WRITE,
		    MAP_SHARED, memfd, 0);
	if (fmap == MAP_FAILED) {
		failf("file: mmap: %s", strerror(errno));
		_exit(1);
	}
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED))
		file_op(proc, &r);
	_exit(0);
}

/* ---------------------------------------------------------- pressure */

static void purger_process(void)
{
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		if (write_drop_caches())
			failf("drop_caches: %s", strerror(errno));
		count(&sh->purges);
		usleep(20000);
	}
	_exit(0);
}

/*
 * Allocate and touch memory until little is available, free it, again.
 * The hog is the OOM killer's first choice; a killed hog is replaced.
 */
static void hog_process(void)
{
	const size_t chunk = 4 << 20;
	long most = meminfo_kb("MemTotal") / 1024 * 3 / 4 / 4;

	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		pid_t pid = fork();
		int status;

		if (!pid) {
			char *chunks[1024];
			int n = 0, i;

			write_str("/proc/self/oom_score_adj", "1000");
			while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
				long avail = meminfo_kb("MemAvailable");

				if (n < most && n < 1024 && avail > 16 * 1024) {
					uint64_t *w;
					size_t j;

					chunks[n] = map_anon(chunk / ps);
					if (!chunks[n])
						break;
					/* Not a same-filled page: zram must store it. */
					w = (uint64_t *)chunks[n++];
					for (j = 0; j < chunk / sizeof(*w); j += 8)
						w[j] = j * 0x9e3779b97f4a7c15ull;
					continue;
				}
				count(&sh->hog_rounds);
				for (i = 0; i < n; i++)
					munmap(chunks[i], chunk);
				n = 0;
				usleep(100000);
			}
			_exit(0);
		}
		if (pid < 0) {
			usleep(100000);
			continue;
		}
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status))
			count(&sh->hog_kills);
	}
	_exit(0);
}

/* ---------------------------------------------------------- the test */

/* Objects in the vrange slab, or -1 when it is merged with another cache. */
static long vrange_slab_objects(bool exact)
{
	struct stat st;

	if (lstat("/sys/kernel/slab/vrange", &st) || S_ISLNK(st.st_mode))
		return -1;
	/* Flush the per-CPU slabs: their free objects count as in use. */
	if (exact)
		write_str("/sys/kernel/slab/vrange/shrink", "1");
	return read_long("/sys/kernel/slab/vrange/objects");
}

FIXTURE(stress) {};
FIXTURE_SETUP(stress)
{
	if (!vrange_supported())
		SKIP(return, "vrange() is not available");
	if (getuid())
		SKIP(return, "needs root (drop_caches)");
}

FIXTURE_TEARDOWN(stress) {}

TEST_F_TIMEOUT(stress, everything_at_once_loses_nothing, 3600)
{
	const char *env = getenv("VRANGE_STRESS_SECONDS");
	long seconds = env ? strtol(env, NULL, 0) : 60;
	long anon0, file0, scan0, slab0, slab = -1, peak = 0, end, i;
	pid_t pids[4 + FILE_PROCS];
	int n = 0, status;

	ps = page_size();
	ASSERT_LE(ps, 65536ul);
	ASSERT_LT(0, seconds);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memfd = memfd_create("vrange-stress", 0);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, (off_t)SEGS * SEG_PAGES * ps));
	slab0 = vrange_slab_objects(true);
	anon0 = vmstat_counter("vrange_purged_anon");
	file0 = vmstat_counter("vrange_purged_file");
	scan0 = vmstat_counter("pgscan_kswapd") + vmstat_counter("pgscan_direct");

	pids[n] = fork();
	if (!pids[n++])
		anon_process();
	for (i = 0; i < FILE_PROCS; i++) {
		pids[n] = fork();
		if (!pids[n++])
			file_process(i + 1);
	}
	pids[n] = fork();
	if (!pids[n++])
		purger_process();
	pids[n] = fork();
	if (!pids[n++])
		hog_process();
	for (i = 0; i < n; i++)
		ASSERT_LT(0, pids[i]);

	end = now_ms() + seconds * 1000;
	while (now_ms() < end && !__atomic_load_n(&sh->failures, __ATOMIC_RELAXED)) {
		long now;

		usleep(500000);
		now = vrange_slab_objects(false);
		if (now > peak)
			peak = now;
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++) {
		status = wait_child(pids[i], 120000);
		EXPECT_TRUE(status != -1 && WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("process %ld: status %#x (-1: hung, killed)", i, status);
	}
	close(memfd);

	TH_LOG("%ld s: %ld purged anon pages, %ld purged file pages, %ld drop_caches",
	       seconds, vmstat_counter("vrange_purged_anon") - anon0,
	       vmstat_counter("vrange_purged_file") - file0, sh->purges);
	TH_LOG("memory hog: %ld rounds, %ld OOM kills; reclaim scanned %ld pages",
	       sh->hog_rounds, sh->hog_kills,
	       vmstat_counter("pgscan_kswapd") + vmstat_counter("pgscan_direct") - scan0);
	for (i = 0; i < NR_OPS; i++)
		TH_LOG("%8ld %s", sh->ops[i], op_name[i]);
	TH_LOG("%ld SIGBUS, %ld EFAULT, %ld zero reads, %ld children", sh->sigbus,
	       sh->efault, sh->zero_reads, sh->children);
	TH_LOG("%ld purge reports, %ld with nothing lost (%ld pinned, mlocked, shared; %ld other)",
	       sh->reports, sh->kept_pinned + sh->kept_other, sh->kept_pinned,
	       sh->kept_other);
	EXPECT_EQ(0, sh->failures) TH_LOG("first failure: %s", sh->first);
	EXPECT_LT(0, sh->ops[OP_UNMARK]);
	EXPECT_LT(0, sh->ops[OP_FUNMARK]);

	/* Every range node is freed once its mm or file is gone. */
	if (slab0 < 0) {
		TH_LOG("the vrange slab is merged (no slab_nomerge): not counted");
	} else {
		end = now_ms() + 10000;
		do {
			slab = vrange_slab_objects(true);
			if (slab <= slab0)
				break;
			usleep(100000);
		} while (now_ms() < end);
		TH_LOG("vrange slab: %ld objects before, %ld at the most, %ld after",
		       slab0, peak, slab);
		EXPECT_LE(slab, slab0);
	}
	munmap(sh, sizeof(*sh));
}

TEST_HARNESS_MAIN
