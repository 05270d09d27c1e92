// SPDX-License-Identifier: GPL-2.0
/*
 * vrange benchmark: what it costs to lend memory to the kernel with vrange()
 * and fvrange(), against what programs do today: madvise(MADV_FREE),
 * MADV_DONTNEED, munmap and FALLOC_FL_PUNCH_HOLE.
 *
 * Absolute times under emulation mean little, so every figure is compared
 * with another one measured in the same run, as a ratio. Each figure is the
 * median of repeated samples, printed with the smallest and largest sample.
 *
 * Output: a table for people, "csv,TABLE,..." lines (wb/bench.sh writes them
 * to build/bench/TABLE.csv and plots them), and one "target,..." line per
 * target with PASS or FAIL.
 *
 *   vrange_bench [-r REPEATS] [-s MAX_MIB] [-t SECONDS] [SECTION...]
 *
 * SECTION: size churn count contention reclaim (all by default), and spin:
 * mark+unmark pairs on one page for -t seconds, for a profiler to look at.
 * Needs root for drop_caches and the reclaim section.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "vrange_util.h"

#define MAX_REPS	31

static int reps = 7;
static size_t ps;
static size_t max_bytes = 128UL << 20;
static double sample_s = 0.25;		/* length of a time-bounded sample */
static int targets_met, targets_missed;

struct fig {
	double med, lo, hi;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct fig summarise(double *v, int n)
{
	struct fig f;

	qsort(v, n, sizeof(*v), cmp_double);
	f.lo = v[0];
	f.hi = v[n - 1];
	f.med = n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return f;
}

static void die(const char *what)
{
	fprintf(stderr, "vrange_bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void goal(const char *name, double value, const char *op, double limit,
		 const char *unit)
{
	bool ok = !strcmp(op, "<=") ? value <= limit :
		  !strcmp(op, ">=") ? value >= limit :
		  !strcmp(op, ">") ? value > limit : value < limit;

	if (isnan(value))
		ok = false;
	ok ? targets_met++ : targets_missed++;
	printf("  %-4s %-58s %10.3g %s %g%s\n", ok ? "PASS" : "FAIL", name, value, op,
	       limit, unit);
	printf("target,%s,%.6g,%s,%g,%s\n", name, value, op, limit, ok ? "PASS" : "FAIL");
}

static void touch(char *p, size_t len)
{
	for (size_t off = 0; off < len; off += ps)
		__atomic_store_n(p + off, 1, __ATOMIC_RELAXED);	/* not optimised away */
}

static char *map_rw(size_t len, int extra)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static long vr(void *p, size_t len, int mode)
{
	long ret = sys_vrange(p, len, mode, 0);

	if (ret < 0)
		die("vrange");
	return ret;
}

/* ------------------------------------------------------------ 1: size sweep */

enum method {
	M_NULL, M_VRANGE, M_FREE, M_DONTNEED, M_MUNMAP, M_FVRANGE, M_PUNCH, M_NR,
	/* the pair's parts: not in the size sweep */
	M_EINVAL = M_NR, M_UNMARK_NONE, M_REMARK, M_ALL
};

static const char * const mname[M_ALL] = {
	"getppid", "vrange", "MADV_FREE", "MADV_DONTNEED", "munmap+mmap", "fvrange", "PUNCH_HOLE",
	"vrange EINVAL", "unmark, nothing marked", "mark, already volatile",
};

struct region {
	char *p;
	size_t len;
	int fd;
	long purged;
};

/* One mark+unmark pair (or its equivalent); the memory is populated after. */
static void op(enum method m, struct region *r)
{
	struct fvrange_range fr = { 0, r->len };

	switch (m) {
	case M_NULL:
		syscall(SYS_getppid);
		break;
	case M_VRANGE:
		vr(r->p, r->len, VRANGE_VOLATILE);
		r->purged += vr(r->p, r->len, VRANGE_NOVOLATILE);
		break;
	case M_FREE:
		if (madvise(r->p, r->len, MADV_FREE))
			die("MADV_FREE");
		touch(r->p, r->len);
		break;
	case M_DONTNEED:
		if (madvise(r->p, r->len, MADV_DONTNEED))
			die("MADV_DONTNEED");
		touch(r->p, r->len);
		break;
	case M_MUNMAP:
		munmap(r->p, r->len);
		r->p = map_rw(r->len, 0);
		touch(r->p, r->len);
		break;
	case M_FVRANGE:
		if (sys_fvrange(r->fd, &fr, VRANGE_VOLATILE, 0))
			die("fvrange");
		r->purged += sys_fvrange(r->fd, &fr, VRANGE_NOVOLATILE, 0);
		break;
	case M_EINVAL:
		sys_vrange(r->p + 1, r->len, VRANGE_VOLATILE, 0);
		break;
	case M_UNMARK_NONE:
		r->purged += vr(r->p, r->len, VRANGE_NOVOLATILE);
		break;
	case M_REMARK:
		vr(r->p, r->len, VRANGE_VOLATILE);
		break;
	case M_PUNCH:
		if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, r->len))
			die("PUNCH_HOLE");
		touch(r->p, r->len);
		break;
	default:
		break;
	}
}

static void region_setup(enum method m, struct region *r, size_t len)
{
	r->len = len;
	r->fd = -1;
	r->purged = 0;
	if (m == M_FVRANGE || m == M_PUNCH) {
		r->fd = memfd_create("bench", 0);
		if (r->fd < 0 || ftruncate(r->fd, len))
			die("memfd");
		r->p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		if (r->p == MAP_FAILED)
			die("mmap memfd");
	} else {
		r->p = map_rw(len, 0);
	}
	touch(r->p, len);
}

static void region_teardown(struct region *r)
{
	munmap(r->p, r->len);
	if (r->fd >= 0)
		close(r->fd);
}

/* Nanoseconds per op: each sample runs enough ops to last 5 ms or more. */
static struct fig time_op(enum method m, struct region *r)
{
	double v[MAX_REPS], t0, t;
	long iters = 1, i;

	op(m, r);		/* warm up */
	for (;;) {
		t0 = now_s();
		for (i = 0; i < iters; i++)
			op(m, r);
		t = now_s() - t0;
		if (t >= 0.005)
			break;
		iters *= 2;
	}
	for (int k = 0; k < reps; k++) {
		t0 = now_s();
		for (i = 0; i < iters; i++)
			op(m, r);
		v[k] = (now_s() - t0) / iters * 1e9;
	}
	return summarise(v, reps);
}

static void bench_size(void)
{
	size_t sizes[16], nsizes = 0, s;
	struct fig floor, fl[16], f[16][M_NR];
	struct region r;
	double worst = 0, worst_at = 0;

	for (s = 4096; s < max_bytes && nsizes < 15; s *= 4)
		sizes[nsizes++] = s;
	sizes[nsizes++] = max_bytes;

	printf("\n== 1. Cost of a mark+unmark pair on populated memory");
	printf(" (ns, median [min-max]) ==\n");
	printf("   MADV_FREE and MADV_DONTNEED include re-touching every page,\n");
	printf("   munmap a new mmap and its faults,");
	printf(" PUNCH_HOLE the faults that refill the memfd.\n");
	region_setup(M_NULL, &r, ps);
	floor = time_op(M_NULL, &r);
	region_teardown(&r);
	printf("   null syscall (getppid): %.0f ns [%.0f-%.0f]\n", floor.med, floor.lo, floor.hi);
	printf("csv,size,method,bytes,median_ns,min_ns,max_ns\n");
	printf("csv,parts,call,median_ns,min_ns,max_ns\n");

	printf("%10s", "size");
	for (int m = M_VRANGE; m < M_NR; m++)
		printf(" %15s", mname[m]);
	printf("\n");
	for (size_t i = 0; i < nsizes; i++) {
		if (sizes[i] >= 1 << 20)
			printf("%8zuMi", sizes[i] >> 20);
		else
			printf("%8zuKi", sizes[i] >> 10);
		/* the floor again, next to what it is compared with: the host drifts */
		region_setup(M_NULL, &r, ps);
		fl[i] = time_op(M_NULL, &r);
		region_teardown(&r);
		for (int m = M_VRANGE; m < M_NR; m++) {
			region_setup(m, &r, sizes[i]);
			f[i][m] = time_op(m, &r);
			if (r.purged)
				printf("(purged!)");
			region_teardown(&r);
			printf(" %15.0f", f[i][m].med);
			fflush(stdout);
		}
		printf("\n");
		printf("csv,size,getppid,%zu,%.1f,%.1f,%.1f\n", sizes[i], fl[i].med, fl[i].lo,
		       fl[i].hi);
		for (int m = M_VRANGE; m < M_NR; m++)
			printf("csv,size,%s,%zu,%.1f,%.1f,%.1f\n", mname[m], sizes[i],
			       f[i][m].med, f[i][m].lo, f[i][m].hi);
		if (f[i][M_VRANGE].med / fl[i].med > worst) {
			worst = f[i][M_VRANGE].med / fl[i].med;
			worst_at = sizes[i];
		}
	}
	printf("\n   where a pair's time goes, on one page (ns, median [min-max]):\n");
	for (int m = M_EINVAL; m < M_ALL; m++) {
		struct fig b;

		region_setup(M_VRANGE, &r, ps);
		if (m == M_REMARK)
			vr(r.p, ps, VRANGE_VOLATILE);
		b = time_op(m, &r);
		region_teardown(&r);
		printf("   %-24s %8.0f [%.0f-%.0f]\n", mname[m], b.med, b.lo, b.hi);
		printf("csv,parts,%s,%.1f,%.1f,%.1f\n", mname[m], b.med, b.lo, b.hi);
	}
	printf("\n   spread (min-max, ns) of vrange: ");
	for (size_t i = 0; i < nsizes; i++)
		printf("%.0f-%.0f ", f[i][M_VRANGE].lo, f[i][M_VRANGE].hi);
	printf("\n   worst vrange pair / getppid (getppid timed again at each size):");
	printf(" %.2f (at %.0f KiB)\n", worst, worst_at / 1024);
	printf("\n   targets:\n");
	goal("size: vrange pair / null syscall, worst size", worst, "<=", 3, "x");
	s = nsizes - 1;
	goal("size: MADV_FREE / vrange pair at the largest size",
	     f[s][M_FREE].med / f[s][M_VRANGE].med, ">=", 100, "x");
	goal("size: MADV_DONTNEED / vrange pair at the largest size",
	     f[s][M_DONTNEED].med / f[s][M_VRANGE].med, ">=", 100, "x");
	printf("   (for files: PUNCH_HOLE / fvrange pair at the largest size: %.0fx)\n",
	       f[s][M_PUNCH].med / f[s][M_FVRANGE].med);
}

/* ------------------------------------------------------- 2: allocator churn */

enum policy { P_NOTHING, P_VRANGE, P_FREE, P_DONTNEED, P_NR };
static const char * const pname[P_NR] = { "nothing", "vrange", "MADV_FREE", "MADV_DONTNEED" };

struct churn {
	pthread_t thread;
	enum policy policy;
	size_t chunk, nchunks;
	char *arena;
	unsigned char *used;
	unsigned long seed, ops;
	int *go;			/* 0: wait, 1: run, 2: stop */
};

static unsigned long xorshift(unsigned long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void chunk_free(struct churn *c, char *p)
{
	switch (c->policy) {
	case P_VRANGE:
		vr(p, c->chunk, VRANGE_VOLATILE);
		break;
	case P_FREE:
		madvise(p, c->chunk, MADV_FREE);
		break;
	case P_DONTNEED:
		madvise(p, c->chunk, MADV_DONTNEED);
		break;
	default:
		break;
	}
}

static void chunk_alloc(struct churn *c, char *p)
{
	if (c->policy == P_VRANGE)
		vr(p, c->chunk, VRANGE_NOVOLATILE);
	touch(p, c->chunk);	/* the allocation gets used */
}

static void *churn_thread(void *arg)
{
	struct churn *c = arg;

	while (!__atomic_load_n(c->go, __ATOMIC_ACQUIRE))
		;
	while (__atomic_load_n(c->go, __ATOMIC_ACQUIRE) == 1) {
		size_t i = xorshift(&c->seed) % c->nchunks;
		char *p = c->arena + i * c->chunk;

		if (c->used[i])
			chunk_free(c, p);
		else
			chunk_alloc(c, p);
		c->used[i] ^= 1;
		c->ops++;
	}
	return NULL;
}

/* ops/s of @nthreads threads, each churning its own arena of @arena bytes */
static double churn_run(enum policy pol, size_t chunk, size_t arena, int nthreads)
{
	struct churn c[2];
	int go = 0;
	double t0, t;
	unsigned long ops = 0;

	for (int i = 0; i < nthreads; i++) {
		c[i] = (struct churn){ .policy = pol, .chunk = chunk, .nchunks = arena / chunk,
				       .seed = 88172645463325252UL + i, .go = &go };
		c[i].arena = map_rw(arena, 0);
		c[i].used = calloc(c[i].nchunks, 1);
		touch(c[i].arena, arena);
		/* start with every other chunk free */
		for (size_t k = 0; k < c[i].nchunks; k++) {
			c[i].used[k] = k & 1;
			if (!c[i].used[k])
				chunk_free(&c[i], c[i].arena + k * chunk);
		}
		if (pthread_create(&c[i].thread, NULL, churn_thread, &c[i]))
			die("pthread_create");
	}
	t0 = now_s();
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	usleep(sample_s * 1e6);
	__atomic_store_n(&go, 2, __ATOMIC_RELEASE);
	t = now_s() - t0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(c[i].thread, NULL);
		ops += c[i].ops;
		munmap(c[i].arena, arena);
		free(c[i].used);
	}
	return ops / t;
}

static void bench_churn(void)
{
	static const size_t chunks[] = { 2UL << 20, 64UL << 10 };
	size_t arena = max_bytes / 2 < (64UL << 20) ? max_bytes / 2 : 64UL << 20;

	printf("\n== 2. Allocator churn: random free/reuse of chunks");
	printf(" in a %zu MiB arena per thread (ops/s) ==\n", arena >> 20);
	printf("   free: the policy's call; reuse: vrange unmarks, then every page is written\n");
	printf("csv,churn,chunk_bytes,threads,policy,median_ops_s,min_ops_s,max_ops_s\n");
	printf("%8s %7s", "chunk", "threads");
	for (int p = 0; p < P_NR; p++)
		printf(" %15s", pname[p]);
	printf("\n");
	for (size_t ci = 0; ci < 2; ci++) {
		for (int th = 1; th <= 2; th++) {
			struct fig f[P_NR];
			char name[96];

			printf("%6zuKi %7d", chunks[ci] >> 10, th);
			for (int p = 0; p < P_NR; p++) {
				double v[MAX_REPS];
				int n = reps < 5 ? reps : 5;

				for (int k = 0; k < n; k++)
					v[k] = churn_run(p, chunks[ci], arena, th);
				f[p] = summarise(v, n);
				printf(" %15.0f", f[p].med);
				fflush(stdout);
			}
			printf("\n");
			for (int p = 0; p < P_NR; p++)
				printf("csv,churn,%zu,%d,%s,%.1f,%.1f,%.1f\n", chunks[ci], th,
				       pname[p], f[p].med, f[p].lo, f[p].hi);
			snprintf(name, sizeof(name), "churn %zuKiB x%d: vrange / MADV_DONTNEED",
				 chunks[ci] >> 10, th);
			goal(name, f[P_VRANGE].med / f[P_DONTNEED].med, ">=", 3, "x");
			snprintf(name, sizeof(name), "churn %zuKiB x%d: vrange / MADV_FREE",
				 chunks[ci] >> 10, th);
			goal(name, f[P_VRANGE].med / f[P_FREE].med, ">=", 1.5, "x");
			snprintf(name, sizeof(name), "churn %zuKiB x%d: vrange / nothing",
				 chunks[ci] >> 10, th);
			goal(name, f[P_VRANGE].med / f[P_NOTHING].med, ">=", 0.5, "x");
		}
	}
}

/* ------------------------------------------------------------ 3: range count */

static void bench_count(void)
{
	static const long counts[] = { 1, 1000, 100000, 1000000 };
	struct fig f[4];
	double per_range = 0;

	printf("\n== 3. Range count: a mark+unmark pair with N disjoint ranges in the tree ==\n");
	printf("csv,count,ranges,median_ns,min_ns,max_ns,slab_bytes_per_range\n");
	printf("%10s %12s %20s\n", "ranges", "pair (ns)", "slab bytes/range");
	for (int i = 0; i < 4; i++) {
		long n = counts[i];
		size_t len = (2 * n + 2) * ps;
		char *p = map_rw(len, MAP_NORESERVE);
		long slab0, slab1;
		struct region r;
		double bpr = NAN;

		/* Unpopulated memory: vrange() walks no page tables anyway. */
		slab0 = meminfo_kb("Slab");
		for (long k = 0; k < n; k++)
			vr(p + 2 * k * ps, ps, VRANGE_VOLATILE);
		slab1 = meminfo_kb("Slab");
		if (n >= 1000)
			bpr = (slab1 - slab0) * 1024.0 / n;
		/* the pair on a page of its own, past every range */
		r = (struct region){ .p = p + 2 * n * ps, .len = ps, .fd = -1 };
		touch(r.p, ps);
		f[i] = time_op(M_VRANGE, &r);
		vr(p, len, VRANGE_NOVOLATILE);
		munmap(p, len);
		printf("%10ld %12.0f %20.1f\n", n, f[i].med, bpr);
		printf("csv,count,%ld,%.1f,%.1f,%.1f,%.1f\n", n, f[i].med, f[i].lo, f[i].hi, bpr);
		if (n == 1000000)
			per_range = bpr;
		fflush(stdout);
	}
	printf("\n   targets:\n");
	goal("count: pair at 10^6 ranges / pair at 1 range", f[3].med / f[0].med, "<=", 3, "x");
	goal("count: kernel memory per range (Slab delta / 10^6)", per_range, "<=", 64, " B");
}

/* ------------------------------------------------------------- 4: contention */

struct marker {
	enum policy policy;
	int stop;
	unsigned long ops;
};

static void *marker_thread(void *arg)
{
	struct marker *m = arg;
	size_t len = 1 << 20;
	char *p = map_rw(len, 0);

	touch(p, len);
	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		if (m->policy == P_NOTHING) {
			syscall(SYS_getppid);
			syscall(SYS_getppid);
		} else if (m->policy == P_VRANGE) {
			vr(p, len, VRANGE_VOLATILE);
			vr(p, len, VRANGE_NOVOLATILE);
		} else {
			madvise(p, len, MADV_FREE);
			touch(p, len);
		}
		m->ops++;
	}
	munmap(p, len);
	return NULL;
}

/* page faults per second of this thread, with a marker in another thread */
static double fault_rate(int pol, unsigned long *marker_ops)
{
	size_t len = 8UL << 20;
	struct marker m = { .policy = pol };
	pthread_t t;
	unsigned long faults = 0;
	double t0, el;

	if (pol >= 0 && pthread_create(&t, NULL, marker_thread, &m))
		die("pthread_create");
	usleep(20000);
	t0 = now_s();
	do {
		char *p = map_rw(len, 0);

		touch(p, len);
		faults += len / ps;
		munmap(p, len);
		el = now_s() - t0;
	} while (el < sample_s);
	if (pol >= 0) {
		__atomic_store_n(&m.stop, 1, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
	}
	*marker_ops = m.ops;
	return faults / el;
}

static void bench_contention(void)
{
	/* -1: no second thread; P_NOTHING: one that makes null syscalls */
	static const int pols[] = { -1, P_NOTHING, P_VRANGE, P_FREE };
	static const char * const label[] = {
		"no other thread", "getppid loop", "vrange marker", "MADV_FREE marker",
	};
	struct fig f[4];

	printf("\n== 4. Contention: page faults/s of one thread");
	printf(" while another marks and unmarks 1 MiB of the same mm ==\n");
	printf("   (a thread making null syscalls shows what a busy second vCPU costs)\n");
	printf("csv,contention,other_thread,median_faults_s,min_faults_s,max_faults_s,%s\n",
	       "other_ops_s");
	for (int i = 0; i < 4; i++) {
		double v[MAX_REPS];
		unsigned long mops = 0, o;

		for (int k = 0; k < reps; k++) {
			v[k] = fault_rate(pols[i], &o);
			mops += o;
		}
		f[i] = summarise(v, reps);
		printf("   %-18s %10.0f faults/s [%.0f-%.0f], other thread %.0f pairs/s\n",
		       label[i], f[i].med, f[i].lo, f[i].hi, mops / (reps * sample_s));
		printf("csv,contention,%s,%.1f,%.1f,%.1f,%.1f\n", label[i], f[i].med,
		       f[i].lo, f[i].hi, mops / (reps * sample_s));
		fflush(stdout);
	}
	printf("\n   targets:\n");
	goal("contention: faults/s with vrange marker / no other thread", f[2].med / f[0].med,
	     ">=", 0.9, "x");
	goal("contention: faults/s with vrange marker / MADV_FREE marker", f[2].med / f[3].med,
	     ">", 1, "x");
	printf("   (vrange marker / getppid loop: %.2fx)\n", f[2].med / f[1].med);
}

/* ---------------------------------------------------------------- 5: reclaim */

/* pages/s that drop_caches purges from @len bytes of volatile memory */
static double purge_rate(size_t len, bool file, long *pages)
{
	const char *ctr = file ? "vrange_purged_file" : "vrange_purged_anon";
	struct region r;
	long c0, c1;
	double t0, t;

	region_setup(file ? M_FVRANGE : M_VRANGE, &r, len);
	if (file) {
		struct fvrange_range fr = { 0, len };

		if (sys_fvrange(r.fd, &fr, VRANGE_VOLATILE, 0))
			die("fvrange");
	} else {
		vr(r.p, len, VRANGE_VOLATILE);
	}
	c0 = vmstat_counter(ctr);
	t0 = now_s();
	if (purge_now())
		die("drop_caches");
	t = now_s() - t0;
	c1 = vmstat_counter(ctr);
	region_teardown(&r);
	*pages = c1 - c0;
	return (c1 - c0) / t;
}

/* pages/s that MADV_PAGEOUT writes to swap (zram) */
static double swap_rate(size_t len, long *pages)
{
	char *p = map_rw(len, 0);
	long s0, s1;
	double t0, t;

	memset(p, 0x5a, len);	/* zram keeps same-filled pages for free: vary them */
	for (size_t off = 0; off < len; off += 64)
		*(unsigned long *)(p + off) = off * 2654435761UL;
	s0 = vmstat_counter("pswpout");
	t0 = now_s();
	if (madvise(p, len, MADV_PAGEOUT))
		die("MADV_PAGEOUT");
	t = now_s() - t0;
	s1 = vmstat_counter("pswpout");
	munmap(p, len);
	*pages = s1 - s0;
	return (s1 - s0) / t;
}

enum hold { H_NONE, H_VOLATILE, H_FREE, H_SWAP, H_NR };
static const char * const hname[H_NR] = { "nothing held", "vrange", "MADV_FREE", "swap (zram)" };

/*
 * Seconds a hog takes to touch @hog bytes while another process holds @held
 * bytes in state @h; -1 if it did not finish (OOM-killed).
 */
static double hog_time(enum hold h, size_t held, size_t hog)
{
	int pipefd[2], status;
	pid_t holder = -1, hogp;
	double t0, t;
	char c;

	if (h != H_NONE) {
		if (pipe(pipefd))
			die("pipe");
		holder = fork();
		if (holder < 0)
			die("fork");
		if (!holder) {
			char *p = map_rw(held, 0);

			for (size_t off = 0; off < held; off += 64)
				*(unsigned long *)(p + off) = off * 2654435761UL;
			if (h == H_VOLATILE)
				vr(p, held, VRANGE_VOLATILE);
			else if (h == H_FREE)
				madvise(p, held, MADV_FREE);
			if (write(pipefd[1], "x", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		if (read(pipefd[0], &c, 1) != 1)
			die("holder");
		close(pipefd[0]);
		close(pipefd[1]);
	}
	t0 = now_s();
	hogp = fork();
	if (!hogp) {
		char *p;

		write_str("/proc/self/oom_score_adj", "1000");
		p = map_rw(hog, 0);
		for (size_t off = 0; off < hog; off += ps)
			p[off] = 1;
		_exit(0);
	}
	waitpid(hogp, &status, 0);
	t = now_s() - t0;
	if (holder > 0) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
	}
	return WIFEXITED(status) && !WEXITSTATUS(status) ? t : -1;
}

static void bench_reclaim(void)
{
	size_t len = max_bytes / 2, held, hog;
	long pa, pf, pz, avail;
	double ra, rf, rz;
	struct fig f[H_NR];
	int n = reps < 3 ? reps : 3;

	printf("\n== 5. Reclaim ==\n");
	if (geteuid()) {
		printf("   skipped: needs root\n");
		return;
	}
	printf("csv,reclaim,what,pages,pages_s\n");
	ra = purge_rate(len, false, &pa);
	rf = purge_rate(len, true, &pf);
	printf("   drop_caches purges volatile anonymous memory at %.0f pages/s (%ld pages)\n",
	       ra, pa);
	printf("   drop_caches purges volatile memfd ranges     at %.0f pages/s (%ld pages)\n",
	       rf, pf);
	printf("csv,reclaim,purge_anon,%ld,%.1f\n", pa, ra);
	printf("csv,reclaim,purge_file,%ld,%.1f\n", pf, rf);
	if (meminfo_kb("SwapTotal") <= 0) {
		printf("   no swap: the swap comparison is skipped (boot with ZRAM=...)\n");
		return;
	}
	rz = swap_rate(len, &pz);
	printf("   MADV_PAGEOUT swaps to zram                   at %.0f pages/s (%ld pages)\n",
	       rz, pz);
	printf("csv,reclaim,pageout_zram,%ld,%.1f\n", pz, rz);

	purge_now();
	avail = meminfo_kb("MemAvailable") * 1024;
	held = avail / 2;
	hog = avail - held / 2;		/* half of what is held must go */
	printf("\n   a hog touching %ld MiB while another process holds %ld MiB",
	       (long)(hog >> 20), (long)(held >> 20));
	printf(" (MemAvailable %ld MiB):\n", avail >> 20);
	printf("csv,hog,held_as,held_bytes,hog_bytes,median_s,min_s,max_s\n");
	for (int h = 0; h < H_NR; h++) {
		double v[MAX_REPS];

		for (int k = 0; k < n; k++) {
			v[k] = hog_time(h, held, hog);
			if (v[k] < 0)
				v[k] = NAN;
		}
		f[h] = summarise(v, n);
		printf("   held as %-14s hog runs %.2f s [%.2f-%.2f]\n", hname[h], f[h].med,
		       f[h].lo, f[h].hi);
		printf("csv,hog,%s,%zu,%zu,%.3f,%.3f,%.3f\n", hname[h], h == H_NONE ? 0 : held,
		       hog, f[h].med, f[h].lo, f[h].hi);
		fflush(stdout);
	}
	printf("\n   targets:\n");
	goal("reclaim: drop_caches purge rate / MADV_PAGEOUT-to-zram rate", ra / rz, ">", 1, "x");
	goal("reclaim: hog time, volatile / swapped to zram", f[H_VOLATILE].med / f[H_SWAP].med,
	     "<", 1, "x");
}

/* Not in the default set: mark+unmark pairs on one page for -t seconds, for a profiler. */
static void bench_spin(void)
{
	struct region r;
	unsigned long n = 0;
	double t0 = now_s();

	region_setup(M_VRANGE, &r, ps);
	while (now_s() - t0 < sample_s) {
		for (int i = 0; i < 1000; i++)
			op(M_VRANGE, &r);
		n += 1000;
	}
	region_teardown(&r);
	printf("spin: %lu pairs in %.1f s, %.0f ns each\n", n, sample_s, sample_s * 1e9 / n);
}

int main(int argc, char **argv)
{
	static const char * const all[] = {
		"size", "churn", "count", "contention", "reclaim", "spin",
	};
	void (*fns[])(void) = { bench_size, bench_churn, bench_count, bench_contention,
				bench_reclaim, bench_spin };
	bool want[6] = { false };
	bool any = false;
	double t0 = now_s();
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ps = page_size();
	while ((opt = getopt(argc, argv, "r:s:t:")) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			if (reps < 1 || reps > MAX_REPS)
				reps = 7;
			break;
		case 's':
			max_bytes = strtoul(optarg, NULL, 0) << 20;
			if (max_bytes < (1UL << 20))
				max_bytes = 1UL << 20;
			break;
		case 't':
			sample_s = atof(optarg);
			if (sample_s <= 0)
				sample_s = 0.25;
			break;
		default:
			fprintf(stderr, "usage: %s [-r REPEATS] [-s MAX_MIB] [-t SECONDS]%s\n",
				argv[0], " [SECTION...]");
			return 2;
		}
	}
	for (int i = optind; i < argc; i++)
		for (int k = 0; k < 6; k++)
			if (!strcmp(argv[i], all[k])) {
				want[k] = true;
				any = true;
			}
	if (!vrange_supported()) {
		printf("vrange_bench: this kernel has no vrange()\n");
		return 2;
	}
	if (want[5])
		bench_spin();
	printf("vrange benchmark: %d repeats, largest size %zu MiB, %.2f s samples\n", reps,
	       max_bytes >> 20, sample_s);
	for (int k = 0; k < 5; k++)	/* spin only when asked for */
		if (!any || want[k])
			fns[k]();
	printf("\n%d targets met, %d missed (%.0f s)\n", targets_met, targets_missed, now_s() - t0);
	printf("csv,done,met,missed,seconds\ncsv,done,%d,%d,%.0f\n", targets_met, targets_missed,
	       now_s() - t0);
	return 0;
}
