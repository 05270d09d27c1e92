// SPDX-License-Identifier: GPL-2.0
/*
 * vrange(): what reclaim may and may not take from volatile memory.
 *
 * Pages the kernel must never purge, even when volatile: mlocked, pinned or
 * referenced by a pipe (vmsplice) or by io_uring, KSM-merged, hugetlb, and
 * still shared copy-on-write with a process that does not hold them
 * volatile; non-volatile neighbours always keep their data. Pages it must
 * purge: a THP as a whole, swapped-out pages along with their swap slots,
 * and volatile memory under real memory pressure, system-wide and inside a
 * memory cgroup, before anything is OOM-killed. The vmstat counters follow.
 *
 * Most purges are made deterministic with drop_caches (vm.drop_caches=2 runs
 * the shrinkers), so every test needs root. Tests that change sysfs or
 * sysctl values put them back.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/io_uring.h>

#include <pthread.h>
#include <sched.h>

#include "../kselftest_harness.h"
#include "vrange_util.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

#define KSM_DIR		"/sys/kernel/mm/ksm/"
#define THP_DIR		"/sys/kernel/mm/transparent_hugepage/"
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define CGROUP_ROOT	"/sys/fs/cgroup"

/* Waits are bounded, and end before the tests' own timeouts (TEST_F_TIMEOUT). */
#define KSM_WAIT_MS	20000
#define CHILD_WAIT_MS	20000
#define HOG_WAIT_MS	200000	/* a debug kernel under TCG is slow */

/* Every test here purges, with drop_caches or real pressure: root. */
FIXTURE(reclaim) {};

FIXTURE_SETUP(reclaim)
{
	if (!vrange_supported())
		SKIP(return, "vrange() is not supported");
	if (geteuid())
		SKIP(return, "purging needs root");
}

FIXTURE_TEARDOWN(reclaim)
{
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first number in a file, or -1. */
static long read_long(const char *path)
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
	return strtol(buf, NULL, 10);
}

/* 0 or -errno. */
static int write_str(const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd, ret = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, s, len) != (ssize_t)len)
		ret = -errno ?: -EIO;
	close(fd);
	return ret;
}

static int write_long(const char *path, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", val);
	return write_str(path, buf);
}

static bool file_contains(const char *path, const char *needle)
{
	char buf[4096];
	bool found = false;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		found = strstr(buf, needle);
	}
	close(fd);
	return found;
}

/* Does /proc/swaps list any swap device or file? */
static bool swap_enabled(void)
{
	char line[512];
	int lines = 0;
	FILE *f;

	f = fopen("/proc/swaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	return lines > 1;
}

/*
 * Wait for @pid for at most @ms milliseconds; SIGKILL it when the time is
 * up. Returns its wait status, or -1 if it had to be killed.
 */
static int wait_child(pid_t pid, long ms)
{
	long deadline = now_ms() + ms;
	int status;

	while (now_ms() < deadline) {
		pid_t ret = waitpid(pid, &status, WNOHANG);

		if (ret == pid)
			return status;
		if (ret < 0)
			return -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
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

static bool all_bytes(const char *p, size_t len, char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

TEST_F(reclaim, mlocked_pages_survive_a_purge)
{
	size_t pages = 32, len = pages * page_size();
	char *p;

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 1);
	ASSERT_EQ(0, mlock(p, len)) TH_LOG("mlock: %s", strerror(errno));

	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_intact(p, pages, 1));

	munlock(p, len);
	munmap(p, len);
}

TEST_F(reclaim, vmspliced_page_survives_a_purge)
{
	size_t ps = page_size();
	struct iovec iov;
	int pfd[2];
	char *p, *buf;

	p = map_anon(1);
	ASSERT_NE(NULL, p);
	buf = malloc(ps);
	ASSERT_NE(NULL, buf);
	fill(p, 1, 2);
	ASSERT_EQ(0, pipe(pfd));
	iov.iov_base = p;
	iov.iov_len = ps;
	ASSERT_EQ((ssize_t)ps, vmsplice(pfd[1], &iov, 1, 0))
		TH_LOG("vmsplice: %s", strerror(errno));

	ASSERT_EQ(0, sys_vrange(p, ps, VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(p, ps, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_intact(p, 1, 2));

	/* The pipe still holds the page, with its data. */
	memset(buf, 0, ps);
	EXPECT_EQ((ssize_t)ps, read(pfd[0], buf, ps));
	EXPECT_EQ(1, page_state(buf, 0, 2));

	close(pfd[0]);
	close(pfd[1]);
	free(buf);
	munmap(p, ps);
}

TEST_F(reclaim, io_uring_fixed_buffer_survives_a_purge)
{
	size_t pages = 16, len = pages * page_size();
	struct io_uring_params params;
	struct iovec iov;
	char *p;
	int fd;

	memset(&params, 0, sizeof(params));
	fd = syscall(__NR_io_uring_setup, 4, &params);
	if (fd < 0)
		SKIP(return, "io_uring is not available: %s", strerror(errno));
	ASSERT_LE(0, fd) TH_LOG("io_uring_setup: %s", strerror(errno));

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 3);
	iov.iov_base = p;
	iov.iov_len = len;
	ASSERT_EQ(0, syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS, &iov, 1))
		TH_LOG("IORING_REGISTER_BUFFERS: %s", strerror(errno));

	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_intact(p, pages, 3));

	close(fd);
	munmap(p, len);
}

/* How many of our pages KSM has merged, by our own count if there is one. */
static long ksm_merged(long sharing0)
{
	long n = read_long("/proc/self/ksm_merging_pages");

	if (n >= 0)
		return n;
	n = read_long(KSM_DIR "pages_sharing") - sharing0;
	return n > 0 ? n + 1 : 0;
}

TEST_F_TIMEOUT(reclaim, ksm_merged_pages_survive_a_purge, 300)
{
	size_t pages = 32, len = pages * page_size();
	long run, scan, sleep_ms, sharing0, merged = 0, deadline;
	char *p;

	if (access(KSM_DIR "run", W_OK))
		SKIP(return, "KSM is not available");
	run = read_long(KSM_DIR "run");
	scan = read_long(KSM_DIR "pages_to_scan");
	sleep_ms = read_long(KSM_DIR "sleep_millisecs");
	ASSERT_LE(0, run);
	ASSERT_LE(0, scan);
	ASSERT_LE(0, sleep_ms);

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	memset(p, 0x5a, len);
	if (madvise(p, len, MADV_MERGEABLE)) {
		munmap(p, len);
		SKIP(return, "MADV_MERGEABLE: %s", strerror(errno));
	}

	sharing0 = read_long(KSM_DIR "pages_sharing");
	EXPECT_EQ(0, write_str(KSM_DIR "pages_to_scan", "1000"));
	EXPECT_EQ(0, write_str(KSM_DIR "sleep_millisecs", "10"));
	EXPECT_EQ(0, write_str(KSM_DIR "run", "1"));
	deadline = now_ms() + KSM_WAIT_MS;
	while (now_ms() < deadline) {
		merged = ksm_merged(sharing0);
		if (merged >= (long)pages)
			break;
		usleep(50000);
	}
	TH_LOG("%ld of %zu pages merged by KSM", merged, pages);
	if (merged < (long)pages)
		SKIP(goto out, "KSM merged %ld of %zu pages in %d s",
		     merged, pages, KSM_WAIT_MS / 1000);

	EXPECT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_bytes(p, len, 0x5a));

out:
	munmap(p, len);
	/* Unmerge everything, then put the old settings back. */
	write_str(KSM_DIR "run", "2");
	write_long(KSM_DIR "run", run);
	write_long(KSM_DIR "pages_to_scan", scan);
	write_long(KSM_DIR "sleep_millisecs", sleep_ms);
}

TEST_F(reclaim, hugetlb_pages_survive_a_purge)
{
	size_t ps = page_size(), hsize, pages;
	long nr_old, hsize_kb;
	char *p;

	hsize_kb = meminfo_kb("Hugepagesize");
	nr_old = read_long(NR_HUGEPAGES);
	if (hsize_kb <= 0 || nr_old < 0)
		SKIP(return, "hugetlb is not available");
	hsize = (size_t)hsize_kb * 1024;
	pages = hsize / ps;

	if (nr_old < 2)
		write_long(NR_HUGEPAGES, 2);
	if (meminfo_kb("HugePages_Free") < 1) {
		write_long(NR_HUGEPAGES, nr_old);
		SKIP(return, "could not reserve a huge page");
	}

	p = mmap(NULL, hsize, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	EXPECT_NE(MAP_FAILED, p) TH_LOG("mmap(MAP_HUGETLB): %s", strerror(errno));
	if (p == MAP_FAILED)
		goto out;
	fill(p, pages, 5);

	EXPECT_EQ(0, sys_vrange(p, hsize, VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(p, hsize, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_intact(p, pages, 5));
	munmap(p, hsize);
out:
	write_long(NR_HUGEPAGES, nr_old);
}

static void thp_restore(bool was_never)
{
	if (was_never)
		write_str(THP_DIR "enabled", "never");
}

TEST_F(reclaim, thp_backed_range_is_purged_whole)
{
	size_t ps = page_size(), hsize, pages;
	long thp0, thp1, thp2, hsize_kb;
	bool was_never;
	char *raw, *p;

	if (access(THP_DIR "enabled", R_OK))
		SKIP(return, "THP is not available");
	/* THP defaults to "never" below 512 MiB of RAM: ask for madvise. */
	was_never = file_contains(THP_DIR "enabled", "[never]");
	if (was_never && write_str(THP_DIR "enabled", "madvise"))
		SKIP(return, "THP is disabled and cannot be enabled");
	hsize_kb = read_long(THP_DIR "hpage_pmd_size") / 1024;
	if (hsize_kb <= 0)
		hsize_kb = 2048;
	hsize = (size_t)hsize_kb * 1024;
	pages = hsize / ps;

	raw = map_anon(2 * pages);
	ASSERT_NE(NULL, raw);
	p = (char *)(((uintptr_t)raw + hsize - 1) & ~(uintptr_t)(hsize - 1));
	if (madvise(p, hsize, MADV_HUGEPAGE)) {
		munmap(raw, 2 * hsize);
		thp_restore(was_never);
		SKIP(return, "MADV_HUGEPAGE: %s", strerror(errno));
	}
	thp0 = meminfo_kb("AnonHugePages");
	fill(p, pages, 6);
	thp1 = meminfo_kb("AnonHugePages");
	TH_LOG("AnonHugePages %ld kB before, %ld kB after the fault", thp0, thp1);
	if (thp1 - thp0 < hsize_kb) {
		munmap(raw, 2 * hsize);
		thp_restore(was_never);
		SKIP(return, "no THP was allocated");
	}

	ASSERT_EQ(0, sys_vrange(p, hsize, VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	thp2 = meminfo_kb("AnonHugePages");
	TH_LOG("AnonHugePages %ld kB after the purge", thp2);
	EXPECT_LE(thp2, thp1 - hsize_kb);
	EXPECT_EQ(1, sys_vrange(p, hsize, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_zero(p, pages));

	munmap(raw, 2 * hsize);
	thp_restore(was_never);
}

/*
 * VmSwap is read from per-cpu counters without summing them: each CPU may
 * hold back up to a batch (max(32, 2 * nr_cpus) pages) of the count.
 */
static long rss_slack_kb(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	long batch = 2 * cpus > 32 ? 2 * cpus : 32;

	return batch * cpus * (long)(page_size() / 1024);
}

TEST_F(reclaim, swapped_out_volatile_pages_free_their_swap)
{
	size_t pages = 256, len = pages * page_size();
	long swap0, swap1, swap2;
	char *p;

	if (!swap_enabled())
		SKIP(return, "no swap device is enabled");
	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 7);

	swap0 = status_kb(0, "VmSwap");
	ASSERT_LE(0, swap0);
	if (madvise(p, len, MADV_PAGEOUT)) {
		munmap(p, len);
		SKIP(return, "MADV_PAGEOUT: %s", strerror(errno));
	}
	swap1 = status_kb(0, "VmSwap");
	TH_LOG("VmSwap %ld kB before MADV_PAGEOUT, %ld kB after", swap0, swap1);
	if (swap1 <= swap0) {
		munmap(p, len);
		SKIP(return, "MADV_PAGEOUT swapped nothing out");
	}

	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	swap2 = status_kb(0, "VmSwap");
	TH_LOG("VmSwap %ld kB after the purge", swap2);
	/* Every slot the range took is given back. */
	EXPECT_LE(swap2, swap0 + rss_slack_kb());
	EXPECT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_zero(p, pages));

	munmap(p, len);
}

TEST_F(reclaim, non_volatile_neighbours_keep_their_data)
{
	size_t ps = page_size(), part = 16, len = 3 * part * ps;
	char *a, *b, *c;

	a = map_anon(3 * part);
	ASSERT_NE(NULL, a);
	b = a + part * ps;
	c = b + part * ps;
	fill(a, part, 8);
	fill(b, part, 9);
	fill(c, part, 10);

	ASSERT_EQ(0, sys_vrange(b, part * ps, VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	EXPECT_TRUE(all_intact(a, part, 8));
	EXPECT_TRUE(all_intact(c, part, 10));
	EXPECT_EQ(1, sys_vrange(b, part * ps, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_zero(b, part));

	munmap(a, len);
}

TEST_F(reclaim, cow_page_volatile_in_one_process_only_survives)
{
	size_t pages = 16, len = pages * page_size();
	int ready[2], go[2], status;
	pid_t child;
	char *p;

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 11);
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, 0));
	/* A child that died early must fail the test, not kill it. */
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));

	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		/* Holds the same pages, copy-on-write, but not volatile. */
		close(ready[0]);
		close(go[1]);
		alarm(CHILD_WAIT_MS / 1000);
		if (sys_vrange(p, len, VRANGE_NOVOLATILE, 0) != 0)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		if (!read_byte(go[0], CHILD_WAIT_MS))
			_exit(3);
		_exit(all_intact(p, pages, 11) ? 0 : 1);
	}
	close(ready[1]);
	close(go[0]);

	EXPECT_EQ(1, read_byte(ready[0], CHILD_WAIT_MS / 2))
		TH_LOG("the child did not get ready");
	EXPECT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_intact(p, pages, 11));
	EXPECT_EQ(1, write(go[1], "g", 1));

	status = wait_child(child, CHILD_WAIT_MS / 2);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x (exit 1: its data was lost, 2: NOVOLATILE failed)",
		       status);

	close(ready[0]);
	close(go[1]);
	munmap(p, len);
}

TEST_F_TIMEOUT(reclaim, memory_hog_succeeds_by_purging_volatile_memory, 300)
{
	size_t ps = page_size(), vol_pages, hog_pages, i;
	long total_kb, purged0, purged1, start;
	int status;
	pid_t child;
	char *p;

	total_kb = meminfo_kb("MemTotal");
	ASSERT_LT(0, total_kb);
	/* 40% volatile plus 60% for the hog: both cannot fit. */
	vol_pages = (size_t)total_kb / 10 * 4 * 1024 / ps;
	hog_pages = (size_t)total_kb / 10 * 6 * 1024 / ps;

	p = map_anon(vol_pages);
	ASSERT_NE(NULL, p);
	/* Shared copy-on-write with the hog, it could not be purged. */
	ASSERT_EQ(0, madvise(p, vol_pages * ps, MADV_DONTFORK));
	fill(p, vol_pages, 12);
	ASSERT_EQ(0, sys_vrange(p, vol_pages * ps, VRANGE_VOLATILE, 0));
	purged0 = vmstat_counter("vrange_purged_anon");
	ASSERT_LE(0, purged0);
	TH_LOG("MemTotal %ld kB, MemAvailable %ld kB, volatile %zu kB, hog %zu kB",
	       total_kb, meminfo_kb("MemAvailable"), vol_pages * ps / 1024,
	       hog_pages * ps / 1024);

	start = now_ms();
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		char *hog;

		/* If anything is OOM-killed, let it be the hog, not the test. */
		write_str("/proc/self/oom_score_adj", "1000");
		hog = map_anon(hog_pages);
		if (!hog)
			_exit(2);
		for (i = 0; i < hog_pages; i++)
			hog[i * ps] = 1;
		_exit(0);
	}
	status = wait_child(child, HOG_WAIT_MS);
	purged1 = vmstat_counter("vrange_purged_anon");
	TH_LOG("hog done in %ld ms, status %#x, vrange_purged_anon +%ld pages",
	       now_ms() - start, status, purged1 - purged0);

	EXPECT_NE(-1, status) TH_LOG("the hog did not finish in %d s", HOG_WAIT_MS / 1000);
	EXPECT_FALSE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the hog was killed (OOM?)");
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(1, sys_vrange(p, vol_pages * ps, VRANGE_NOVOLATILE, 0));
	EXPECT_LT(purged0, purged1);

	munmap(p, vol_pages * ps);
}

/* Runs in the cgroup: 0 when its volatile memory was purged to make room. */
static int cgroup_child(const char *procs)
{
	size_t pages = (40UL << 20) / page_size(), len = pages * page_size();
	char *vol, *more;

	if (write_long(procs, getpid()))
		return 3;
	vol = map_anon(pages);
	if (!vol)
		return 3;
	fill(vol, pages, 13);
	if (sys_vrange(vol, len, VRANGE_VOLATILE, 0))
		return 4;
	more = map_anon(pages);
	if (!more)
		return 3;
	fill(more, pages, 14);
	return sys_vrange(vol, len, VRANGE_NOVOLATILE, 0) == 1 ? 0 : 2;
}

TEST_F_TIMEOUT(reclaim, cgroup_purges_its_own_volatile_memory_before_oom, 300)
{
	char dir[64], path[128];
	long oom_kill;
	int status, ret;
	pid_t child;

	if (!file_contains(CGROUP_ROOT "/cgroup.controllers", "memory"))
		SKIP(return, "no cgroup v2 memory controller");
	snprintf(dir, sizeof(dir), CGROUP_ROOT "/vrange_test_%d", getpid());
	write_str(CGROUP_ROOT "/cgroup.subtree_control", "+memory");
	ASSERT_EQ(0, mkdir(dir, 0755)) TH_LOG("mkdir %s: %s", dir, strerror(errno));

	snprintf(path, sizeof(path), "%s/memory.max", dir);
	ret = write_str(path, "64M");
	if (ret)
		SKIP(goto out, "cannot set memory.max: %s", strerror(-ret));
	snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
	write_str(path, "0");

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	child = fork();
	EXPECT_LE(0, child);
	if (child < 0)
		goto out;
	if (!child)
		_exit(cgroup_child(path));

	status = wait_child(child, HOG_WAIT_MS);
	EXPECT_NE(-1, status) TH_LOG("the child did not finish in %d s", CHILD_WAIT_MS / 1000);
	EXPECT_FALSE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the child was killed by signal 9: OOM instead of a purge");
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x (exit 2: nothing was purged, 3/4: setup failed)",
		       status);

	snprintf(path, sizeof(path), "%s/memory.events", dir);
	oom_kill = file_counter(path, "oom_kill");
	EXPECT_EQ(0, oom_kill);
out:
	/* The child is reaped; give the cgroup a moment to empty if it must. */
	for (ret = 0; ret < 100 && rmdir(dir) && errno == EBUSY; ret++)
		usleep(10000);
}

TEST_F(reclaim, vmstat_counters_follow_marks_purges_and_sigbus)
{
	size_t pages = 16, len = pages * page_size();
	long marked0, ranges0, purged0, sigbus0;
	char *p;

	marked0 = vmstat_counter("vrange_marked");
	ranges0 = vmstat_counter("vrange_purged_ranges");
	purged0 = vmstat_counter("vrange_purged_anon");
	sigbus0 = vmstat_counter("vrange_sigbus");
	ASSERT_LE(0, marked0);
	ASSERT_LE(0, ranges0);
	ASSERT_LE(0, purged0);
	ASSERT_LE(0, sigbus0);

	p = map_anon(pages);
	ASSERT_NE(NULL, p);
	fill(p, pages, 15);
	ASSERT_EQ(0, sys_vrange(p, len, VRANGE_VOLATILE, 0));
	EXPECT_LE(marked0 + 1, vmstat_counter("vrange_marked"));

	ASSERT_EQ(0, purge_now());
	EXPECT_LE(ranges0 + 1, vmstat_counter("vrange_purged_ranges"));
	EXPECT_LE(purged0 + (long)pages, vmstat_counter("vrange_purged_anon"));

	EXPECT_EQ(SIGBUS, probe_read(p));
	EXPECT_EQ(sigbus0 + 1, vmstat_counter("vrange_sigbus"));

	EXPECT_EQ(1, sys_vrange(p, len, VRANGE_NOVOLATILE, 0));
	munmap(p, len);
}

/*
 * A short race of everything at once: workers mark, unmark and check their
 * chunks while purges run from drop_caches and a forker keeps copying the
 * mm. The oracle: an unmark that reports 0 finds its data intact, and no
 * page ever holds anything but its data or zeroes.
 */
#define RACE_CHUNKS	16
#define RACE_PAGES	16
#define RACE_WORKERS	3

struct race {
	char *mem;
	int stop;
	long rounds, reported, lost_unreported, garbage;
};

static void *race_worker(void *arg)
{
	struct race *r = arg;
	static int next_id;
	int id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED) % RACE_WORKERS;
	int seed = id * 17 + 1;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		int c;

		for (c = id; c < RACE_CHUNKS; c += RACE_WORKERS) {
			char *p = r->mem + (size_t)c * RACE_PAGES * page_size();
			int i, zero = 0, intact = 0;
			long ret;

			seed = seed % 200 + 1;
			fill(p, RACE_PAGES, seed);
			sys_vrange(p, RACE_PAGES * page_size(), VRANGE_VOLATILE,
				   c & 1 ? VRANGE_PARTIAL : 0);
			sched_yield();
			ret = sys_vrange(p, RACE_PAGES * page_size(), VRANGE_NOVOLATILE, 0);
			for (i = 0; i < RACE_PAGES; i++) {
				int st = page_state(p, i, seed);

				if (st < 0)
					__atomic_fetch_add(&r->garbage, 1, __ATOMIC_RELAXED);
				else if (st == 0)
					zero++;
				else
					intact++;
			}
			if (ret == 1)
				__atomic_fetch_add(&r->reported, 1, __ATOMIC_RELAXED);
			else if (zero)
				__atomic_fetch_add(&r->lost_unreported, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&r->rounds, 1, __ATOMIC_RELAXED);
			seed++;
		}
	}
	return NULL;
}

static void *race_purger(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		purge_now();
	return NULL;
}

TEST_F_TIMEOUT(reclaim, marks_unmarks_purges_and_forks_race_without_loss, 120)
{
	pthread_t workers[RACE_WORKERS], purger;
	struct race r = { 0 };
	long forks = 0, end;
	int i, status;

	r.mem = map_anon(RACE_CHUNKS * RACE_PAGES);
	ASSERT_NE(NULL, r.mem);
	for (i = 0; i < RACE_WORKERS; i++)
		ASSERT_EQ(0, pthread_create(&workers[i], NULL, race_worker, &r));
	ASSERT_EQ(0, pthread_create(&purger, NULL, race_purger, &r));
	end = now_ms() + 5000;
	while (now_ms() < end) {
		pid_t pid = fork();

		if (!pid) {
			/* Touch a little, so COW and rmap are part of the race. */
			r.mem[0] = 1;
			_exit(0);
		}
		if (pid > 0 && waitpid(pid, &status, 0) == pid)
			forks++;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < RACE_WORKERS; i++)
		pthread_join(workers[i], NULL);
	pthread_join(purger, NULL);
	TH_LOG("%ld rounds, %ld reported a purge, %ld forks", r.rounds, r.reported, forks);
	EXPECT_LT(0, r.rounds);
	EXPECT_EQ(0, r.garbage) TH_LOG("pages held something else than their data or zeroes");
	EXPECT_EQ(0, r.lost_unreported) TH_LOG("unmark returned 0 but data was lost");
	munmap(r.mem, RACE_CHUNKS * RACE_PAGES * page_size());
}

TEST_HARNESS_MAIN
