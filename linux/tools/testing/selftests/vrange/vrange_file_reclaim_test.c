// SPDX-License-Identifier: GPL-2.0
/*
 * fvrange(): how reclaim treats volatile shmem, tmpfs and memfd files,
 * written from the contract ("Files (fvrange)" and "Reclaim").
 *
 * - Only what a purge frees is purged and counted: a huge shmem folio that
 *   straddles a volatile range is split (and the range really freed) or
 *   left alone (and the range reported intact), never reported purged while
 *   its data is still there; one that is covered goes whole.
 * - Reclaim of a memcg reaches the volatile file memory charged to it,
 *   whichever task marked it, also when that memcg may not swap.
 * - A purge never holds a file or superblock past an unmount: lazy umounts
 *   racing purges leave no busy inodes.
 * - A volatile shmem page is purged, never written to swap, under memcg
 *   pressure.
 * - Seals and other mappers: a file that gains F_SEAL_FUTURE_WRITE is never
 *   purged, and another process's F_SEAL_SHRINK mapping reads zeroes.
 *
 * vrange_file_test.c has the basic file semantics; these are the reclaim
 * half. Every test needs root (mount, drop_caches, cgroups). Sizes are a
 * few MiB: the guest is a 512 MiB TCG VM.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/memfd.h>

#include "../kselftest_harness.h"
#include "vrange_util.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define KiB		1024ULL
#define MiB		(1024ULL * 1024)
#define HUGE_SZ		(2 * MiB)

/* ------------------------------------------------------------ helpers */

static long fvr(int fd, uint64_t off, uint64_t len, int mode, int behavior)
{
	struct fvrange_range r = { .off = off, .len = len };

	return sys_fvrange(fd, &r, mode, behavior);
}

/* fvrange()'s result, or -errno. */
static long fvr_err(int fd, uint64_t off, uint64_t len, int mode, int behavior)
{
	long ret = fvr(fd, off, len, mode, behavior);

	return ret < 0 ? -errno : ret;
}

static bool fvrange_supported(void)
{
	return vrange_supported() && fvr_err(-1, 0, 0, 7, 0) == -EINVAL;
}

/* Bytes the file holds, in memory or in swap (st_blocks), or -1. */
static long long file_bytes(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : (long long)st.st_blocks * 512;
}

/* Fill @pages pages of @fd from page 0 with their pattern, by pwrite(2). */
static int pwrite_filled(int fd, size_t pages, int seed)
{
	size_t ps = page_size(), chunk = 256, i;
	char *buf = malloc(chunk * ps);
	int ret = 0;

	if (!buf)
		return -1;
	for (i = 0; i < pages && !ret; i += chunk) {
		size_t n = pages - i < chunk ? pages - i : chunk, j;

		/* the pattern of page i + j, as fill() makes it */
		for (j = 0; j < n; j++)
			memset(buf + j * ps, (int)(((i + j) * 7 + seed) % 251) + 1, ps);
		if (pwrite(fd, buf, n * ps, (off_t)i * ps) != (ssize_t)(n * ps))
			ret = -1;
	}
	free(buf);
	return ret;
}

/* A memfd of @pages pages, each filled with its pattern (fill()). */
static int memfd_filled(size_t pages, int seed, unsigned int flags)
{
	int fd = memfd_create("vrange-reclaim", flags);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)pages * page_size()) || pwrite_filled(fd, pages, seed)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * State of pages [@first, @first + @pages) of @fd read with pread(2), as
 * page_state() tells it: 1 all hold their pattern, 0 all are zero, -1 a
 * mix or an error. @intact and @zero, if given, count the pages.
 */
static int range_state(int fd, size_t first, size_t pages, int seed,
		       size_t *intact, size_t *zero)
{
	size_t ps = page_size(), i, ni = 0, nz = 0;
	char *buf = malloc(ps);

	if (!buf)
		return -1;
	for (i = 0; i < pages; i++) {
		int s;

		if (pread(fd, buf, ps, (off_t)(first + i) * ps) != (ssize_t)ps)
			break;
		/* page_state() of page i of a buffer: shift the seed */
		s = page_state(buf, 0, (int)(((first + i) * 7 + seed) % 251));
		ni += s == 1;
		nz += s == 0;
	}
	free(buf);
	if (intact)
		*intact = ni;
	if (zero)
		*zero = nz;
	return ni == pages ? 1 : nz == pages ? 0 : -1;
}

/*
 * Run drop_caches until two runs in a row purge nothing, as counted by
 * both vrange_purged_ranges and vrange_purged_file; at most 64 runs or
 * 20 s. The number of runs, or -1.
 */
static int purge_settle(void)
{
	long r0 = vmstat_counter("vrange_purged_ranges");
	long f0 = vmstat_counter("vrange_purged_file");
	long deadline = now_ms() + 20000;
	int i, idle = 0;

	for (i = 0; i < 64 && idle < 2 && now_ms() < deadline; i++) {
		long r1, f1;

		if (write_drop_caches())
			return -1;
		r1 = vmstat_counter("vrange_purged_ranges");
		f1 = vmstat_counter("vrange_purged_file");
		idle = r1 == r0 && f1 == f0 ? idle + 1 : 0;
		r0 = r1;
		f0 = f1;
	}
	return i;
}

/* Memory that parent and children both see, for results. */
static void *shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len);
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

/* The first number of a file as a long long, or -1. */
static long long read_ll(const char *path)
{
	char buf[64] = "";
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtoll(buf, NULL, 10);
}

/* How many of the first @pages pages of @fd are in memory (mincore), or -1. */
static long count_resident(int fd, size_t pages)
{
	size_t ps = page_size(), i;
	unsigned char *vec = calloc(pages, 1);
	long n = -1;
	void *p;

	p = mmap(NULL, pages * ps, PROT_READ, MAP_SHARED, fd, 0);
	if (vec && p != MAP_FAILED && !mincore(p, pages * ps, vec))
		for (n = 0, i = 0; i < pages; i++)
			n += vec[i] & 1;
	if (p != MAP_FAILED)
		munmap(p, pages * ps);
	free(vec);
	return n;
}

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

/* ----- cgroup v2 (the helpers are in vrange_util.h) */

static long long cg_read(struct cg *cg, const char *file)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", cg->dir, file);
	return read_ll(path);
}

/* ----- the kernel log */

#define KMSG_CANARY	"vrange_file_reclaim_test: reading the kernel log"

static bool kmsg_canary_seen;

/*
 * /dev/kmsg, positioned after the last record, or -1. A harmless line is
 * logged after it, so that kmsg_complaints() can tell it reads the log.
 */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	kmsg_canary_seen = false;
	write_str("/dev/kmsg", KMSG_CANARY "\n");
	return fd;
}

/*
 * Read what the kernel logged since kmsg_open() or the last call; count
 * the records that complain (busy inodes, VFS, BUG, WARNING, oops) and
 * keep the first in @first (left as it is if it holds one already).
 * Call it often when something else logs a lot (drop_caches logs every
 * run), so that no record is overwritten before it is read. The count,
 * or -1 if the log could not be read.
 */
static int kmsg_complaints(int fd, char *first, size_t size)
{
	static const char * const bad[] = {
		"Busy inodes", "VFS:", "BUG:", "BUG at", "WARNING:", "Oops",
		"general protection", "KASAN", "list_add corruption",
		"list_del corruption", "refcount_t:",
	};
	char rec[2048];
	int n = 0, tries = 0;
	size_t i;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t len = read(fd, rec, sizeof(rec) - 1);
		char *msg;

		if (len < 0 && errno == EPIPE && tries++ < 100)
			continue;	/* records overwritten: go on with the next */
		if (len <= 0)
			break;
		rec[len] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		if (strstr(msg, KMSG_CANARY)) {
			kmsg_canary_seen = true;
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			if (!strstr(msg, bad[i]))
				continue;
			if (!n++ && first && size && !first[0]) {
				size_t l = strcspn(msg, "\n");

				l = l < size - 1 ? l : size - 1;
				memcpy(first, msg, l);
				first[l] = 0;
			}
			break;
		}
	}
	return n;
}

/* ----- a huge tmpfs of the test's own */

#define THP_SHMEM	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"

/* Mount a tmpfs with huge=always at a new @dir: 0, or a reason to skip. */
static const char *mount_huge_tmpfs(char *dir)
{
	if (access(THP_SHMEM, R_OK))
		return "no THP shmem (" THP_SHMEM ")";
	if (file_contains(THP_SHMEM, "[deny]"))
		return "THP shmem is denied (shmem_enabled=deny)";
	snprintf(dir, 64, "/tmp/vrange-frc.XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = 0;
		return "mkdtemp failed";
	}
	if (mount("none", dir, "tmpfs", 0, "huge=always,size=16m")) {
		rmdir(dir);
		dir[0] = 0;
		return "mount -t tmpfs -o huge=always failed";
	}
	return NULL;
}

/* What the huge tests measure before and after the purge. */
struct huge_snap {
	long long blocks;	/* file bytes, st_blocks */
	long shmem_kb, huge_kb, free_kb;
	long purged_file, purged_ranges;
};

static void huge_snap(int fd, struct huge_snap *s)
{
	s->blocks = file_bytes(fd);
	s->shmem_kb = meminfo_kb("Shmem");
	s->huge_kb = meminfo_kb("ShmemHugePages");
	s->free_kb = meminfo_kb("MemFree");
	s->purged_file = vmstat_counter("vrange_purged_file");
	s->purged_ranges = vmstat_counter("vrange_purged_ranges");
}

/*
 * A 4 MiB file on the huge tmpfs at @dir, written so that it is two PMD
 * folios: the fd, or -1 and a reason to skip in *@why. ShmemHugePages
 * before the write in *@huge0.
 */
static int huge_file(const char *dir, int seed, const char **why, long *huge0)
{
	size_t pages = 4 * MiB / page_size();
	char path[128];
	long huge1;
	int fd;

	*why = NULL;
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		*why = "cannot create a file on the huge tmpfs";
		return -1;
	}
	*huge0 = meminfo_kb("ShmemHugePages");
	if (*huge0 < 0) {
		*why = "no ShmemHugePages in /proc/meminfo";
		close(fd);
		return -1;
	}
	if (ftruncate(fd, (off_t)(4 * MiB)) || pwrite_filled(fd, pages, seed)) {
		*why = "cannot fill the file";
		close(fd);
		return -1;
	}
	huge1 = meminfo_kb("ShmemHugePages");
	if (huge1 - *huge0 < (long)(2 * HUGE_SZ / KiB)) {
		*why = "the file did not get two huge folios (ShmemHugePages rose < 4 MiB)";
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------ tests */

FIXTURE(file_reclaim) {
	int fd;
	size_t ps;
	char dir[64];	/* a private tmpfs, if the test mounts one */
};

FIXTURE_SETUP(file_reclaim)
{
	self->fd = -1;
	self->ps = page_size();
	self->dir[0] = 0;
	if (!fvrange_supported())
		SKIP(return, "fvrange() is not supported");
	if (geteuid())
		SKIP(return, "these tests purge (drop_caches, mount, cgroups): they need root");
	/* A child that died must fail the test, not kill it with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
}

FIXTURE_TEARDOWN(file_reclaim)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->dir[0]) {
		umount2(self->dir, MNT_DETACH);
		rmdir(self->dir);
	}
}

/*
 * [1M, 3M) of a file of two PMD folios: each folio straddles the range.
 * Only what the purge frees is purged and counted. So either the range
 * was left alone (data intact, NOVOLATILE 0, nothing counted), or it was
 * really freed (the folios split, 2 MiB less in st_blocks and in Shmem,
 * the count says 512 pages, the range reads zeroes, NOVOLATILE 1). Data
 * outside the range is kept either way. A report or a count while the
 * data is still there, or data zeroed without the memory freed, fails.
 */
TEST_F(file_reclaim, straddling_huge_shmem_folio_is_not_reported_purged)
{
	size_t ps = self->ps, mb = MiB / ps;
	struct huge_snap a, b;
	size_t in_i, in_z;
	const char *why;
	int in, head, tail, runs;
	long huge0, nov, dfile, dranges;
	long long freed;

	why = mount_huge_tmpfs(self->dir);
	if (why)
		SKIP(return, "%s", why);
	self->fd = huge_file(self->dir, 31, &why, &huge0);
	if (self->fd < 0)
		SKIP(return, "%s", why);
	ASSERT_EQ((long long)(4 * MiB), file_bytes(self->fd));

	ASSERT_EQ(0, fvr(self->fd, 1 * MiB, 2 * MiB, VRANGE_VOLATILE, 0));
	huge_snap(self->fd, &a);
	runs = purge_settle();
	ASSERT_LE(0, runs);
	huge_snap(self->fd, &b);

	in = range_state(self->fd, mb, 2 * mb, 31, &in_i, &in_z);
	head = range_state(self->fd, 0, mb, 31, NULL, NULL);
	tail = range_state(self->fd, 3 * mb, mb, 31, NULL, NULL);
	nov = fvr_err(self->fd, 1 * MiB, 2 * MiB, VRANGE_NOVOLATILE, 0);
	freed = a.blocks - b.blocks;
	dfile = b.purged_file - a.purged_file;
	dranges = b.purged_ranges - a.purged_ranges;

	ksft_print_msg("%d drop_caches; [1M,3M): %zu intact, %zu zero of %zu; NOVOLATILE %ld\n",
		       runs, in_i, in_z, 2 * mb, nov);
	ksft_print_msg("blocks -%lld kB; Shmem -%ld kB; huge %ld -> %ld kB (%ld); free %+ld kB\n",
		       freed / 1024, a.shmem_kb - b.shmem_kb, a.huge_kb, b.huge_kb, huge0,
		       b.free_kb - a.free_kb);
	ksft_print_msg("vrange_purged_file +%ld pages, vrange_purged_ranges +%ld\n",
		       dfile, dranges);

	/* Outside the range: always intact. */
	EXPECT_EQ(1, head) TH_LOG("[0,1M) lost data");
	EXPECT_EQ(1, tail) TH_LOG("[3M,4M) lost data");

	if (in == 1) {
		/* Left alone: then nothing is reported or counted. */
		EXPECT_EQ(0, nov) TH_LOG("NOVOLATILE reports a purge of data that is intact");
		EXPECT_EQ(0, dfile) TH_LOG("vrange_purged_file counted pages that were not freed");
		EXPECT_EQ(0, dranges)
			TH_LOG("vrange_purged_ranges counted a range that was not purged");
		EXPECT_EQ(0, freed);
	} else if (in == 0) {
		/* Purged: the whole range (VRANGE_FULL), really freed. */
		EXPECT_EQ(1, nov);
		EXPECT_EQ((long long)(2 * MiB), freed)
			TH_LOG("[1M,3M) reads zeroes but st_blocks fell by %lld kB, not 2048 kB",
			       freed / 1024);
		EXPECT_LE((long)(2 * MiB / KiB * 3 / 4), a.shmem_kb - b.shmem_kb)
			TH_LOG("the zeroed range was not freed (Shmem)");
		EXPECT_EQ((long)(freed / (long long)ps), dfile)
			TH_LOG("vrange_purged_file counts other than what was freed");
	} else {
		/* VRANGE_FULL: never a part of the range, never data zeroed in place. */
		EXPECT_NE(-1, in) TH_LOG("[1M,3M) is partly purged: %zu intact, %zu zero pages",
					 in_i, in_z);
	}
}

/*
 * The same file, [0, 4M) volatile: both folios covered, both purged whole
 * and counted exactly (1024 pages, 4 MiB freed).
 */
TEST_F(file_reclaim, covered_huge_shmem_folios_are_purged_and_counted_exactly)
{
	size_t ps = self->ps, pages = 4 * MiB / ps;
	struct huge_snap a, b;
	const char *why;
	long huge0, nov;
	int runs;

	why = mount_huge_tmpfs(self->dir);
	if (why)
		SKIP(return, "%s", why);
	self->fd = huge_file(self->dir, 32, &why, &huge0);
	if (self->fd < 0)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, fvr(self->fd, 0, 4 * MiB, VRANGE_VOLATILE, 0));
	huge_snap(self->fd, &a);
	runs = purge_settle();
	ASSERT_LE(0, runs);
	huge_snap(self->fd, &b);
	ksft_print_msg("%d runs; blocks %lld -> %lld kB; Shmem -%ld kB; huge %ld -> %ld kB; +%ld\n",
		       runs, a.blocks / 1024, b.blocks / 1024, a.shmem_kb - b.shmem_kb,
		       a.huge_kb, b.huge_kb, b.purged_file - a.purged_file);
	EXPECT_EQ(0, range_state(self->fd, 0, pages, 32, NULL, NULL));
	EXPECT_EQ(0, b.blocks);
	EXPECT_EQ((long)pages, b.purged_file - a.purged_file);
	EXPECT_LE((long)(2 * HUGE_SZ / KiB), a.huge_kb - b.huge_kb);
	EXPECT_LE((long)(4 * MiB / KiB * 3 / 4), a.shmem_kb - b.shmem_kb);
	nov = fvr_err(self->fd, 0, 4 * MiB, VRANGE_NOVOLATILE, 0);
	EXPECT_EQ(1, nov);
}

/* Results of the memcg tests' processes, in shared memory. */
struct owner_result {
	int stage;
	long mark;		/* the marker's fvrange() result */
	long nov;		/* NOVOLATILE after the reclaim */
	long long blocks0;	/* file bytes before and after the reclaim */
	long long blocks1;
	int intact;		/* range_state() after the reclaim, before NOVOLATILE */
};

#define OWNER_PAGES	(16 * MiB / page_size())

/*
 * A process in @owner fills a memfd of 16 MiB (charged to @owner); its
 * child moves to @marker and marks the whole memfd volatile, then exits.
 * Then @target's memory.reclaim is asked for 8M. Figures in @r and the
 * arguments.
 */
static int owner_marker_run(struct cg *owner, struct cg *marker, struct cg *target,
			    struct owner_result *r, int *reclaim_err,
			    long long *cur0, long long *cur1, long *ms)
{
	int ready[2], go[2], status;
	char path[192];
	pid_t holder;
	long t0;

	if (pipe(ready) || pipe(go))
		return -1;
	holder = fork();
	if (holder < 0)
		return -1;
	if (!holder) {
		pid_t m;
		int fd, st;

		close(ready[0]);
		close(go[1]);
		if (cg_enter(owner))
			_exit(10);
		fd = memfd_filled(OWNER_PAGES, 41, 0);
		if (fd < 0)
			_exit(11);
		r->blocks0 = file_bytes(fd);
		r->stage = 1;
		m = fork();
		if (m < 0)
			_exit(12);
		if (!m) {
			/* The marker: moves to its own cgroup, marks, goes. */
			if (cg_enter(marker))
				_exit(20);
			r->mark = fvr_err(fd, 0, OWNER_PAGES * page_size(),
					  VRANGE_VOLATILE, VRANGE_FULL);
			_exit(r->mark ? 21 : 0);
		}
		st = wait_child(m, 20000);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			_exit(13);
		r->stage = 2;
		if (write(ready[1], "r", 1) != 1 || !read_byte(go[0], 120000))
			_exit(14);
		r->blocks1 = file_bytes(fd);
		r->intact = range_state(fd, 0, OWNER_PAGES, 41, NULL, NULL);
		r->nov = fvr_err(fd, 0, OWNER_PAGES * page_size(), VRANGE_NOVOLATILE, 0);
		r->stage = 3;
		close(fd);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	*reclaim_err = 1;	/* not tried */
	if (read_byte(ready[0], 60000)) {
		*cur0 = cg_read(owner, "memory.current");
		snprintf(path, sizeof(path), "%s/memory.reclaim", target->dir);
		t0 = now_ms();
		*reclaim_err = write_str(path, "8M");
		*ms = now_ms() - t0;
		*cur1 = cg_read(owner, "memory.current");
		if (write(go[1], "g", 1) != 1)
			*reclaim_err = 2;
	}
	status = wait_child(holder, 60000);
	close(ready[0]);
	close(go[1]);
	return status;
}

static int make_owner_marker(struct __test_metadata *_metadata, struct cg *p, struct cg *c,
			     bool *swap_off)
{
	int ret;

	p->dir[0] = 0;
	c->dir[0] = 0;
	ret = cg_make(p, "P");
	if (ret)
		return ret;
	ret = cg_make(c, "C");
	if (ret) {
		cg_remove(p);
		return ret;
	}
	/* Neither may swap: only a purge can free the memfd. */
	*swap_off = !cg_set(p, "memory.swap.max", "0") && !cg_set(c, "memory.swap.max", "0");
	if (!*swap_off)
		TH_LOG("memory.swap.max cannot be set: the cgroups may swap");
	return 0;
}

/*
 * "Reclaim of a memcg reaches the volatile memory charged to that memcg,
 * whichever task marked it": memcg P owns a 16 MiB memfd that a task of C
 * marked volatile. P may not swap, so the memory can only be freed by a
 * purge; asked for 8M, P's reclaim must purge the memfd.
 */
TEST_F_TIMEOUT(file_reclaim, memfd_filled_in_one_cgroup_marked_from_another_is_purged_by_it, 120)
{
	struct owner_result *r = shared_alloc(sizeof(*r));
	long long cur0 = -1, cur1 = -1;
	int status, rerr, ret;
	struct cg p, c;
	bool swap_off;
	long ms = 0;

	ASSERT_NE(NULL, r);
	ret = make_owner_marker(_metadata, &p, &c, &swap_off);
	if (ret == -ENOENT)
		SKIP(return, "no cgroup v2 memory controller");
	ASSERT_EQ(0, ret) TH_LOG("cgroup setup: %s", strerror(-ret));
	status = owner_marker_run(&p, &c, &p, r, &rerr, &cur0, &cur1, &ms);
	ksft_print_msg("P/memory.reclaim 8M: %s in %ld ms; P usage %lld -> %lld kB (-%lld kB)\n",
		       rerr == 0 ? "ok" : rerr < 0 ? strerror(-rerr) : "not written", ms,
		       cur0 / 1024, cur1 / 1024, (cur0 - cur1) / 1024);
	ksft_print_msg("memfd st_blocks %lld -> %lld kB; data %s; NOVOLATILE %ld; C's mark %ld\n",
		       r->blocks0 / 1024, r->blocks1 / 1024,
		       r->intact == 1 ? "intact" : r->intact == 0 ? "zero" : "mixed",
		       r->nov, r->mark);
	cg_remove(&c);
	cg_remove(&p);
	ASSERT_TRUE(status != -1 && WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("holder status %#x, stage %d", status, r->stage);
	EXPECT_EQ(1, r->nov) TH_LOG("P's reclaim did not purge the memfd charged to P");
	EXPECT_GE(r->blocks0 - (long long)(8 * MiB), r->blocks1)
		TH_LOG("the memfd did not shrink by 8 MiB");
	EXPECT_LE((long long)(7 * MiB), cur0 - cur1)
		TH_LOG("P's memory.current did not drop by what was asked");
	/*
	 * Recorded, not asserted: a purge that reclaim does not credit makes
	 * memory.reclaim retry and fail with EAGAIN though P's usage fell.
	 */
	if (rerr && r->nov == 1)
		ksft_print_msg("note: the memfd was purged, yet memory.reclaim said %s\n",
			       strerror(-rerr));
	munmap(r, sizeof(*r));
}

/*
 * The other way round: C only marked. Memcg reclaim frees what is charged
 * to the memcg reclaimed; asked for 8M, C's reclaim must not take P's
 * memfd (it would free memory of another cgroup and report it as its own).
 */
TEST_F_TIMEOUT(file_reclaim, reclaim_of_the_marking_cgroup_leaves_a_memfd_charged_elsewhere, 120)
{
	struct owner_result *r = shared_alloc(sizeof(*r));
	long long cur0 = -1, cur1 = -1;
	int status, rerr, ret;
	struct cg p, c;
	bool swap_off;
	long ms = 0;

	ASSERT_NE(NULL, r);
	ret = make_owner_marker(_metadata, &p, &c, &swap_off);
	if (ret == -ENOENT)
		SKIP(return, "no cgroup v2 memory controller");
	ASSERT_EQ(0, ret) TH_LOG("cgroup setup: %s", strerror(-ret));
	status = owner_marker_run(&p, &c, &c, r, &rerr, &cur0, &cur1, &ms);
	ksft_print_msg("C/memory.reclaim 8M: %s in %ld ms; P memory.current %lld -> %lld kB\n",
		       rerr == 0 ? "ok" : rerr < 0 ? strerror(-rerr) : "not written", ms,
		       cur0 / 1024, cur1 / 1024);
	ksft_print_msg("memfd st_blocks %lld -> %lld kB; data %s; NOVOLATILE %ld\n",
		       r->blocks0 / 1024, r->blocks1 / 1024,
		       r->intact == 1 ? "intact" : r->intact == 0 ? "zero" : "mixed", r->nov);
	cg_remove(&c);
	cg_remove(&p);
	ASSERT_TRUE(status != -1 && WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("holder status %#x, stage %d", status, r->stage);
	EXPECT_EQ(1, r->intact) TH_LOG("C's reclaim purged P's memfd");
	EXPECT_EQ(0, r->nov);
	EXPECT_EQ(r->blocks0, r->blocks1);
	munmap(r, sizeof(*r));
}

/* ----- swap under memcg pressure */

struct swap_run {
	int stage;
	long nov;
	long long blocks;	/* the memfd's bytes after the hog (memory + swap) */
	long resident;		/* of its pages, those in memory (mincore) */
	long long swap_cur;	/* the cgroup's swap when the hog is done */
	long pswpout, pswpin, purged_file, oom_kill;
	int hog_status;
	long ms;
};

#define SWAP_MEMFD	(24 * MiB)
#define SWAP_HOG	(32 * MiB)

/*
 * In a cgroup of 48M: a holder fills a memfd of 24 MiB (marked volatile
 * if @vol), then a hog touches 32 MiB. 8 MiB at least must go.
 */
static int swap_pressure_run(bool vol, struct swap_run *s)
{
	size_t ps = page_size(), pages = SWAP_MEMFD / ps;
	long swp0, swpin0, pf0;
	int ready[2], go[2], status, ret;
	pid_t holder, hog;
	struct cg cg;
	long t0;

	ret = cg_make(&cg, vol ? "vol" : "plain");
	if (ret)
		return ret;
	if (cg_set(&cg, "memory.max", "48M")) {
		cg_remove(&cg);
		return -EIO;
	}
	if (pipe(ready) || pipe(go)) {
		cg_remove(&cg);
		return -EIO;
	}
	holder = fork();
	if (holder < 0)
		return -EIO;
	if (!holder) {
		int fd;

		close(ready[0]);
		close(go[1]);
		if (cg_enter(&cg))
			_exit(10);
		fd = memfd_filled(pages, 51, 0);
		if (fd < 0)
			_exit(11);
		if (vol && fvr(fd, 0, SWAP_MEMFD, VRANGE_VOLATILE, VRANGE_FULL))
			_exit(12);
		s->stage = 1;
		if (write(ready[1], "r", 1) != 1 || !read_byte(go[0], 200000))
			_exit(13);
		s->blocks = file_bytes(fd);
		s->resident = count_resident(fd, pages);
		s->nov = vol ? fvr_err(fd, 0, SWAP_MEMFD, VRANGE_NOVOLATILE, 0) : -1;
		s->stage = 2;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	if (!read_byte(ready[0], 60000)) {
		status = wait_child(holder, 10000);
		cg_remove(&cg);
		return -ETIMEDOUT;
	}
	swp0 = vmstat_counter("pswpout");
	swpin0 = vmstat_counter("pswpin");
	pf0 = vmstat_counter("vrange_purged_file");
	t0 = now_ms();
	hog = fork();
	if (!hog) {
		size_t i, n = SWAP_HOG / ps;
		char *h;

		if (cg_enter(&cg))
			_exit(10);
		write_str("/proc/self/oom_score_adj", "1000");
		h = map_anon(n);
		if (!h)
			_exit(11);
		for (i = 0; i < n; i++)
			memset(h + i * ps, (int)(i % 251) + 1, ps);
		s->swap_cur = cg_read(&cg, "memory.swap.current");
		_exit(0);
	}
	s->hog_status = hog < 0 ? -1 : wait_child(hog, 120000);
	s->ms = now_ms() - t0;
	s->pswpout = vmstat_counter("pswpout") - swp0;
	s->pswpin = vmstat_counter("pswpin") - swpin0;
	s->purged_file = vmstat_counter("vrange_purged_file") - pf0;
	s->oom_kill = cg_get(&cg, "memory.events", "oom_kill");
	if (write(go[1], "g", 1) != 1)
		s->stage = -s->stage;
	status = wait_child(holder, 30000);
	close(ready[0]);
	close(go[1]);
	cg_remove(&cg);
	return status;
}

/*
 * "A volatile page is never written to swap (it is purged instead) ...
 * under memcg reclaim." The plain run shows how much this scenario swaps;
 * the volatile run may swap at most 1% of the memfd's pages.
 *
 * Expected to fail if the implementation does not reach shmem on the LRU
 * with swap on (shmem is swap-backed, so vmscan's folio reclaim would
 * swap it unless the purge takes it first).
 */
TEST_F_TIMEOUT(file_reclaim, shmem_volatile_pages_are_not_swapped_under_memcg_pressure, 300)
{
	struct swap_run *s = shared_alloc(2 * sizeof(*s));
	size_t pages = SWAP_MEMFD / page_size();
	int st[2], i;

	ASSERT_NE(NULL, s);
	if (!have_swap())
		SKIP(return, "no swap is on (/proc/swaps)");
	for (i = 0; i < 2; i++) {
		st[i] = swap_pressure_run(i == 1, &s[i]);
		if (st[i] == -ENOENT)
			SKIP(return, "no cgroup v2 memory controller");
	}
	for (i = 0; i < 2; i++) {
		long cur = s[i].swap_cur < 0 ? 0 : (long)(s[i].swap_cur / (long long)page_size());

		ksft_print_msg("%-8s pswpout %ld in %ld swap %lld kB; hog %ld ms %#x oom %ld\n",
			       i ? "volatile" : "plain", s[i].pswpout, s[i].pswpin,
			       s[i].swap_cur / 1024, s[i].ms, s[i].hog_status, s[i].oom_kill);
		ksft_print_msg("%-8s memfd %lld kB, %ld kB resident; purged_file +%ld; NOV %ld\n",
			       i ? "volatile" : "plain", s[i].blocks / 1024,
			       s[i].resident * (long)(page_size() / 1024), s[i].purged_file,
			       s[i].nov);
		ksft_print_msg("%-8s written to swap and freed unread since: %ld pages\n",
			       i ? "volatile" : "plain", s[i].pswpout - s[i].pswpin - cur);
	}
	for (i = 0; i < 2; i++) {
		ASSERT_LE(0, st[i]) TH_LOG("run %d: setup failed: %s", i, strerror(-st[i]));
		EXPECT_TRUE(WIFEXITED(st[i]) && !WEXITSTATUS(st[i]))
			TH_LOG("run %d: holder status %#x stage %d", i, st[i], s[i].stage);
		EXPECT_TRUE(s[i].hog_status != -1 && WIFEXITED(s[i].hog_status) &&
			    !WEXITSTATUS(s[i].hog_status))
			TH_LOG("run %d: the hog did not complete (%#x)", i, s[i].hog_status);
	}
	/* The scenario made pressure: the plain run had to swap 8 MiB or so. */
	EXPECT_LE((long)(4 * MiB / page_size()), s[0].pswpout)
		TH_LOG("the plain run swapped little: no pressure to compare with");
	EXPECT_LE(s[1].pswpout, (long)pages / 100)
		TH_LOG("volatile run: %ld pages written to swap (plain run: %ld)",
		       s[1].pswpout, s[0].pswpout);
	EXPECT_EQ(1, s[1].nov) TH_LOG("the volatile memfd was not purged");
	munmap(s, 2 * sizeof(*s));
}

/* ----- seals and other mappers */

/*
 * "A file that gains F_SEAL_WRITE or F_SEAL_FUTURE_WRITE while it has
 * volatile ranges is never purged after that": the future-write half.
 */
TEST_F(file_reclaim, file_future_write_sealed_after_marking_is_never_purged)
{
	size_t ps = self->ps, n = 64;
	long long blocks;
	long pf0;

	self->fd = memfd_filled(n, 61, MFD_ALLOW_SEALING);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, fvr(self->fd, 0, n * ps, VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	blocks = file_bytes(self->fd);
	pf0 = vmstat_counter("vrange_purged_file");
	ASSERT_LE(0, purge_settle());
	EXPECT_EQ(1, range_state(self->fd, 0, n, 61, NULL, NULL))
		TH_LOG("a F_SEAL_FUTURE_WRITE file was purged");
	EXPECT_EQ(blocks, file_bytes(self->fd));
	EXPECT_EQ(pf0, vmstat_counter("vrange_purged_file"));
	EXPECT_EQ(-EPERM, fvr_err(self->fd, 0, n * ps, VRANGE_NOVOLATILE, 0));
}

/*
 * A compositor maps a client's F_SEAL_SHRINK buffer and has read it (its
 * page tables are populated); the client marks the buffer volatile and it
 * is purged. The compositor's next read gets zeroes, no SIGBUS, and the
 * pages it had mapped were freed.
 */
TEST_F(file_reclaim, shrink_sealed_buffer_mapped_by_another_process_reads_zeroes)
{
	size_t ps = self->ps, n = 32;
	int ready[2], go[2], status;
	long sigbus0;
	pid_t child;

	self->fd = memfd_filled(n, 62, MFD_ALLOW_SEALING);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		char *p = mmap(NULL, n * ps, PROT_READ, MAP_SHARED, self->fd, 0);
		size_t i;

		close(self->fd);	/* the mapping keeps the file */
		if (p == MAP_FAILED)
			_exit(2);
		if (!all_intact(p, n, 62))
			_exit(3);
		if (write(ready[1], "r", 1) != 1 || !read_byte(go[0], 60000))
			_exit(4);
		for (i = 0; i < n; i++)
			if (probe_read(p + i * ps))
				_exit(5);	/* SIGBUS */
		_exit(all_zero(p, n) ? 0 : 6);
	}
	ASSERT_EQ(1, read_byte(ready[0], 30000));
	sigbus0 = vmstat_counter("vrange_sigbus");
	ASSERT_EQ(0, fvr(self->fd, 0, n * ps, VRANGE_VOLATILE, 0));
	ASSERT_LE(0, purge_settle());
	EXPECT_EQ(0, file_bytes(self->fd)) TH_LOG("the mapped pages were not purged");
	ASSERT_EQ(1, write(go[1], "g", 1));
	status = wait_child(child, 30000);
	EXPECT_TRUE(status != -1 && WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("compositor status %#x (5: SIGBUS, 6: not zeroes)", status);
	EXPECT_EQ(sigbus0, vmstat_counter("vrange_sigbus"));
	/* A read fault of a shmem hole allocates a zeroed page, as it always has. */
	ksft_print_msg("after the compositor's reads the file holds %lld kB\n",
		       file_bytes(self->fd) / 1024);
	EXPECT_EQ(1, fvr(self->fd, 0, n * ps, VRANGE_NOVOLATILE, 0));
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* ----- lazy umount against purges */

enum umount_order {
	UMOUNT_THEN_CLOSE,	/* umount -l, then the last close unmounts */
	CLOSE_THEN_UMOUNT,	/* the last close, then umount -l unmounts */
	MAPPED_UMOUNT,		/* umount -l while mapped, then munmap + close */
};

struct dropper_ctl {
	int stop;
	long runs;
};

FIXTURE(lazy_umount) {
	int kmsg;
	pid_t dropper;
	struct dropper_ctl *ctl;
};

FIXTURE_VARIANT(lazy_umount) {
	enum umount_order order;
};

FIXTURE_VARIANT_ADD(lazy_umount, umount_then_close) {
	.order = UMOUNT_THEN_CLOSE,
};

FIXTURE_VARIANT_ADD(lazy_umount, close_then_umount) {
	.order = CLOSE_THEN_UMOUNT,
};

FIXTURE_VARIANT_ADD(lazy_umount, mapped_while_umounted) {
	.order = MAPPED_UMOUNT,
};

FIXTURE_SETUP(lazy_umount)
{
	self->kmsg = -1;
	self->dropper = -1;
	self->ctl = NULL;
	if (!fvrange_supported())
		SKIP(return, "fvrange() is not supported");
	if (geteuid())
		SKIP(return, "mount and drop_caches need root");
}

FIXTURE_TEARDOWN(lazy_umount)
{
	if (self->dropper > 0) {
		kill(self->dropper, SIGKILL);
		waitpid(self->dropper, NULL, 0);
	}
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->ctl)
		munmap(self->ctl, sizeof(*self->ctl));
}

#define UMOUNT_LOOP_MS	10000
#define UMOUNT_FILES	4

/*
 * "[Reclaim] never holds a file or superblock past an unmount." For ~10 s:
 * mount a tmpfs, fill files of 1-2 MiB in all, mark them volatile, unlink
 * them, umount -l, close (in the variant's order), while a child runs
 * drop_caches without pause, so that purges meet the files just before
 * and while the superblock goes. The kernel log must stay clean ("VFS:
 * Busy inodes after unmount", BUG, WARNING, oops; an oops panics a guest
 * booted with oops=panic, which fails the run as well).
 */
TEST_F_TIMEOUT(lazy_umount, lazy_umount_while_purging_leaves_no_busy_inodes, 90)
{
	size_t ps = page_size(), max_pages = 2 * MiB / ps;
	long pf0, pf1, start, iters = 0, errors = 0;
	char dir[64], path[96], first[256] = "", *buf;
	int bad = 0;

	self->kmsg = kmsg_open();
	if (self->kmsg < 0)
		SKIP(return, "cannot read /dev/kmsg: %s", strerror(errno));
	buf = malloc(max_pages * ps);
	ASSERT_NE(NULL, buf);
	fill(buf, max_pages, 71);
	self->ctl = shared_alloc(sizeof(*self->ctl));
	ASSERT_NE(NULL, self->ctl);
	/* Forked before anything is marked: it holds nothing of ours. */
	self->dropper = fork();
	ASSERT_LE(0, self->dropper);
	if (!self->dropper) {
		while (!__atomic_load_n(&self->ctl->stop, __ATOMIC_ACQUIRE)) {
			write_drop_caches();
			__atomic_add_fetch(&self->ctl->runs, 1, __ATOMIC_RELAXED);
		}
		_exit(0);
	}

	pf0 = vmstat_counter("vrange_purged_file");
	start = now_ms();
	while (now_ms() - start < UMOUNT_LOOP_MS) {
		/* 1 or 2 MiB in all, in UMOUNT_FILES files: more inodes to race */
		size_t pages = (iters & 1 ? 2 * MiB : 1 * MiB) / ps / UMOUNT_FILES;
		char *map[UMOUNT_FILES] = { NULL };
		int fd[UMOUNT_FILES], delay = iters % 4, i, n = 0;
		/*
		 * Every fourth time, purge from here too, just before the last
		 * reference goes: whatever a purge leaves for later (work, a
		 * reference dropped late) then meets the unmount.
		 */
		bool kick = !delay;

		snprintf(dir, sizeof(dir), "/tmp/vrange-lazy.XXXXXX");
		if (!mkdtemp(dir)) {
			errors++;
			break;
		}
		if (mount("none", dir, "tmpfs", 0, "size=4m")) {
			rmdir(dir);
			errors++;
			break;
		}
		for (n = 0; n < UMOUNT_FILES; n++) {
			snprintf(path, sizeof(path), "%s/file%d", dir, n);
			fd[n] = open(path, O_RDWR | O_CREAT, 0600);
			if (fd[n] < 0)
				break;
			if (ftruncate(fd[n], (off_t)pages * ps))
				goto fail;
			if (variant->order == MAPPED_UMOUNT) {
				map[n] = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE,
					      MAP_SHARED, fd[n], 0);
				if (map[n] == MAP_FAILED) {
					map[n] = NULL;
					goto fail;
				}
				memcpy(map[n], buf, pages * ps);
			} else if (pwrite(fd[n], buf, pages * ps, 0) != (ssize_t)(pages * ps)) {
				goto fail;
			}
			if (fvr(fd[n], 0, pages * ps, VRANGE_VOLATILE,
				(iters + n) % 3 ? 0 : VRANGE_PARTIAL))
				goto fail;
			unlink(path);
			continue;
fail:
			errors++;
			n++;
			break;
		}
		if (n < UMOUNT_FILES)
			errors++;
		if (delay)
			usleep(delay * 1000);	/* let a purge meet them, sometimes */
		switch (variant->order) {
		case UMOUNT_THEN_CLOSE:
			if (umount2(dir, MNT_DETACH))
				errors++;
			if (kick)
				write_drop_caches();
			if (delay)
				usleep(delay * 1000);
			for (i = 0; i < n; i++)
				if (fd[i] >= 0)
					close(fd[i]);
			break;
		case CLOSE_THEN_UMOUNT:
			if (kick)
				write_drop_caches();
			for (i = 0; i < n; i++)
				if (fd[i] >= 0)
					close(fd[i]);
			if (umount2(dir, MNT_DETACH))
				errors++;
			break;
		case MAPPED_UMOUNT:
			if (umount2(dir, MNT_DETACH))
				errors++;
			if (kick)
				write_drop_caches();
			if (delay)
				usleep(delay * 1000);
			for (i = 0; i < n; i++) {
				if (map[i])
					munmap(map[i], pages * ps);
				if (fd[i] >= 0)
					close(fd[i]);
			}
			break;
		}
		umount2(dir, MNT_DETACH);	/* after an error; EINVAL otherwise */
		rmdir(dir);
		iters++;
		bad += kmsg_complaints(self->kmsg, first, sizeof(first));
	}
	__atomic_store_n(&self->ctl->stop, 1, __ATOMIC_RELEASE);
	EXPECT_NE(-1, wait_child(self->dropper, 30000)) TH_LOG("drop_caches got stuck");
	self->dropper = -1;
	/* Superblocks may be shut down by deferred work: give it a moment. */
	usleep(500000);
	write_drop_caches();
	pf1 = vmstat_counter("vrange_purged_file");
	bad += kmsg_complaints(self->kmsg, first, sizeof(first));
	ksft_print_msg("%ld rounds, %ld ms, %ld errors, %ld drops, purged +%ld, %d complaints\n",
		       iters, now_ms() - start, errors, self->ctl->runs,
		       pf1 - pf0, bad);
	EXPECT_TRUE(kmsg_canary_seen) TH_LOG("the kernel log was not read");
	EXPECT_EQ(0, bad) TH_LOG("kernel log: %s", first);
	EXPECT_EQ(0, errors);
	/* A few rounds at least (a debug kernel under emulation does about ten). */
	EXPECT_LT(2, iters);
	/* Otherwise the race was not run: no purge ever met one of the files. */
	EXPECT_LT(pf0, pf1) TH_LOG("no purge met the files");
	free(buf);
}

TEST_HARNESS_MAIN
