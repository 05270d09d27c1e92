// SPDX-License-Identifier: GPL-2.0
/*
 * vrange(): the ABI and the semantics of volatile anonymous memory.
 *
 * Every error of the spec, each leaving the state as it was; the purge
 * report of NOVOLATILE, exact per part; SIGBUS, zero-fill and EFAULT on
 * purged memory; fork, exec, munmap, mmap and mremap keeping ranges true.
 * Purges are made deterministic with drop_caches (vm.drop_caches=2 runs the
 * shrinkers). Reclaim under real pressure is in vrange_reclaim_test.c.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "vrange_util.h"

/* Tests of the ABI: they need vrange(), nothing else. */
FIXTURE(vrange) {};

FIXTURE_SETUP(vrange)
{
	if (!vrange_supported())
		SKIP(return, "vrange() is not supported");
}

FIXTURE_TEARDOWN(vrange)
{
}

/* Tests that purge, with vm.drop_caches, which needs root. */
FIXTURE(purge) {};

FIXTURE_SETUP(purge)
{
	if (!vrange_supported())
		SKIP(return, "vrange() is not supported");
	if (geteuid())
		SKIP(return, "purging with drop_caches needs root");
}

FIXTURE_TEARDOWN(purge)
{
}

static long vol_kb(void)
{
	return status_kb(0, "VmVolatile");
}

/* ------------------------------------------------------------- errors */

TEST_F(vrange, unaligned_start_is_einval)
{
	char *p;

	p = map_anon(2);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(-1, sys_vrange(p + 1, page_size(), VRANGE_VOLATILE, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, sys_vrange(p + 1, page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, vol_kb());
	munmap(p, 2 * page_size());
}

TEST_F(vrange, zero_length_is_einval)
{
	char *p;

	p = map_anon(1);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(-1, sys_vrange(p, 0, VRANGE_VOLATILE, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, sys_vrange(p, 0, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, vol_kb());
	munmap(p, page_size());
}

TEST_F(vrange, overflowing_range_is_einval)
{
	void *top = (void *)(UINTPTR_MAX & ~(page_size() - 1));

	/* start + len wraps around */
	EXPECT_EQ(-1, sys_vrange(top, 2 * page_size(), VRANGE_VOLATILE, 0));
	EXPECT_EQ(EINVAL, errno);
	/* len rounds up past the end of the address space */
	EXPECT_EQ(-1, sys_vrange((void *)page_size(), SIZE_MAX, VRANGE_VOLATILE, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, sys_vrange((void *)page_size(), SIZE_MAX - page_size() + 2,
				 VRANGE_VOLATILE, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, vol_kb());
}

TEST_F(vrange, range_beyond_task_size_is_einval)
{
	/* The top page is never user memory, whatever the paging depth. */
	void *top = (void *)(UINTPTR_MAX & ~(page_size() - 1));
	uintptr_t kaddr;

	EXPECT_EQ(-1, sys_vrange(top, page_size() - 1, VRANGE_VOLATILE, 0));
	EXPECT_EQ(EINVAL, errno);
	/* A kernel address (a 32-bit process has none: its top page again). */
	kaddr = sizeof(void *) == 8 ? (uintptr_t)(~0ULL << 47) : UINTPTR_MAX;
	EXPECT_EQ(-1, sys_vrange((void *)(kaddr & ~(page_size() - 1)),
				 page_size(), VRANGE_VOLATILE, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, vol_kb());
}

TEST_F(vrange, unknown_mode_is_einval)
{
	char *p;

	p = map_anon(1);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(-1, sys_vrange(p, page_size(), 2, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, sys_vrange(p, page_size(), -1, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, vol_kb());
	munmap(p, page_size());
}

TEST_F(vrange, unknown_behavior_bit_is_einval)
{
	char *p;

	p = map_anon(1);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(-1, sys_vrange(p, page_size(), VRANGE_VOLATILE, 1 << 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, sys_vrange(p, page_size(), VRANGE_VOLATILE, INT32_MIN));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, vol_kb());
	munmap(p, page_size());
}

TEST_F(vrange, behavior_with_novolatile_is_einval)
{
	char *p;

	p = map_anon(1);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, sys_vrange(p, page_size(), VRANGE_VOLATILE, 0));
	EXPECT_EQ(-1, sys_vrange(p, page_size(), VRANGE_NOVOLATILE, VRANGE_PARTIAL));
	EXPECT_EQ(EINVAL, errno);
	/* ...and the range is still volatile. */
	EXPECT_EQ(page_size() / 1024, vol_kb());
	EXPECT_EQ(0, sys_vrange(p, page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, page_size());
}

/* ------------------------------------------------------------- marking */

TEST_F(vrange, length_is_rounded_up_to_pages)
{
	char *p;

	p = map_anon(4);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, sys_vrange(p, 1, VRANGE_VOLATILE, 0));
	EXPECT_EQ(page_size() / 1024, vol_kb());
	ASSERT_EQ(0, sys_vrange(p, page_size() + 1, VRANGE_VOLATILE, 0));
	EXPECT_EQ(2 * page_size() / 1024, vol_kb());
	EXPECT_EQ(0, sys_vrange(p, 4 * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, vol_kb());
	munmap(p, 4 * page_size());
}

TEST_F(vrange, marking_is_idempotent_and_overlaps_merge)
{
	char *p;

	p = map_anon(16);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, sys_vrange(p, 8 * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, sys_vrange(p, 8 * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, sys_vrange(p + 4 * page_size(), 8 * page_size(), VRANGE_VOLATILE, 0));
	EXPECT_EQ(12 * page_size() / 1024, vol_kb());
	/* A hole in the middle splits the range. */
	EXPECT_EQ(0, sys_vrange(p + 2 * page_size(), 2 * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(10 * page_size() / 1024, vol_kb());
	EXPECT_EQ(0, sys_vrange(p, 16 * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, vol_kb());
	munmap(p, 16 * page_size());
}

TEST_F(vrange, unmarking_memory_never_marked_reports_zero)
{
	char *p;

	p = map_anon(4);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, sys_vrange(p, 4 * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, 4 * page_size());
}

TEST_F(vrange, unmapped_addresses_can_be_marked)
{
	char *p;

	p = map_anon(4);
	ASSERT_NE(NULL, p);
	munmap(p, 4 * page_size());
	/* vrange() checks no VMAs. */
	EXPECT_EQ(0, sys_vrange(p, 4 * page_size(), VRANGE_VOLATILE, 0));
	/* ...but a mapping created there later is not volatile. */
	ASSERT_EQ(p, mmap(p, 4 * page_size(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	EXPECT_EQ(0, vol_kb());
	munmap(p, 4 * page_size());
}

/* ------------------------------------------------------------- purges */

TEST_F(purge, purge_then_unmark_reports_one_and_zeroes)
{
	const size_t n = 16;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 1);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(1, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	/* After unmark, the memory is writable zeroes. */
	EXPECT_TRUE(all_zero(p, n));
	fill(p, n, 2);
	EXPECT_TRUE(all_intact(p, n, 2));
	/* The report was returned: a second unmark reports nothing. */
	EXPECT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, n * page_size());
}

TEST_F(vrange, unmark_without_purge_reports_zero_and_keeps_data)
{
	const size_t n = 16;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 3);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_intact(p, n, 3));
	munmap(p, n * page_size());
}

TEST_F(purge, purge_of_one_part_does_not_taint_another)
{
	const size_t n = 16;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	/* Only the first half holds data; one mark covers both halves. */
	fill(p, n / 2, 4);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(p + n / 2 * page_size(), n / 2 * page_size(),
				VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(1, sys_vrange(p, n / 2 * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, n * page_size());
}

TEST_F(purge, separate_marks_report_separately)
{
	const size_t n = 8;
	char *a, *b;

	a = map_anon(2 * n);
	ASSERT_NE(NULL, a);
	b = a + n * page_size();
	fill(a, n, 5);
	/* b is marked first, but holds nothing to purge. */
	ASSERT_EQ(0, sys_vrange(b, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, sys_vrange(a, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(b, n * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(1, sys_vrange(a, n * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(a, 2 * n * page_size());
}

TEST_F(purge, remark_keeps_the_purge_report)
{
	const size_t n = 8;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 6);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, VRANGE_ZEROFILL));
	EXPECT_EQ(1, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, n * page_size());
}

TEST_F(purge, full_range_is_purged_whole)
{
	const size_t n = 64;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 7);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, VRANGE_FULL));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(1, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_zero(p, n));
	munmap(p, n * page_size());
}

TEST_F(purge, partial_range_loses_whole_pages_only)
{
	const size_t n = 64;
	size_t i, kept = 0, lost = 0;
	char *p;
	long ret;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 8);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, VRANGE_PARTIAL));
	ASSERT_EQ(0, purge_now());
	ret = sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0);
	ASSERT_TRUE(ret == 0 || ret == 1);
	for (i = 0; i < n; i++) {
		int st = page_state(p, i, 8);

		ASSERT_NE(-1, st);
		st ? kept++ : lost++;
	}
	/* The report is true: 1 exactly when something was lost. */
	EXPECT_EQ(ret, lost > 0);
	TH_LOG("PARTIAL: %zu pages kept, %zu purged", kept, lost);
	munmap(p, n * page_size());
}

/* ------------------------------------------------------------- faults */

TEST_F_SIGNAL(purge, touching_purged_volatile_memory_raises_sigbus, SIGBUS)
{
	const size_t n = 4;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 9);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	__atomic_load_n(p, __ATOMIC_RELAXED);
	TH_LOG("no SIGBUS");
}

TEST_F(purge, sigbus_only_while_volatile_and_purged)
{
	const size_t n = 4;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 10);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	/* Not purged yet: reads work and see the data. */
	EXPECT_EQ(0, probe_read(p));
	EXPECT_TRUE(all_intact(p, n, 10));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(SIGBUS, probe_read(p));
	EXPECT_EQ(SIGBUS, probe_read(p + (n - 1) * page_size()));
	EXPECT_EQ(1, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, probe_read(p));
	EXPECT_TRUE(all_zero(p, n));
	munmap(p, n * page_size());
}

TEST_F(purge, zerofill_reads_zeroes_after_purge)
{
	const size_t n = 4;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 11);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, VRANGE_ZEROFILL));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, probe_read(p));
	EXPECT_TRUE(all_zero(p, n));
	/* Writing is allowed too; the report still says purged. */
	p[0] = 1;
	EXPECT_EQ(1, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, n * page_size());
}

TEST_F(purge, syscall_into_purged_memory_is_efault)
{
	const size_t n = 2;
	int fds[2];
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 12);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(5, write(fds[1], "hello", 5));
	EXPECT_EQ(-1, read(fds[0], p, 5));
	EXPECT_EQ(EFAULT, errno);
	/* A write(2) from it fails the same way. */
	EXPECT_EQ(-1, write(fds[1], p + page_size(), 5));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(1, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(5, read(fds[0], p, 5));
	EXPECT_EQ(0, memcmp(p, "hello", 5));
	close(fds[0]);
	close(fds[1]);
	munmap(p, n * page_size());
}

static siginfo_t bus_si;
static sigjmp_buf bus_jmp;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	bus_si = *si;
	siglongjmp(bus_jmp, 1);
}

TEST_F(purge, sigbus_says_bus_adrerr_and_the_address)
{
	struct sigaction sa = { .sa_sigaction = bus_handler, .sa_flags = SA_SIGINFO };
	struct sigaction old;
	const size_t n = 4;
	char *p, *where;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 13);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	where = p + 2 * page_size() + 123;
	memset(&bus_si, 0, sizeof(bus_si));
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, &old));
	if (!sigsetjmp(bus_jmp, 1))
		__atomic_load_n(where, __ATOMIC_RELAXED);
	sigaction(SIGBUS, &old, NULL);
	EXPECT_EQ(SIGBUS, bus_si.si_signo);
	EXPECT_EQ(BUS_ADRERR, bus_si.si_code);
	EXPECT_EQ(where, (char *)bus_si.si_addr);
	EXPECT_EQ(1, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, n * page_size());
}

TEST_F(purge, process_vm_readv_of_purged_memory_is_efault)
{
	const size_t n = 2, ps = page_size();
	char *p, *buf = malloc(ps);
	struct iovec local = { buf, ps }, remote;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, buf);
	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 14);
	remote.iov_base = p;
	remote.iov_len = ps;
	ASSERT_EQ(0, sys_vrange(p, n * ps, VRANGE_VOLATILE, 0));
	/* Before the purge: read as any memory. */
	ASSERT_EQ((ssize_t)ps, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(0, memcmp(buf, p, ps));
	ASSERT_EQ(0, purge_now());
	errno = 0;
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	/* From another process (a debugger, say) the same. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(process_vm_readv(getppid(), &local, 1, &remote, 1, 0) == -1 &&
		      errno == EFAULT ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(1, sys_vrange(p, n * ps, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ((ssize_t)ps, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_TRUE(all_zero(buf, 1));
	munmap(p, n * ps);
	free(buf);
}

/* ------------------------------------------------------------- lifetime */

TEST_F(vrange, fork_child_inherits_ranges)
{
	const size_t n = 8;
	int status;
	pid_t pid;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 13);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (vol_kb() != (long)(n * page_size() / 1024))
			_exit(1);
		if (sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0) != 0)
			_exit(2);
		_exit(vol_kb() == 0 && all_intact(p, n, 13) ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The child's unmark is its own. */
	EXPECT_EQ(n * page_size() / 1024, vol_kb());
	EXPECT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, n * page_size());
}

TEST_F(purge, fork_child_inherits_purged_state)
{
	const size_t n = 8;
	int status;
	pid_t pid;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 14);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (probe_read(p) != SIGBUS)
			_exit(1);
		_exit(sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0) == 1 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, n * page_size());
}

TEST_F(purge, cow_page_volatile_everywhere_is_purged)
{
	const size_t n = 8;
	int go[2], status;
	pid_t pid;
	char *p, c;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 31);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* The child shares every page, volatile as inherited. */
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0) == 1 &&
		      all_zero(p, n) ? 0 : 2);
	}
	ASSERT_EQ(0, purge_now());
	/* Both mappings went: the pages are free, and both were told. */
	EXPECT_EQ(1, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_zero(p, n));
	c = 1;
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(go[0]);
	close(go[1]);
	munmap(p, n * page_size());
}

TEST_F(vrange, exec_starts_with_no_ranges)
{
	int fds[2], status;
	char buf[4096];
	ssize_t len = 0, r;
	char *p, *line;
	pid_t pid;

	if (access("/bin/cat", X_OK))
		SKIP(return, "no /bin/cat to exec");
	p = map_anon(8);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, sys_vrange(p, 8 * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		dup2(fds[1], 1);
		execl("/bin/cat", "cat", "/proc/self/status", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while ((r = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += r;
	buf[len] = 0;
	close(fds[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	line = strstr(buf, "VmVolatile:");
	ASSERT_NE(NULL, line);
	EXPECT_EQ(0, strtol(line + strlen("VmVolatile:"), NULL, 10));
	EXPECT_EQ(0, sys_vrange(p, 8 * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, 8 * page_size());
}

TEST_F(purge, munmap_and_new_mmap_is_not_volatile)
{
	const size_t n = 8;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 15);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, munmap(p, n * page_size()));
	EXPECT_EQ(0, vol_kb());
	ASSERT_EQ(p, mmap(p, n * page_size(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	fill(p, n, 16);
	ASSERT_EQ(0, purge_now());
	EXPECT_TRUE(all_intact(p, n, 16));
	EXPECT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, n * page_size());
}

TEST_F(purge, map_fixed_replacement_is_not_volatile)
{
	const size_t n = 8;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	/* Replace the middle: only the outer parts stay volatile. */
	ASSERT_EQ(p + 2 * page_size(),
		  mmap(p + 2 * page_size(), 4 * page_size(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	EXPECT_EQ(4 * page_size() / 1024, vol_kb());
	fill(p, n, 17);
	ASSERT_EQ(0, purge_now());
	EXPECT_TRUE(all_intact(p + 2 * page_size(), 4, 17 + 2 * 7));
	EXPECT_EQ(1, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, n * page_size());
}

TEST_F(purge, mremap_carries_volatility)
{
	const size_t n = 8;
	char *p, *q, *dst;

	p = map_anon(n);
	dst = map_anon(n);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, dst);
	fill(p, n, 18);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	q = mremap(p, n * page_size(), n * page_size(), MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, q);
	EXPECT_EQ(n * page_size() / 1024, vol_kb());
	/* The old addresses are not volatile any more. */
	EXPECT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(n * page_size() / 1024, vol_kb());
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(1, sys_vrange(q, n * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_zero(q, n));
	munmap(q, n * page_size());
}

TEST_F(vrange, mremap_growth_is_not_volatile)
{
	const size_t n = 4;
	char *p, *q;

	/* Reserve 2n pages, keep the first n mapped, mark all 2n volatile. */
	p = map_anon(2 * n);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, munmap(p + n * page_size(), n * page_size()));
	ASSERT_EQ(0, sys_vrange(p, 2 * n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	/* Growing in place takes the marked, unmapped pages: not volatile. */
	q = mremap(p, n * page_size(), 2 * n * page_size(), 0);
	ASSERT_EQ(p, q);
	EXPECT_EQ(0, vol_kb());
	munmap(p, 2 * n * page_size());
}

TEST_F(purge, shared_and_file_mappings_are_left_alone)
{
	const size_t n = 4;
	char *p;

	p = mmap(NULL, n * page_size(), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, n, 19);
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	EXPECT_TRUE(all_intact(p, n, 19));
	EXPECT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	munmap(p, n * page_size());
}

TEST_F(purge, mseal_read_only_memory_is_never_purged)
{
	const size_t n = 4;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	fill(p, n, 20);
	ASSERT_EQ(0, mprotect(p, n * page_size(), PROT_READ));
	if (syscall(462 /* mseal */, p, n * page_size(), 0))
		SKIP(munmap(p, n * page_size()); return, "mseal: %s", strerror(errno));
	/* The call succeeds: vrange() checks no VMAs. */
	ASSERT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(0, sys_vrange(p, n * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_TRUE(all_intact(p, n, 20));
}

TEST_F(vrange, status_shows_volatile_bytes)
{
	char *p;

	EXPECT_EQ(0, vol_kb());
	p = map_anon(32);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, sys_vrange(p, 32 * page_size(), VRANGE_VOLATILE, 0));
	EXPECT_EQ(32 * page_size() / 1024, vol_kb());
	ASSERT_EQ(0, sys_vrange(p, 32 * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, vol_kb());
	munmap(p, 32 * page_size());
}

TEST_F(purge, interleaved_volatile_pages_spare_their_neighbours)
{
	const size_t n = 64;
	int round;
	char *p;

	p = map_anon(n);
	ASSERT_NE(NULL, p);
	/* Every odd page volatile, every even one not: purge keeps the evens. */
	for (round = 0; round < 4; round++) {
		size_t i;

		fill(p, n, 21 + round);
		for (i = 1; i < n; i += 2)
			ASSERT_EQ(0, sys_vrange(p + i * page_size(), page_size(),
						VRANGE_VOLATILE, 0));
		ASSERT_EQ(0, purge_now());
		for (i = 0; i < n; i += 2)
			ASSERT_EQ(1, page_state(p, i, 21 + round));
		for (i = 1; i < n; i += 2)
			ASSERT_EQ(1, sys_vrange(p + i * page_size(), page_size(),
						VRANGE_NOVOLATILE, 0));
	}
	munmap(p, n * page_size());
}

/* Read /proc/<pid>/vranges into @buf; returns its length or -errno. */
static ssize_t read_vranges(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t len = 0, r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/vranges", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	while ((r = read(fd, buf + len, size - 1 - len)) > 0)
		len += r;
	close(fd);
	buf[len] = 0;
	return r < 0 ? -errno : len;
}

TEST_F(purge, proc_vranges_lists_each_range)
{
	char buf[4096], line[128];
	char *p;

	p = map_anon(8);
	ASSERT_NE(NULL, p);
	fill(p, 2, 30);
	ASSERT_EQ(0, sys_vrange(p, 2 * page_size(), VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, sys_vrange(p + 4 * page_size(), 4 * page_size(), VRANGE_VOLATILE,
				VRANGE_PARTIAL | VRANGE_ZEROFILL));
	ASSERT_LT(0, read_vranges(getpid(), buf, sizeof(buf)));
	snprintf(line, sizeof(line), "%08lx-%08lx volatile purged=0 behavior=full\n",
		 (unsigned long)p, (unsigned long)p + 2 * page_size());
	EXPECT_NE(NULL, strstr(buf, line)) TH_LOG("no \"%s\" in:\n%s", line, buf);
	snprintf(line, sizeof(line), "%08lx-%08lx volatile purged=0 behavior=partial,zerofill\n",
		 (unsigned long)p + 4 * page_size(), (unsigned long)p + 8 * page_size());
	EXPECT_NE(NULL, strstr(buf, line)) TH_LOG("no \"%s\" in:\n%s", line, buf);

	ASSERT_EQ(0, purge_now());
	ASSERT_LT(0, read_vranges(getpid(), buf, sizeof(buf)));
	snprintf(line, sizeof(line), "%08lx-%08lx volatile purged=1 behavior=full\n",
		 (unsigned long)p, (unsigned long)p + 2 * page_size());
	EXPECT_NE(NULL, strstr(buf, line)) TH_LOG("no \"%s\" in:\n%s", line, buf);

	EXPECT_EQ(1, sys_vrange(p, 8 * page_size(), VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, read_vranges(getpid(), buf, sizeof(buf)));
	munmap(p, 8 * page_size());
}

TEST_F(purge, proc_vranges_follows_ptrace_rules)
{
	int ready[2], done[2], status;
	pid_t owner, snoop;
	char buf[256], c;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	owner = fork();
	ASSERT_LE(0, owner);
	if (!owner) {
		char *p = map_anon(1);

		sys_vrange(p, page_size(), VRANGE_VOLATILE, 0);
		c = 1;
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	/* The owner's ranges are readable by root... */
	EXPECT_LT(0, read_vranges(owner, buf, sizeof(buf)));
	/* ...and not by another, unprivileged user. */
	snoop = fork();
	ASSERT_LE(0, snoop);
	if (!snoop) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(read_vranges(owner, buf, sizeof(buf)) == -EACCES ? 0 : 3);
	}
	ASSERT_EQ(snoop, waitpid(snoop, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("an unprivileged user read another's vranges");
	c = 1;
	ASSERT_EQ(1, write(done[1], &c, 1));
	ASSERT_EQ(owner, waitpid(owner, &status, 0));
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
}

#define TRACEFS "/sys/kernel/tracing/"

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	int ret;

	if (fd < 0)
		return -1;
	ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return ret;
}

TEST_F(purge, tracepoints_report_mark_unmark_and_purge)
{
	static char buf[65536];
	ssize_t len = 0, r;
	char *p;
	int fd;

	if (access(TRACEFS "events/vrange/enable", W_OK))
		SKIP(return, "no vrange trace events (CONFIG_TRACING, tracefs)");
	ASSERT_EQ(0, write_str(TRACEFS "trace", ""));
	ASSERT_EQ(0, write_str(TRACEFS "events/vrange/enable", "1"));
	p = map_anon(4);
	ASSERT_NE(NULL, p);
	fill(p, 4, 32);
	EXPECT_EQ(0, sys_vrange(p, 4 * page_size(), VRANGE_VOLATILE, VRANGE_PARTIAL));
	EXPECT_EQ(0, purge_now());
	EXPECT_EQ(1, sys_vrange(p, 4 * page_size(), VRANGE_NOVOLATILE, 0));
	write_str(TRACEFS "events/vrange/enable", "0");
	munmap(p, 4 * page_size());

	fd = open(TRACEFS "trace", O_RDONLY);
	ASSERT_LE(0, fd);
	while ((r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += r;
	buf[len] = 0;
	close(fd);
	EXPECT_NE(NULL, strstr(buf, "vrange_mark:")) TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "behavior=0x1"));
	EXPECT_NE(NULL, strstr(buf, "vrange_purge:"));
	EXPECT_NE(NULL, strstr(buf, "pages=4"));
	EXPECT_NE(NULL, strstr(buf, "vrange_unmark:"));
	EXPECT_NE(NULL, strstr(buf, "purged=1"));
}

TEST_HARNESS_MAIN
