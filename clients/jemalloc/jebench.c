// SPDX-License-Identifier: GPL-2.0
/*
 * jebench: the client section of `make bench` (issue 16 item 4): Debian's
 * jemalloc with clients/jemalloc/vrange.patch, linked in statically, in its
 * four purge modes (MALLOC_CONF=purge:MODE), measured in one boot.
 *
 *   jebench all [-s SECONDS] [-r ROUNDS] [-t THREADS]
 *	the whole section: churn, jemalloc's stress programs large_microbench
 *	and fill_flush (when wb/client.sh staged them in /jemalloc/stress),
 *	then burst/idle/pressure guest-wide and in a memcg, each in every mode; a table, csv lines and one PASS/FAIL
 *	"target,..." line per target, as vrange_bench prints them.
 *
 * The workers are this program again, exec'd with MALLOC_CONF set (jemalloc
 * reads it once, at its first allocation):
 *   jebench churn -t THREADS -s SECONDS
 *	ebizzy's kind of work: each thread keeps 256 records of mixed sizes
 *	(half 64 B-8 KiB, half 16-512 KiB, log-uniform), and in a loop frees
 *	one, allocates and fills a new one and reads another one through;
 *	prints "churn records=N seconds=S minflt=N majflt=N".
 *   jebench burst -w BYTES
 *	allocates and fills BYTES in 64 KiB-1 MiB records (half random, half
 *	zero words: about 2:1 for zram's lzo, as heap data tends to be), frees
 *	them all, says "rest" on stdout and waits for a line on stdin; then
 *	allocates and fills the same again and prints "reburst ...".
 *   jebench hog -w BYTES
 *	maps BYTES of anonymous memory, fills it with data of the burst's
 *	kind, prints "hog seconds=S ...", exits.
 * Every worker has WORKER_SECONDS to live (an alarm set before exec).
 *
 * The pressure scenario (issue 16 item 4b): a burst process holds its
 * working set freed, at rest; a hog then needs that memory; then the first
 * bursts again. Guest-wide, the working set is 40 % of MemAvailable (read
 * after drop_caches) and the hog MemAvailable less 3/4 of the working set;
 * in the memcg, both processes share a cgroup whose memory.max is 1.5 times
 * one working set (30 % of MemAvailable) and the hog is as large as the
 * working set. zram swap is on (make bench gives the guest 256 MiB of it).
 * From /proc/vmstat: pswpout and vrange_purged_anon over the hog, pswpin
 * over the re-burst, oom_kill over both; the guest runs nothing else. Each
 * scenario runs ROUNDS times, the modes' order rotated; the targets take
 * the means. Checks come before the targets, so that a run that measured
 * nothing cannot pass: no worker failed, and the vrange run had its working
 * set volatile at rest and purged it under the hog. (Stock at rest holds
 * only what its 10 s decay has not yet given back: the table says how much.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NSLOTS	256
#define CGROUP	"/sys/fs/cgroup/jebench"

static const char *const modes[] = { "stock", "dontneed", "madv_free", "vrange" };
enum { STOCK, DONTNEED, MADV_FREE_M, VRANGE, NMODES };

static int targets_met, targets_missed;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jebench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Log-uniform in [lo, hi). */
static size_t logsize(uint64_t *s, size_t lo, size_t hi)
{
	double u = (rnd(s) >> 11) * (1.0 / 9007199254740992.0);

	return (size_t)(lo * pow((double)hi / lo, u));
}

static void faults(long *minflt, long *majflt)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*minflt = ru.ru_minflt;
	*majflt = ru.ru_majflt;
}

/* churn */

static double churn_seconds = 5;
static volatile uint64_t churn_sink;

static void *churn_thread(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1), sum = 0;
	unsigned long long *records = calloc(1, sizeof(*records));
	struct { unsigned char *p; size_t n; } slot[NSLOTS];
	double end;

	if (!records)
		die("calloc");
	for (int i = 0; i < NSLOTS; i++) {
		slot[i].n = 64;
		slot[i].p = malloc(64);
	}
	end = now() + churn_seconds;
	for (unsigned long long n = 0;; n++) {
		int i = rnd(&s) % NSLOTS, j = rnd(&s) % NSLOTS;
		size_t sz = rnd(&s) & 1 ? logsize(&s, 64, 8192) :
					  logsize(&s, 16384, 524288);

		free(slot[i].p);
		slot[i].p = malloc(sz);
		if (!slot[i].p)
			die("malloc(%zu)", sz);
		slot[i].n = sz;
		memset(slot[i].p, (int)n, sz);
		/* "Search" a record: read it all. */
		for (size_t k = 0; k + 8 <= slot[j].n; k += 8)
			sum += *(uint64_t *)(slot[j].p + k);
		if ((n & 63) == 63 && now() >= end) {
			*records = n + 1;
			break;
		}
	}
	churn_sink += sum;
	for (int i = 0; i < NSLOTS; i++)
		free(slot[i].p);
	return records;
}

static int churn(int threads)
{
	pthread_t tid[64];
	unsigned long long total = 0;
	long min0, maj0, min1, maj1;
	double t0, t1;

	if (threads < 1 || threads > 64)
		threads = 2;
	faults(&min0, &maj0);
	t0 = now();
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, churn_thread, (void *)(uintptr_t)i))
			die("pthread_create");
	for (int i = 0; i < threads; i++) {
		unsigned long long *r;

		pthread_join(tid[i], (void **)&r);
		total += *r;
		free(r);
	}
	t1 = now();
	faults(&min1, &maj1);
	printf("churn records=%llu seconds=%.3f minflt=%ld majflt=%ld\n",
	       total, t1 - t0, min1 - min0, maj1 - maj0);
	return 0;
}

/* burst and hog */

static void fill(unsigned char *p, size_t n, uint64_t *s)
{
	/* Every other 8-byte word random, the rest zero: ~2:1 under lzo. */
	for (size_t k = 0; k + 16 <= n; k += 16) {
		*(uint64_t *)(p + k) = rnd(s);
		*(uint64_t *)(p + k + 8) = 0;
	}
}

static double burst_once(size_t bytes, unsigned char **rec, size_t *nrec)
{
	uint64_t s = 88172645463325252ULL;
	double t0 = now();
	size_t total = 0, n = 0;

	while (total < bytes) {
		size_t sz = logsize(&s, 65536, 1048576);

		rec[n] = malloc(sz);
		if (!rec[n])
			die("malloc(%zu)", sz);
		fill(rec[n], sz, &s);
		total += sz;
		n++;
	}
	*nrec = n;
	return now() - t0;
}

static int burst(size_t bytes)
{
	unsigned char **rec = calloc(bytes / 65536 + 2, sizeof(*rec));
	long min0, maj0, min1, maj1;
	size_t n;
	char line[16];
	double t;

	if (!rec)
		die("calloc");
	t = burst_once(bytes, rec, &n);
	for (size_t i = 0; i < n; i++)
		free(rec[i]);
	printf("rest records=%zu seconds=%.3f\n", n, t);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	faults(&min0, &maj0);
	t = burst_once(bytes, rec, &n);
	faults(&min1, &maj1);
	printf("reburst records=%zu seconds=%.3f minflt=%ld majflt=%ld\n", n, t,
	       min1 - min0, maj1 - maj0);
	fflush(stdout);
	return 0;
}

static int hog(size_t bytes)
{
	uint64_t s = 0x2545f4914f6cdd1dULL;
	long min0, maj0, min1, maj1;
	double t0 = now();
	unsigned char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap(%zu)", bytes);
	faults(&min0, &maj0);
	/* Data as the burst's: what it pushes out costs what it takes. */
	fill(p, bytes, &s);
	faults(&min1, &maj1);
	printf("hog seconds=%.3f minflt=%ld majflt=%ld\n", now() - t0,
	       min1 - min0, maj1 - maj0);
	fflush(stdout);
	return 0;
}

/* the driver */

struct child {
	pid_t pid;
	FILE *out;	/* its stdout */
	FILE *in;	/* its stdin, or NULL */
};

/* Write to a sysfs/procfs/cgroup file; 0, or -1 with errno. */
static int write_file(const char *path, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int fd, len, ret;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, buf, len) == len ? 0 : -1;
	close(fd);
	return ret;
}

/* No worker may hold the driver up longer than this (a thrashing hog). */
#define WORKER_SECONDS	300

/*
 * Run @path (NULL: "jebench" ARGS...) in purge mode MODE, in CGROUP if cg;
 * its stderr into the same pipe as its stdout if @merge.
 */
static struct child spawn_path(const char *path, int mode, bool cg, bool want_in,
			       bool merge, char *const argv[])
{
	int out[2], in[2];
	struct child c = { 0 };

	/* O_CLOEXEC: no worker holds another's pipe open (dup2 clears it). */
	if (pipe2(out, O_CLOEXEC) || (want_in && pipe2(in, O_CLOEXEC)))
		die("pipe");
	c.pid = fork();
	if (c.pid < 0)
		die("fork");
	if (!c.pid) {
		char conf[64];

		if (cg && write_file(CGROUP "/cgroup.procs", "0"))
			_exit(126);
		/* The alarm survives execv: a worker past its time dies of SIGALRM. */
		alarm(WORKER_SECONDS);
		snprintf(conf, sizeof(conf), "purge:%s,purge_stats:true", modes[mode]);
		setenv("MALLOC_CONF", conf, 1);
		dup2(out[1], 1);
		if (merge)
			dup2(out[1], 2);
		close(out[0]);
		close(out[1]);
		if (want_in) {
			dup2(in[0], 0);
			close(in[0]);
			close(in[1]);
		}
		execv(path ? path : "/proc/self/exe", argv);
		_exit(127);
	}
	close(out[1]);
	c.out = fdopen(out[0], "r");
	if (want_in) {
		close(in[0]);
		c.in = fdopen(in[1], "w");
	}
	return c;
}

enum end { ENDED, KILLED, FAILED };

static struct child spawn(int mode, bool cg, bool want_in, char *const argv[])
{
	return spawn_path(NULL, mode, cg, want_in, false, argv);
}

/* Wait for it: ENDED (exit 0), KILLED (SIGKILL: the OOM killer), FAILED. */
static enum end reap(struct child *c, const char *what)
{
	int st;

	if (c->in)
		fclose(c->in);
	fclose(c->out);
	if (waitpid(c->pid, &st, 0) < 0)
		die("waitpid");
	if (WIFEXITED(st) && !WEXITSTATUS(st))
		return ENDED;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
		printf("   (the %s was killed)\n", what);
		return KILLED;
	}
	if (WIFSIGNALED(st))
		printf("   (the %s died of signal %d%s)\n", what, WTERMSIG(st),
		       WTERMSIG(st) == SIGALRM ? ": over its time" : "");
	else
		printf("   (the %s exited with %d)\n", what, WEXITSTATUS(st));
	return FAILED;
}

static double field(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? atof(p + strlen(key)) : NAN;
}

static long vmstat(const char *key)
{
	char name[64];
	long v, r = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		die("/proc/vmstat");
	while (fscanf(f, "%63s %ld", name, &v) == 2)
		if (!strcmp(name, key))
			r = v;
	fclose(f);
	return r;
}

/* A "Key:  N kB" line of /proc/PID/status or /proc/meminfo, in KiB. */
static long kib(const char *path, const char *key)
{
	char line[256];
	long r = -1;
	size_t len = strlen(key);
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			r = atol(line + len + 1);
	fclose(f);
	return r;
}

static void goal(const char *name, double value, const char *op, double limit)
{
	bool ok = !strcmp(op, "<=") ? value <= limit : value >= limit;

	if (isnan(value))
		ok = false;
	ok ? targets_met++ : targets_missed++;
	printf("  %-4s %-58s %10.3g %s %g\n", ok ? "PASS" : "FAIL", name, value, op, limit);
	printf("target,%s,%.6g,%s,%g,%s\n", name, value, op, limit, ok ? "PASS" : "FAIL");
}

static double run_churn(int mode, int threads, double secs)
{
	char t[16], s[16], line[256] = "";
	char *argv[] = { "jebench", "churn", "-t", t, "-s", s, NULL };
	struct child c;

	snprintf(t, sizeof(t), "%d", threads);
	snprintf(s, sizeof(s), "%g", secs);
	c = spawn(mode, false, false, argv);
	if (!fgets(line, sizeof(line), c.out))
		line[0] = 0;
	if (reap(&c, "churn") != ENDED)
		return NAN;
	return field(line, "records=") / field(line, "seconds=");
}

/*
 * jemalloc's own stress programs that stress what the purge mode changes
 * (large extents, tcache fill and flush), staged by wb/client.sh in
 * STRESS_DIR: the seconds one run takes, NAN if it failed. The other four
 * are timing loops of minutes under TCG (microbench, mallctl, hookbench)
 * or need 1.6 GB (batch_alloc); make client-check runs them all.
 */
#define STRESS_DIR	"/jemalloc/stress/"
static const char *const stress_progs[] = { "large_microbench", "fill_flush" };

static double run_stress(int mode, const char *prog)
{
	char path[128], line[256], last[256] = "";
	char *argv[] = { (char *)prog, NULL };
	struct child c;
	double t0 = now(), t;

	snprintf(path, sizeof(path), STRESS_DIR "%s", prog);
	/* Its harness's lines (and the purge_stats line) are read and dropped. */
	c = spawn_path(path, mode, false, false, true, argv);
	while (fgets(line, sizeof(line), c.out))
		memcpy(last, line, sizeof(last));
	t = now() - t0;
	if (reap(&c, prog) != ENDED) {
		printf("   %s in %s mode failed; its last line: %s", prog, modes[mode], last);
		return NAN;
	}
	return t;
}

struct pressure {
	double hog_s, reburst_rps, rest_rss, rest_vol;
	long pswpout, pswpin, minflt, majflt, purged, oom;
	bool failed;	/* a worker failed for another reason than a kill */
};

/*
 * One run: the burst process frees its working set and rests; the hog
 * runs; then the burst process bursts again. pswpout and vrange_purged_anon
 * are counted over the hog (the pressure), pswpin and the faults over the
 * re-burst, oom_kill over both.
 */
static struct pressure run_pressure(int mode, bool cg, size_t w, size_t h, size_t max)
{
	char ws[32], hs[32], line[256];
	char *bargv[] = { "jebench", "burst", "-w", ws, NULL };
	char *hargv[] = { "jebench", "hog", "-w", hs, NULL };
	char status[64];
	struct pressure r = { .hog_s = NAN, .reburst_rps = NAN, .rest_rss = NAN,
			      .rest_vol = NAN };
	struct child a, b;
	long out0, in0, oom0, purged0, v;
	enum end e;

	write_file("/proc/sys/vm/drop_caches", "3");
	if (cg) {
		if (mkdir(CGROUP, 0755) && errno != EEXIST)
			die("mkdir " CGROUP);
		if (write_file(CGROUP "/memory.max", "%zu", max))
			die("memory.max");
	}
	snprintf(ws, sizeof(ws), "%zu", w);
	snprintf(hs, sizeof(hs), "%zu", h);
	oom0 = vmstat("oom_kill");
	a = spawn(mode, cg, true, bargv);
	if (!fgets(line, sizeof(line), a.out) || strncmp(line, "rest", 4)) {
		r.failed = reap(&a, "burst process") != KILLED;
		goto out;
	}
	/* At rest: what the idle process holds. */
	sleep(1);
	snprintf(status, sizeof(status), "/proc/%d/status", a.pid);
	v = kib(status, "VmRSS");
	r.rest_rss = v < 0 ? NAN : v / 1024.0;
	v = kib(status, "VmVolatile");
	r.rest_vol = v < 0 ? NAN : v / 1024.0;
	out0 = vmstat("pswpout");
	purged0 = vmstat("vrange_purged_anon");

	b = spawn(mode, cg, false, hargv);
	if (fgets(line, sizeof(line), b.out))
		r.hog_s = field(line, "seconds=");
	e = reap(&b, "hog");
	r.failed |= e == FAILED;
	r.pswpout = vmstat("pswpout") - out0;
	r.purged = purged0 < 0 ? 0 : vmstat("vrange_purged_anon") - purged0;

	in0 = vmstat("pswpin");
	/* The burst process may be dead (OOM): a write to it must not kill us. */
	if (fputs("go\n", a.in) >= 0 && !fflush(a.in) && fgets(line, sizeof(line), a.out)) {
		r.reburst_rps = field(line, "records=") / field(line, "seconds=");
		r.minflt = (long)field(line, "minflt=");
		r.majflt = (long)field(line, "majflt=");
	}
	e = reap(&a, "burst process");
	r.failed |= e == FAILED;
	r.pswpin = vmstat("pswpin") - in0;
out:
	r.oom = vmstat("oom_kill") - oom0;
	if (cg && rmdir(CGROUP))
		fprintf(stderr, "jebench: rmdir " CGROUP ": %s\n", strerror(errno));
	return r;
}

static int all(int rounds, int threads, double secs)
{
	double rps[NMODES] = { 0 }, t0 = now();
	char name[128], ctl[256] = "";
	bool have_cg;
	long avail;
	FILE *f;

	/* A burst process the OOM killer took must not take us with it. */
	signal(SIGPIPE, SIG_IGN);
	f = fopen("/sys/fs/cgroup/cgroup.subtree_control", "r");
	if (f) {
		if (!fgets(ctl, sizeof(ctl), f))
			ctl[0] = 0;
		fclose(f);
	}
	have_cg = strstr(ctl, "memory") != NULL;

	printf("\n== client: jemalloc in its four purge modes (one boot) ==\n");
	printf("\n-- churn: %d threads, %g s a run, %d rounds (records/s, mean) --\n",
	       threads, secs, rounds);
	printf("csv,client_churn,mode,round,records_per_s\n");
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < NMODES; k++) {
			int m = (k + r) % NMODES;
			double v = run_churn(m, threads, secs);

			printf("csv,client_churn,%s,%d,%.0f\n", modes[m], r, v);
			rps[m] += v / rounds;
		}
	for (int m = 0; m < NMODES; m++)
		printf("   %-10s %12.0f records/s\n", modes[m], rps[m]);
	printf("\n   targets:\n");
	goal("client churn: vrange / stock", rps[VRANGE] / rps[STOCK], ">=", 0.95);
	goal("client churn: vrange / madv_free", rps[VRANGE] / rps[MADV_FREE_M], ">=", 1.2);
	goal("client churn: vrange / dontneed (purge on free)",
	     rps[VRANGE] / rps[DONTNEED], ">=", 4);

	if (!access(STRESS_DIR "fill_flush", X_OK)) {
		double st[NMODES] = { 0 };
		int failed = 0;

		int sr = rounds < 2 ? rounds : 2;	/* minutes a round under TCG */

		printf("\n-- jemalloc's stress programs, %d rounds (seconds a run) --\n", sr);
		printf("csv,client_stress,mode,round,program,seconds\n");
		for (int r = 0; r < sr; r++)
			for (int k = 0; k < NMODES; k++) {
				int m = (k + r) % NMODES;

				for (size_t i = 0; i < sizeof(stress_progs) / sizeof(*stress_progs); i++) {
					double v = run_stress(m, stress_progs[i]);

					printf("csv,client_stress,%s,%d,%s,%.3f\n", modes[m], r,
					       stress_progs[i], v);
					if (isnan(v))
						failed++;
					else
						st[m] += v / sr;
				}
			}
		for (int m = 0; m < NMODES; m++)
			printf("   %-10s %8.2f s (all programs, mean of %d)\n", modes[m], st[m],
			       sr);
		printf("   vrange's speed: %.2fx stock's, %.2fx dontneed's, %.2fx madv_free's\n",
		       st[STOCK] / st[VRANGE], st[DONTNEED] / st[VRANGE],
		       st[MADV_FREE_M] / st[VRANGE]);
		printf("\n   targets:\n");
		goal("client stress: runs that failed", failed, "<=", 0);
		goal("client stress: speed, vrange / stock (stock's time / vrange's)",
		     st[STOCK] / st[VRANGE], ">=", 0.95);
	} else {
		printf("\n(no " STRESS_DIR ": jemalloc's stress programs not run)\n");
	}

	write_file("/proc/sys/vm/drop_caches", "3");
	avail = kib("/proc/meminfo", "MemAvailable") * 1024L;
	if (avail < (64L << 20)) {
		printf("client: MemAvailable %ld KiB: too little for the pressure runs\n",
		       avail >> 10);
		return 1;
	}
	if (!have_cg)
		printf("\n(no memory controller in /sys/fs/cgroup: no memcg runs)\n");
	/*
	 * Guest-wide, the hog is MemAvailable less 3/4 of the working set:
	 * with the burst resting on its working set, 1/4 of it must go, and
	 * zram (about 2:1 for this data) must swap out twice that. In the
	 * memcg (memory.max 1.5 working sets, hog = working set), 1/2 of it
	 * must go; zram's memory is not charged to the memcg.
	 */
	for (int cg = 0; cg < 1 + have_cg; cg++) {
		size_t w = (size_t)(avail * (cg ? 0.30 : 0.40)) & ~4095UL;
		size_t h = cg ? w : ((size_t)avail - w / 4 * 3) & ~4095UL;
		size_t max = cg ? (w + w / 2) & ~4095UL : 0;
		const char *sc = cg ? "memcg" : "global";
		struct pressure p[NMODES] = { 0 };
		long need = (long)(w / 4096 / (cg ? 2 : 4));

		printf("\n-- burst, idle, pressure (%s): working set %zu MiB, hog %zu MiB",
		       sc, w >> 20, h >> 20);
		if (cg)
			printf(", both in a memcg of memory.max %zu MiB", max >> 20);
		printf(" --\n");
		printf("   pswpout and purged: pages, over the hog; pswpin and faults: over"
		       " the re-burst\n");
		printf("   %-10s %7s %11s %8s %8s %7s %7s %8s %8s %8s %3s\n", "mode",
		       "hog s", "reburst r/s", "pswpout", "purged", "pswpin", "minflt",
		       "majflt", "rest RSS", "rest vol", "oom");
		printf("csv,client_%s,mode,round,hog_s,reburst_rps,pswpout,vrange_purged_anon,pswpin,"
		       "minflt,majflt,rest_rss_mib,rest_volatile_mib,oom_kill,failed\n", sc);
		/*
		 * ROUNDS rounds, the order of the modes rotated each round (no
		 * mode always first after the churn, or always last); the table
		 * has every run, the targets the means (sums for oom kills).
		 */
		for (int r = 0; r < rounds; r++)
			for (int k = 0; k < NMODES; k++) {
				int m = (k + r) % NMODES;
				struct pressure q = run_pressure(m, cg, w, h, max);

				printf("   %-10s %7.2f %11.1f %8ld %8ld %7ld %7ld %8ld %7.0fM %7.0fM %3ld%s\n",
				       modes[m], q.hog_s, q.reburst_rps, q.pswpout, q.purged,
				       q.pswpin, q.minflt, q.majflt, q.rest_rss, q.rest_vol,
				       q.oom, q.failed ? " FAILED" : "");
				printf("csv,client_%s,%s,%d,%.3f,%.1f,%ld,%ld,%ld,%ld,%ld,%.0f,%.0f,%ld,%d\n",
				       sc, modes[m], r, q.hog_s, q.reburst_rps, q.pswpout,
				       q.purged, q.pswpin, q.minflt, q.majflt, q.rest_rss,
				       q.rest_vol, q.oom, q.failed);
				p[m].hog_s += q.hog_s / rounds;
				p[m].reburst_rps += q.reburst_rps / rounds;
				p[m].rest_rss += q.rest_rss / rounds;
				p[m].rest_vol += q.rest_vol / rounds;
				p[m].pswpout += q.pswpout;
				p[m].purged += q.purged;
				p[m].oom += q.oom;
				p[m].failed |= q.failed;
			}
		for (int m = 0; m < NMODES; m++) {
			p[m].pswpout /= rounds;
			p[m].purged /= rounds;
			printf("   %-10s %7.2f %11.1f %8ld %8ld  (mean of %d)\n", modes[m],
			       p[m].hog_s, p[m].reburst_rps, p[m].pswpout, p[m].purged, rounds);
		}
		printf("   stock at rest held %.0f of %zu MiB (its own decay gave back the rest),"
		       " and swapped %ld pages\n", p[STOCK].rest_rss, w >> 20, p[STOCK].pswpout);
		printf("\n   targets (the first two say the run measured what it claims):\n");
		snprintf(name, sizeof(name), "client %s: no worker failed", sc);
		goal(name, p[STOCK].failed + p[DONTNEED].failed + p[MADV_FREE_M].failed +
		     p[VRANGE].failed, "<=", 0);
		snprintf(name, sizeof(name), "client %s: vrange at rest, volatile / working set", sc);
		goal(name, p[VRANGE].rest_vol / (w >> 20), ">=", 0.9);
		snprintf(name, sizeof(name), "client %s: vrange purged (pages, over the hog)", sc);
		goal(name, p[VRANGE].purged, ">=", need / 4);
		snprintf(name, sizeof(name), "client %s: hog time, vrange / stock", sc);
		goal(name, p[VRANGE].hog_s / p[STOCK].hog_s, "<=", 1.0);
		snprintf(name, sizeof(name), "client %s: hog time, vrange / dontneed", sc);
		goal(name, p[VRANGE].hog_s / p[DONTNEED].hog_s, "<=", 1.1);
		snprintf(name, sizeof(name), "client %s: pswpout, vrange - 10%% of stock's", sc);
		goal(name, p[VRANGE].pswpout - 0.1 * p[STOCK].pswpout, "<=", 0);
		snprintf(name, sizeof(name), "client %s: re-burst, vrange / dontneed", sc);
		goal(name, p[VRANGE].reburst_rps / p[DONTNEED].reburst_rps, ">=", 1.0);
		snprintf(name, sizeof(name), "client %s: oom kills, vrange beyond stock's", sc);
		goal(name, p[VRANGE].oom > p[STOCK].oom ? p[VRANGE].oom : 0, "<=", 0);
	}
	printf("\nclient: %d targets met, %d missed (%.0f s)\n", targets_met, targets_missed,
	       now() - t0);
	printf("csv,client_done,met,missed,seconds\ncsv,client_done,%d,%d,%.0f\n",
	       targets_met, targets_missed, now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	int threads = 2, rounds = 3, opt;
	double secs = 5;
	size_t bytes = 0;
	const char *cmd = argc > 1 ? argv[1] : "";

	if (argc > 1) {
		argc--;
		argv++;
	}
	while ((opt = getopt(argc, argv, "t:s:r:w:")) != -1) {
		switch (opt) {
		case 't': threads = atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'w': bytes = strtoull(optarg, NULL, 0); break;
		default: goto usage;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "all"))
		return all(rounds > 0 ? rounds : 1, threads, secs);
	if (!strcmp(cmd, "churn")) {
		churn_seconds = secs;
		return churn(threads);
	}
	if (!strcmp(cmd, "burst") && bytes)
		return burst(bytes);
	if (!strcmp(cmd, "hog") && bytes)
		return hog(bytes);
usage:
	fprintf(stderr, "usage: jebench all [-s SECONDS] [-r ROUNDS] [-t THREADS]\n"
		"       jebench churn -t THREADS -s SECONDS\n"
		"       jebench burst -w BYTES | hog -w BYTES\n");
	return 2;
}
