// SPDX-License-Identifier: GPL-2.0
/*
 * An input fuzzer for vrange() and fvrange(): random and boundary arguments
 * (kernel addresses, 0 and ~0 lengths, wrap-around, unaligned, unknown
 * bits, every kind of fd), many thousands of calls. Each result is checked
 * against an oracle that applies the spec's checks in their documented
 * order, and after every error the ranges must be what they were.
 *
 * VRANGE_FUZZ_ITERS sets the number of calls of each test (default 20000),
 * VRANGE_FUZZ_SEED the seed (default: the time; it is printed).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <sys/utsname.h>
#include <linux/fs.h>
#include <linux/magic.h>

#include "../kselftest_harness.h"
#include "vrange_util.h"

#define BEHAVIORS	(VRANGE_PARTIAL | VRANGE_ZEROFILL)
#define MAX_LFS		((uint64_t)LLONG_MAX)	/* MAX_LFS_FILESIZE, 64-bit */
#define NO_ERROR	0

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static uint64_t pick(const uint64_t *v, size_t n)
{
	return v[rnd() % n];
}

static long iterations(void)
{
	const char *s = getenv("VRANGE_FUZZ_ITERS");

	return s ? atol(s) : 20000;
}

static void seed_rng(struct __test_metadata *_metadata)
{
	const char *s = getenv("VRANGE_FUZZ_SEED");

	rng = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) * 2654435761ULL + getpid();
	if (!rng)
		rng = 1;
	TH_LOG("seed %#llx (VRANGE_FUZZ_SEED reruns it)", (unsigned long long)rng);
}

/* The whole of a small file, or "" */
static void slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = 0, r;

	buf[0] = 0;
	if (fd < 0)
		return;
	while (n < (ssize_t)size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += r;
	buf[n > 0 ? n : 0] = 0;
	close(fd);
}

static int mode_errno(int mode, int behavior)
{
	if (mode != VRANGE_VOLATILE && mode != VRANGE_NOVOLATILE)
		return -EINVAL;
	if (behavior & ~BEHAVIORS)
		return -EINVAL;
	if (mode == VRANGE_NOVOLATILE && behavior)
		return -EINVAL;
	return NO_ERROR;
}

static int pick_mode(void)
{
	static const uint64_t v[] = { 0, 1, 2, 3, -1U, INT_MIN, INT_MAX, 0x100 };

	return rnd() % 4 ? (int)(rnd() & 1) : (int)pick(v, 8);
}

static int pick_behavior(void)
{
	static const uint64_t v[] = { 4, 8, 16, -1U, INT_MIN, 0x7, 0x80000001 };

	return rnd() % 4 ? (int)(rnd() % 4) : (int)pick(v, 7);
}

/* ------------------------------------------------------------- vrange() */

static unsigned long task_size;

/* vrange()'s errno for these arguments, or NO_ERROR */
static int vrange_oracle(unsigned long start, unsigned long len, int mode, int behavior)
{
	unsigned long ps = page_size(), alen = (len + ps - 1) & ~(ps - 1), end;
	int err = mode_errno(mode, behavior);

	if (err)
		return err;
	if (start & (ps - 1))
		return -EINVAL;
	if (!len || alen < len)
		return -EINVAL;
	end = start + alen;
	if (end < start || end > task_size)
		return -EINVAL;
	return NO_ERROR;
}

FIXTURE(fuzz) {
	size_t ps;
	char *map;
	size_t pages;
};

FIXTURE_SETUP(fuzz)
{
	const uint64_t ends[] = {
		(1ULL << 56) - page_size(), (1ULL << 47) - page_size(),
		(1ULL << 32) - 2 * page_size(), 3ULL << 30,
	};
	unsigned long ps = page_size();
	size_t i;

	if (!vrange_supported())
		SKIP(return, "no vrange() in this kernel");
	self->ps = ps;
	self->pages = 64;
	self->map = map_anon(self->pages);
	ASSERT_NE(NULL, self->map);
	/*
	 * The largest end: 56 bits with five-level paging, 47 bits, or a
	 * 32-bit process's 4 GiB less two pages (IA32_PAGE_OFFSET) or 3 GiB.
	 */
	task_size = 0;
	for (i = 0; i < ARRAY_SIZE(ends) && !task_size; i++) {
		unsigned long end = (unsigned long)ends[i];

		if (end != ends[i] || sys_vrange((void *)(end - ps), ps, VRANGE_VOLATILE, 0))
			continue;
		sys_vrange((void *)(end - ps), ps, VRANGE_NOVOLATILE, 0);
		if (sys_vrange((void *)end, ps, VRANGE_VOLATILE, 0) && errno == EINVAL)
			task_size = end;
	}
	ASSERT_NE(0, task_size);
	ASSERT_EQ(0, sys_vrange((void *)(task_size - ps), ps, VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, sys_vrange((void *)(task_size - ps), ps, VRANGE_NOVOLATILE, 0));
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->map) {
		sys_vrange(self->map, self->pages * self->ps, VRANGE_NOVOLATILE, 0);
		munmap(self->map, self->pages * self->ps);
	}
}

/* Two ranges that every call must leave as they were, unless it succeeds. */
static void vrange_baseline(char *map, size_t ps)
{
	sys_vrange(map + 8 * ps, 8 * ps, VRANGE_VOLATILE, 0);
	sys_vrange(map + 32 * ps, 4 * ps, VRANGE_VOLATILE, VRANGE_PARTIAL);
}

TEST_F_TIMEOUT(fuzz, vrange_random_arguments, 600)
{
	unsigned long ps = self->ps, m = (unsigned long)self->map;
	long n = iterations(), i, ok = 0, by_errno[4] = { 0 };
	static char before[8192], after[8192];

	seed_rng(_metadata);
	vrange_baseline(self->map, ps);
	slurp("/proc/self/vranges", before, sizeof(before));
	ASSERT_NE(0, before[0]) TH_LOG("no /proc/self/vranges");
	for (i = 0; i < n; i++) {
		const uint64_t starts[] = {
			0, ps, m, m + (rnd() % self->pages) * ps, m + 1 + rnd() % (ps - 1),
			(rnd() & ((1ULL << 47) - 1)) & ~(ps - 1), task_size - ps, task_size,
			task_size + ps, 0xffff888000000000ULL, 0xffffffff81000000ULL,
			~0UL & ~(ps - 1), rnd(), (1ULL << 47), (1ULL << 56) - ps,
		};
		unsigned long start = pick(starts, ARRAY_SIZE(starts));
		const uint64_t lens[] = {
			0, 1, ps - 1, ps, ps + 1, (rnd() % 128) * ps, rnd() % (64 * ps), rnd(),
			~0UL, ~0UL - ps + 2, task_size, task_size - start, -start, LONG_MAX,
		};
		unsigned long len = pick(lens, ARRAY_SIZE(lens));
		int mode = pick_mode(), behavior = pick_behavior();
		int want = vrange_oracle(start, len, mode, behavior);
		long ret = sys_vrange((void *)start, len, mode, behavior);
		int got = ret < 0 ? -errno : NO_ERROR;

		if (got != want || (ret >= 0 && ret != 0)) {
			TH_LOG("vrange(%#lx, %#lx, %d, %#x) = %ld (%d), the spec says %d",
			       start, len, mode, behavior, ret, got, want);
			ASSERT_EQ(want, got);
			ASSERT_EQ(0, ret);	/* nothing is purged here: unmark reports 0 */
		}
		if (ret < 0) {
			by_errno[got == -EINVAL ? 0 : got == -ENOMEM ? 1 : 2]++;
			if (i % 16 == 0) {
				slurp("/proc/self/vranges", after, sizeof(after));
				ASSERT_STREQ(before, after)
					TH_LOG("vrange(%#lx, %#lx, %d, %#x) failed, changed ranges",
					       start, len, mode, behavior);
			}
			continue;
		}
		ok++;
		/* put things back: the ranges are the baseline again */
		ASSERT_EQ(0, sys_vrange((void *)start, len, VRANGE_NOVOLATILE, 0));
		vrange_baseline(self->map, ps);
		if (i % 64 == 0) {
			slurp("/proc/self/vranges", after, sizeof(after));
			ASSERT_STREQ(before, after);
		}
	}
	slurp("/proc/self/vranges", after, sizeof(after));
	ASSERT_STREQ(before, after);
	TH_LOG("%ld calls: %ld succeeded, %ld EINVAL, %ld ENOMEM, %ld other", n, ok,
	       by_errno[0], by_errno[1], by_errno[2]);
}

/* ------------------------------------------------------------ fvrange() */

enum fd_kind {
	FD_MEMFD, FD_SEALED_WRITE, FD_SEALED_FUTURE, FD_RDONLY, FD_APPEND, FD_PIPE_R, FD_PIPE_W,
	FD_SOCKET, FD_DIR, FD_PATH, FD_CLOSED, FD_MINUS1, FD_PROC, FD_HUGETLB, FD_NR
};

struct fd_case {
	int fd;
	int err;	/* what every call with good arguments gets */
	const char *what;
};

static int sealed_memfd(unsigned int seals)
{
	int fd = memfd_create("fuzz-sealed", MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, 1 << 20) || fcntl(fd, F_ADD_SEALS, seals))
		return -1;
	return fd;
}

static void fd_cases(struct fd_case *c, size_t ps)
{
	int p[2] = { -1, -1 }, flags = FS_APPEND_FL;
	struct statfs st;

	memset(c, 0, sizeof(*c) * FD_NR);
	c[FD_MEMFD] = (struct fd_case){ memfd_create("fuzz", 0), NO_ERROR, "memfd" };
	if (c[FD_MEMFD].fd >= 0 && ftruncate(c[FD_MEMFD].fd, 64 * ps))
		c[FD_MEMFD].fd = -1;
	c[FD_SEALED_WRITE] = (struct fd_case){ sealed_memfd(F_SEAL_WRITE), -EPERM,
					       "F_SEAL_WRITE" };
	c[FD_SEALED_FUTURE] = (struct fd_case){ sealed_memfd(F_SEAL_FUTURE_WRITE), -EPERM,
						"F_SEAL_FUTURE_WRITE" };
	c[FD_RDONLY] = (struct fd_case){ open("/tmp/vrange-fuzz", O_RDWR | O_CREAT, 0600), -EPERM,
					 "O_RDONLY" };
	if (c[FD_RDONLY].fd >= 0) {
		close(c[FD_RDONLY].fd);
		c[FD_RDONLY].fd = open("/tmp/vrange-fuzz", O_RDONLY);
	}
	c[FD_APPEND] = (struct fd_case){ open("/tmp/vrange-fuzz-append", O_RDWR | O_CREAT, 0600),
					 -EPERM, "append-only" };
	if (c[FD_APPEND].fd >= 0 && ioctl(c[FD_APPEND].fd, FS_IOC_SETFLAGS, &flags)) {
		close(c[FD_APPEND].fd);
		c[FD_APPEND].fd = -1;		/* not root, or no fileattr: not fuzzed */
	}
	/* /tmp is tmpfs in the test guest; anywhere else it is "not shmem" */
	if (statfs("/tmp", &st) || st.f_type != TMPFS_MAGIC) {
		c[FD_RDONLY].err = -EOPNOTSUPP;
		c[FD_APPEND].err = -EOPNOTSUPP;
	}
	if (pipe(p)) {
		p[0] = -1;
		p[1] = -1;
	}
	c[FD_PIPE_R] = (struct fd_case){ p[0], -ESPIPE, "pipe (read end)" };
	c[FD_PIPE_W] = (struct fd_case){ p[1], -ESPIPE, "pipe (write end)" };
	c[FD_SOCKET] = (struct fd_case){ socket(AF_UNIX, SOCK_STREAM, 0), -EOPNOTSUPP, "socket" };
	c[FD_DIR] = (struct fd_case){ open("/tmp", O_RDONLY | O_DIRECTORY), -EOPNOTSUPP,
				      "directory" };
	c[FD_PATH] = (struct fd_case){ open("/tmp/vrange-fuzz", O_PATH), -EBADF, "O_PATH" };
	c[FD_CLOSED] = (struct fd_case){ 1000, -EBADF, "closed" };
	close(1000);
	c[FD_MINUS1] = (struct fd_case){ -1, -EBADF, "-1" };
	c[FD_PROC] = (struct fd_case){ open("/proc/self/status", O_RDWR), -EOPNOTSUPP, "procfs" };
	if (c[FD_PROC].fd < 0)
		c[FD_PROC].fd = open("/proc/sys/vm/drop_caches", O_RDWR);
	c[FD_HUGETLB] = (struct fd_case){ open("/dev/hugepages/vrange-fuzz", O_RDWR | O_CREAT,
					       0600), -EOPNOTSUPP, "hugetlbfs" };
}

static void fd_cases_close(struct fd_case *c)
{
	int flags = 0;

	if (c[FD_APPEND].fd >= 0)
		ioctl(c[FD_APPEND].fd, FS_IOC_SETFLAGS, &flags);
	for (int k = 0; k < FD_NR; k++)
		if (c[k].fd >= 0 && k != FD_CLOSED)
			close(c[k].fd);
	unlink("/tmp/vrange-fuzz");
	unlink("/tmp/vrange-fuzz-append");
	unlink("/dev/hugepages/vrange-fuzz");
}

/* fvrange()'s errno, in the documented order, or NO_ERROR */
/* ULONG_MAX of the kernel: a 32-bit program may run on a 64-bit one. */
static uint64_t kernel_ulong_max(void)
{
	struct utsname u;

	if (sizeof(long) == 8 || (!uname(&u) && strstr(u.machine, "64")))
		return UINT64_MAX;
	return UINT32_MAX;
}

static int fvrange_oracle(const struct fd_case *c, bool good_ptr, uint64_t off,
			  uint64_t len, int mode, int behavior)
{
	uint64_t ps = page_size(), alen = (len + ps - 1) & ~(ps - 1), end;
	int err = mode_errno(mode, behavior);

	if (err)
		return err;
	if (!good_ptr)
		return -EFAULT;
	if (off & (ps - 1))
		return -EINVAL;
	if (!len || alen < len)
		return -EINVAL;
	end = off + alen;
	/* The kernel's unsigned long, which a 32-bit caller's is not. */
	if (end < off || end > MAX_LFS || (end / ps) > (kernel_ulong_max() >> 3))
		return -EINVAL;
	return c->err;
}

static void read_fdinfo(int fd, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	slurp(path, buf, size);
}

TEST_F_TIMEOUT(fuzz, fvrange_random_arguments, 600)
{
	uint64_t ps = self->ps;
	long n = iterations(), i, ok = 0, by_kind[FD_NR] = { 0 };
	static char before[8192], after[8192];
	struct fvrange_range *good, *edge;
	struct fd_case c[FD_NR];
	struct fvrange_range baseline = { 8 * ps, 8 * ps };
	char *guard, *unaligned;
	int memfd;

	seed_rng(_metadata);
	fd_cases(c, ps);
	memfd = c[FD_MEMFD].fd;
	ASSERT_LE(0, memfd);
	/* a struct that ends where a PROT_NONE page starts, for partial copies */
	guard = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, guard);
	ASSERT_EQ(0, mprotect(guard + ps, ps, PROT_NONE));
	edge = (struct fvrange_range *)(guard + ps - 8);
	good = (struct fvrange_range *)guard;
	unaligned = guard + 1024 + 1;

	ASSERT_EQ(0, sys_fvrange(memfd, &baseline, VRANGE_VOLATILE, 0));
	read_fdinfo(memfd, before, sizeof(before));
	ASSERT_NE(NULL, strstr(before, "vrange:")) TH_LOG("no vrange lines in fdinfo");
	for (i = 0; i < n; i++) {
		static const uint64_t offs_fixed[] = {
			0, 4096, 1, 4095, MAX_LFS, MAX_LFS & ~4095ULL, 1ULL << 63, ~0ULL,
			~0ULL & ~4095ULL, 1ULL << 32, (1ULL << 44) - 4096,
		};
		uint64_t off = rnd() % 3 ? (rnd() % 64) * ps : pick(offs_fixed, 11);
		const uint64_t lens[] = {
			0, 1, ps - 1, ps, ps + 1, (rnd() % 64) * ps, rnd() % (64 * ps), rnd(),
			~0ULL, ~0ULL - ps + 2, MAX_LFS, MAX_LFS - off, -off, 1ULL << 40,
		};
		uint64_t len = pick(lens, ARRAY_SIZE(lens));
		int kind = rnd() % 2 ? FD_MEMFD : (int)(rnd() % FD_NR);
		int mode = pick_mode(), behavior = pick_behavior(), ptr = rnd() % 8;
		struct fvrange_range r = { off, len }, *arg;
		bool good_ptr = true;
		int want, got;
		long ret;

		if (c[kind].fd < 0 && kind != FD_MINUS1)
			kind = FD_MEMFD;
		switch (ptr) {
		case 0:
			arg = NULL;
			good_ptr = false;
			break;
		case 1:
			arg = (struct fvrange_range *)0xffff888000000000UL;
			good_ptr = false;
			break;
		case 2:
			arg = edge;	/* half of it readable */
			good_ptr = false;
			break;
		case 3:
			memcpy(unaligned, &r, sizeof(r));
			arg = (struct fvrange_range *)unaligned;
			break;
		default:
			*good = r;
			arg = good;
		}
		want = fvrange_oracle(&c[kind], good_ptr, off, len, mode, behavior);
		ret = sys_fvrange(c[kind].fd, arg, mode, behavior);
		got = ret < 0 ? -errno : NO_ERROR;
		if (got != want || (ret >= 0 && ret != 0)) {
			TH_LOG("fvrange(%s, {%#llx, %#llx}%s, %d, %#x) = %ld (%d), spec: %d",
			       c[kind].what, (unsigned long long)off, (unsigned long long)len,
			       good_ptr ? "" : " (bad pointer)", mode, behavior, ret, got, want);
			ASSERT_EQ(want, got);
			ASSERT_EQ(0, ret);
		}
		by_kind[kind]++;
		if (ret < 0) {
			if (i % 16 == 0) {
				read_fdinfo(memfd, after, sizeof(after));
				ASSERT_STREQ(before, after);
			}
			continue;
		}
		ok++;
		ASSERT_EQ(0, sys_fvrange(memfd, &r, VRANGE_NOVOLATILE, 0));
		ASSERT_EQ(0, sys_fvrange(memfd, &baseline, VRANGE_VOLATILE, 0));
		if (i % 64 == 0) {
			read_fdinfo(memfd, after, sizeof(after));
			ASSERT_STREQ(before, after);
		}
	}
	read_fdinfo(memfd, after, sizeof(after));
	ASSERT_STREQ(before, after);
	TH_LOG("%ld calls, %ld succeeded; by fd:", n, ok);
	for (int k = 0; k < FD_NR; k++)
		if (c[k].fd >= 0 || k == FD_MINUS1)
			TH_LOG("  %-20s %ld calls", c[k].what, by_kind[k]);
	fd_cases_close(c);
	munmap(guard, 2 * ps);
}

TEST_HARNESS_MAIN
