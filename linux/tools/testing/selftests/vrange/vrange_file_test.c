// SPDX-License-Identifier: GPL-2.0
/*
 * fvrange(): volatile ranges of shmem, tmpfs and memfd files.
 *
 * The ranges belong to the file: every process that has it open or mapped
 * shares them, one can mark and another unmark. A purge punches a hole;
 * a mapped touch of a purged page of a still-volatile range raises SIGBUS
 * (VRANGE_ZEROFILL: zeroes), read(2) sees the hole, and copied-on-write
 * pages of MAP_PRIVATE mappings stay. The ranges go with the last open
 * file (a mapping keeps its file open); fdinfo shows them.
 *
 * Purges are made deterministic with drop_caches, which needs root.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <linux/memfd.h>

#include "../kselftest_harness.h"
#include "vrange_util.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define CHILD_WAIT_MS	20000
#define HOG_WAIT_MS	200000	/* a debug kernel under TCG is slow */

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

/* A memfd of @pages pages, each filled with its pattern (fill()). */
static int memfd_filled(size_t pages, int seed, unsigned int flags)
{
	size_t len = pages * page_size();
	int fd = memfd_create("vrange", flags);
	char *p;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, len))
		goto fail;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	fill(p, pages, seed);
	munmap(p, len);
	return fd;
fail:
	close(fd);
	return -1;
}

/* Read @pages pages of @fd at page @first with pread(2). */
static char *read_pages(int fd, size_t first, size_t pages)
{
	size_t len = pages * page_size();
	char *buf = malloc(len);

	if (buf && pread(fd, buf, len, (off_t)first * page_size()) != (ssize_t)len) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Bytes of memory the file holds (st_blocks). */
static long file_resident(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : (long)st.st_blocks * 512;
}

/* How many "vrange:" lines /proc/self/fdinfo/<fd> has; with @line, the first. */
static int fdinfo_ranges(int fd, char *line, size_t size)
{
	char path[64], buf[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "vrange:", 7))
			continue;
		if (!n++ && line)
			snprintf(line, size, "%s", buf);
	}
	fclose(f);
	return n;
}

/* Reopen @fd through /proc with @flags: a new open file description. */
static int reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags);
}

FIXTURE(file) {
	int fd;
	size_t ps;
	char dir[64];	/* a private tmpfs, mounted by the tests that need one */
};

FIXTURE_SETUP(file)
{
	self->fd = -1;
	self->ps = page_size();
	self->dir[0] = 0;
	if (!fvrange_supported())
		SKIP(return, "fvrange() is not supported");
}

FIXTURE_TEARDOWN(file)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->dir[0]) {
		umount2(self->dir, MNT_DETACH);
		rmdir(self->dir);
	}
}

/* A filesystem of its own for the test (needs root), at @dir. */
static int mount_fs(char *dir, const char *fstype)
{
	snprintf(dir, 64, "/tmp/vrange.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (mount("none", dir, fstype, 0, NULL)) {
		rmdir(dir);
		dir[0] = 0;
		return -1;
	}
	return 0;
}

TEST_F(file, bad_arguments_get_einval_and_change_nothing)
{
	size_t ps = self->ps;

	self->fd = memfd_filled(4, 1, 0);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, 0, ps, 2, 0));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, 0, ps, -1, 0));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, 0, ps, VRANGE_VOLATILE, 4));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, 0, ps, VRANGE_VOLATILE, -1));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, 0, ps, VRANGE_NOVOLATILE, VRANGE_PARTIAL));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, 1, ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, ps / 2, ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, 0, 0, VRANGE_VOLATILE, 0));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, 0, ~0ULL, VRANGE_VOLATILE, 0));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, ~0ULL & ~(uint64_t)(ps - 1), 2 * ps,
				   VRANGE_VOLATILE, 0));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, 1ULL << 63, ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(-EINVAL, fvr_err(self->fd, 0, 1ULL << 63, VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, fdinfo_ranges(self->fd, NULL, 0));
	/* A length rounds up to a page, as for madvise(). */
	EXPECT_EQ(0, fvr(self->fd, 0, 1, VRANGE_VOLATILE, 0));
	EXPECT_EQ(1, fdinfo_ranges(self->fd, NULL, 0));
	EXPECT_EQ(0, fvr(self->fd, 0, ps, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, fdinfo_ranges(self->fd, NULL, 0));
}

TEST_F(file, bad_pointer_gets_efault)
{
	void *none = mmap(NULL, self->ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, none);
	self->fd = memfd_filled(1, 1, 0);
	ASSERT_LE(0, self->fd);
	errno = 0;
	EXPECT_EQ(-1, sys_fvrange(self->fd, NULL, VRANGE_VOLATILE, 0));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, sys_fvrange(self->fd, none, VRANGE_VOLATILE, 0));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, sys_fvrange(self->fd, (void *)-4096L, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, fdinfo_ranges(self->fd, NULL, 0));
	munmap(none, self->ps);
}

TEST_F(file, fds_that_are_not_writable_shmem_files_are_refused)
{
	size_t ps = self->ps;
	int pipefd[2], sv[2], fd, closed;
	char path[128];

	/* Bad, closed and O_PATH descriptors: EBADF. */
	EXPECT_EQ(-EBADF, fvr_err(-1, 0, ps, VRANGE_VOLATILE, 0));
	closed = memfd_create("closed", 0);
	ASSERT_LE(0, closed);
	close(closed);
	EXPECT_EQ(-EBADF, fvr_err(closed, 0, ps, VRANGE_VOLATILE, 0));
	fd = open("/dev/shm", O_PATH);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADF, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
	close(fd);

	/* A pipe: ESPIPE, as lseek says. */
	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(-ESPIPE, fvr_err(pipefd[0], 0, ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(-ESPIPE, fvr_err(pipefd[1], 0, ps, VRANGE_NOVOLATILE, 0));
	close(pipefd[0]);
	close(pipefd[1]);

	/* Not a shmem file: a socket, a directory, a procfs file, ramfs. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(-EOPNOTSUPP, fvr_err(sv[0], 0, ps, VRANGE_VOLATILE, 0));
	close(sv[0]);
	close(sv[1]);
	fd = open("/dev/shm", O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EOPNOTSUPP, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
	close(fd);
	fd = open("/proc/self/status", O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EOPNOTSUPP, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
	close(fd);
	if (!geteuid() && !mount_fs(self->dir, "ramfs")) {
		snprintf(path, sizeof(path), "%s/file", self->dir);
		fd = open(path, O_RDWR | O_CREAT, 0600);
		ASSERT_LE(0, fd);
		EXPECT_EQ(-EOPNOTSUPP, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
		close(fd);
	} else {
		TH_LOG("no ramfs mount: the non-shmem regular file case is not run");
	}

	/* hugetlbfs is not shmem either. */
	fd = memfd_create("huge", MFD_HUGETLB);
	if (fd >= 0) {
		EXPECT_EQ(-EOPNOTSUPP, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
		close(fd);
	} else {
		TH_LOG("no MFD_HUGETLB (%s): the hugetlbfs case is not run", strerror(errno));
	}

	/* Not open for writing: EPERM, in both modes. */
	self->fd = memfd_filled(2, 1, 0);
	ASSERT_LE(0, self->fd);
	fd = reopen(self->fd, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EPERM, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(-EPERM, fvr_err(fd, 0, ps, VRANGE_NOVOLATILE, 0));
	close(fd);
	EXPECT_EQ(0, fdinfo_ranges(self->fd, NULL, 0));
}

TEST_F(file, immutable_and_append_only_files_are_refused)
{
	size_t ps = self->ps;
	char path[128];
	int flags, fd;

	if (geteuid())
		SKIP(return, "chattr +i needs root");
	ASSERT_EQ(0, mount_fs(self->dir, "tmpfs"));
	snprintf(path, sizeof(path), "%s/file", self->dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 * ps));
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags))
		SKIP(close(fd); return, "no FS_IOC_GETFLAGS on tmpfs (CONFIG_TMPFS_XATTR)");
	flags |= FS_APPEND_FL;
	ASSERT_EQ(0, ioctl(fd, FS_IOC_SETFLAGS, &flags));
	EXPECT_EQ(-EPERM, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
	flags = (flags & ~FS_APPEND_FL) | FS_IMMUTABLE_FL;
	ASSERT_EQ(0, ioctl(fd, FS_IOC_SETFLAGS, &flags));
	EXPECT_EQ(-EPERM, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(-EPERM, fvr_err(fd, 0, ps, VRANGE_NOVOLATILE, 0));
	flags &= ~FS_IMMUTABLE_FL;
	ASSERT_EQ(0, ioctl(fd, FS_IOC_SETFLAGS, &flags));
	EXPECT_EQ(0, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
	close(fd);
}

/*
 * Another user's file: an unprivileged process may read it and map it, but
 * neither fvrange() on its read-only fd nor vrange() on its mappings
 * (private or shared) lets it make the owner's data disappear.
 */
TEST_F(file, unprivileged_user_cannot_purge_another_users_file)
{
	size_t ps = self->ps, n = 4;
	int status, fd, ready[2];
	char path[128], c = 0;
	pid_t pid;
	char *buf;

	if (geteuid())
		SKIP(return, "needs root to switch users");
	ASSERT_EQ(0, mount_fs(self->dir, "tmpfs"));
	ASSERT_EQ(0, chmod(self->dir, 0755));
	snprintf(path, sizeof(path), "%s/root-owned", self->dir);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, n * ps));
	buf = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, buf);
	fill(buf, n, 21);
	munmap(buf, n * ps);
	self->fd = fd;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *priv, *shared;
		int ro;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		/* No write access: not even an fd that could mark it. */
		if (open(path, O_RDWR) != -1 || errno != EACCES)
			_exit(3);
		ro = open(path, O_RDONLY);
		if (ro < 0)
			_exit(4);
		if (fvr_err(ro, 0, n * ps, VRANGE_VOLATILE, 0) != -EPERM)
			_exit(5);
		/* Its own mappings: vrange() takes them, the file is untouched. */
		priv = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
		shared = mmap(NULL, n * ps, PROT_READ, MAP_SHARED, ro, 0);
		if (priv == MAP_FAILED || shared == MAP_FAILED)
			_exit(6);
		priv[0] = 1;	/* one private copy, which is its own */
		if (sys_vrange(priv, n * ps, VRANGE_VOLATILE, 0) ||
		    sys_vrange(shared, n * ps, VRANGE_VOLATILE, 0))
			_exit(7);
		if (write(ready[1], &c, 1) != 1)
			_exit(8);
		pause();	/* mapped while the parent purges */
		_exit(0);
	}
	close(ready[1]);
	/* EOF: the child failed before it was ready, and says why below. */
	if (read(ready[0], &c, 1) == 1)
		ASSERT_EQ(0, purge_now());
	close(ready[0]);
	ASSERT_EQ(0, purge_now());
	ASSERT_EQ(0, purge_now());
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	/* Killed by the parent, not exited early with a failure code. */
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("child exited with %d", WEXITSTATUS(status));
	buf = read_pages(fd, 0, n);
	ASSERT_NE(NULL, buf);
	EXPECT_TRUE(all_intact(buf, n, 21)) TH_LOG("the owner's data changed");
	EXPECT_EQ(0, fdinfo_ranges(fd, NULL, 0));
	free(buf);
}

/*
 * Offsets past 4 GiB keep their high bits all the way (a 32-bit caller's
 * struct fvrange_range is the same __u64 pair): the range at 4 GiB + 8 KiB
 * is purged, the page at 8 KiB, with the same low 32 bits, is not.
 */
TEST_F(file, offsets_above_4gib_keep_their_high_bits)
{
	const uint64_t high = (4ULL << 30) + 2 * self->ps;
	size_t ps = self->ps;
	char line[128], want[128];
	char *page = malloc(ps), *buf;

	ASSERT_NE(NULL, page);
	self->fd = memfd_create("vrange-4g", 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, (off_t)(5ULL << 30)));
	memset(page, 0x5a, ps);
	ASSERT_EQ((ssize_t)ps, pwrite(self->fd, page, ps, 2 * ps));
	ASSERT_EQ((ssize_t)ps, pwrite(self->fd, page, ps, (off_t)high));
	ASSERT_EQ(0, fvr_err(self->fd, high, ps, VRANGE_VOLATILE, 0));
	ASSERT_EQ(1, fdinfo_ranges(self->fd, line, sizeof(line)));
	snprintf(want, sizeof(want), "vrange:\t%08llx-%08llx volatile purged=0",
		 (unsigned long long)high, (unsigned long long)(high + ps));
	EXPECT_EQ(0, strncmp(line, want, strlen(want))) TH_LOG("fdinfo: %s", line);
	ASSERT_EQ(0, purge_now());
	EXPECT_EQ(1, fvr_err(self->fd, high, ps, VRANGE_NOVOLATILE, 0));
	buf = read_pages(self->fd, high / ps, 1);
	ASSERT_NE(NULL, buf);
	EXPECT_TRUE(all_zero(buf, 1));
	free(buf);
	buf = read_pages(self->fd, 2, 1);
	ASSERT_NE(NULL, buf);
	EXPECT_EQ(0, memcmp(buf, page, ps)) TH_LOG("the page at 8 KiB was purged");
	free(buf);
	free(page);
}

TEST_F(file, sealed_memfd_cannot_be_marked)
{
	size_t ps = self->ps;
	int fd;

	fd = memfd_create("sealed", MFD_ALLOW_SEALING);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 * ps));
	ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(-EPERM, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(-EPERM, fvr_err(fd, 0, ps, VRANGE_NOVOLATILE, 0));
	close(fd);

	fd = memfd_create("future", MFD_ALLOW_SEALING);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 * ps));
	ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	EXPECT_EQ(-EPERM, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
	close(fd);

	/* Other seals do not stop it. */
	fd = memfd_create("grow", MFD_ALLOW_SEALING);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 * ps));
	ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK));
	EXPECT_EQ(0, fvr_err(fd, 0, ps, VRANGE_VOLATILE, 0));
	close(fd);
}

TEST_F(file, file_sealed_after_marking_is_never_purged)
{
	size_t ps = self->ps;
	char *buf;

	if (geteuid())
		SKIP(return, "purging needs root");
	self->fd = memfd_filled(8, 2, MFD_ALLOW_SEALING);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, fvr(self->fd, 0, 8 * ps, VRANGE_VOLATILE, 0));
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(0, purge_now());
	buf = read_pages(self->fd, 0, 8);
	ASSERT_NE(NULL, buf);
	EXPECT_TRUE(all_intact(buf, 8, 2));
	free(buf);
	/* Sealed, its volatility cannot be changed either. */
	EXPECT_EQ(-EPERM, fvr_err(self->fd, 0, 8 * ps, VRANGE_NOVOLATILE, 0));
}

TEST_F(file, shrink_sealed_file_reads_zeroes_not_sigbus)
{
	size_t ps = self->ps;
	char *p;

	if (geteuid())
		SKIP(return, "purging needs root");
	self->fd = memfd_filled(4, 12, MFD_ALLOW_SEALING);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, fvr(self->fd, 0, 4 * ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, purge_now());
	/* F_SEAL_SHRINK promises the mappers of the file no SIGBUS. */
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_SHRINK));
	p = mmap(NULL, 4 * ps, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, probe_read(p + ps));
	EXPECT_TRUE(all_zero(p, 4));
	EXPECT_EQ(1, fvr(self->fd, 0, 4 * ps, VRANGE_NOVOLATILE, 0));
	munmap(p, 4 * ps);
}

TEST_F(file, mark_purge_unmark_reports_and_data_is_zero)
{
	size_t ps = self->ps;
	long purged0, purged1;
	char *buf, *p;

	if (geteuid())
		SKIP(return, "purging needs root");
	self->fd = memfd_filled(16, 3, 0);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(16 * (long)ps, file_resident(self->fd));
	/* Not purged: unmark reports 0 and the data is there. */
	ASSERT_EQ(0, fvr(self->fd, 0, 16 * ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, fvr(self->fd, 0, 16 * ps, VRANGE_NOVOLATILE, 0));
	buf = read_pages(self->fd, 0, 16);
	ASSERT_NE(NULL, buf);
	EXPECT_TRUE(all_intact(buf, 16, 3));
	free(buf);

	/* Pages 4..11 volatile and purged; the rest keep their data. */
	purged0 = vmstat_counter("vrange_purged_file");
	ASSERT_EQ(0, fvr(self->fd, 4 * ps, 8 * ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, purge_now());
	purged1 = vmstat_counter("vrange_purged_file");
	EXPECT_EQ(8, purged1 - purged0);
	EXPECT_EQ(8 * (long)ps, file_resident(self->fd));
	/* read(2) sees a hole while it is volatile. */
	buf = read_pages(self->fd, 0, 16);
	ASSERT_NE(NULL, buf);
	EXPECT_TRUE(all_intact(buf, 4, 3));
	EXPECT_TRUE(all_zero(buf + 4 * ps, 8));
	for (size_t i = 12; i < 16; i++)
		EXPECT_EQ(1, page_state(buf, i, 3));
	free(buf);
	/* The report is exact for the range asked about. */
	EXPECT_EQ(0, fvr(self->fd, 0, 4 * ps, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(1, fvr(self->fd, 6 * ps, 2 * ps, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(1, fvr(self->fd, 0, 16 * ps, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, fvr(self->fd, 0, 16 * ps, VRANGE_NOVOLATILE, 0));
	/* Non-volatile again, the hole is plain zero-fill memory. */
	p = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, probe_read(p + 5 * ps));
	EXPECT_TRUE(all_zero(p + 4 * ps, 8));
	EXPECT_EQ(1, page_state(p, 3, 3));
	munmap(p, 16 * ps);
}

TEST_F(file, one_process_marks_another_unmarks)
{
	size_t ps = self->ps;
	int status, ready[2];
	pid_t child;
	char c;

	if (geteuid())
		SKIP(return, "purging needs root");
	self->fd = memfd_filled(8, 4, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, pipe(ready));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		/* B: its own open file description of the same memfd. */
		int fd = reopen(self->fd, O_RDWR);

		close(self->fd);
		if (fd < 0 || read(ready[0], &c, 1) != 1)
			_exit(3);
		if (fdinfo_ranges(fd, NULL, 0) != 1)
			_exit(4);
		_exit(fvr(fd, 0, 8 * ps, VRANGE_NOVOLATILE, 0) == 1 ? 0 : 5);
	}
	/* A marks and purges; B unmarks and gets the report. */
	ASSERT_EQ(0, fvr(self->fd, 0, 8 * ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, purge_now());
	ASSERT_EQ(1, write(ready[1], "x", 1));
	status = wait_child(child, CHILD_WAIT_MS);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x", status);
	/* Unmarked by B, for A too. */
	EXPECT_EQ(0, fdinfo_ranges(self->fd, NULL, 0));
	EXPECT_EQ(0, fvr(self->fd, 0, 8 * ps, VRANGE_NOVOLATILE, 0));
	close(ready[0]);
	close(ready[1]);
}

TEST_F(file, mapped_touch_of_purged_page_raises_sigbus)
{
	size_t ps = self->ps;
	long sigbus0;
	char *p;

	if (geteuid())
		SKIP(return, "purging needs root");
	self->fd = memfd_filled(4, 5, 0);
	ASSERT_LE(0, self->fd);
	p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, fvr(self->fd, 0, 2 * ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, purge_now());
	sigbus0 = vmstat_counter("vrange_sigbus");
	EXPECT_EQ(SIGBUS, probe_read(p));
	EXPECT_EQ(SIGBUS, probe_read(p + ps + 100));
	EXPECT_EQ(sigbus0 + 2, vmstat_counter("vrange_sigbus"));
	EXPECT_EQ(1, page_state(p, 2, 5));
	/* The touch allocated nothing. */
	EXPECT_EQ(2 * (long)ps, file_resident(self->fd));
	EXPECT_EQ(1, fvr(self->fd, 0, 2 * ps, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, probe_read(p));
	EXPECT_TRUE(all_zero(p, 2));
	munmap(p, 4 * ps);
}

TEST_F(file, zerofill_range_reads_zeroes_after_purge)
{
	size_t ps = self->ps;
	char *p;

	if (geteuid())
		SKIP(return, "purging needs root");
	self->fd = memfd_filled(4, 6, 0);
	ASSERT_LE(0, self->fd);
	p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, fvr(self->fd, 0, 4 * ps, VRANGE_VOLATILE, VRANGE_ZEROFILL));
	EXPECT_EQ(0, purge_now());
	EXPECT_EQ(0, probe_read(p + ps));
	EXPECT_TRUE(all_zero(p, 4));
	EXPECT_EQ(1, fvr(self->fd, 0, 4 * ps, VRANGE_NOVOLATILE, 0));
	munmap(p, 4 * ps);
}

TEST_F(file, map_private_cow_pages_survive_a_purge)
{
	size_t ps = self->ps;
	char *priv;

	if (geteuid())
		SKIP(return, "purging needs root");
	self->fd = memfd_filled(4, 7, 0);
	ASSERT_LE(0, self->fd);
	priv = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, priv);
	/* Pages 0 and 1 copied on write; 2 and 3 still the file's. */
	memset(priv, 0x5a, 2 * ps);
	EXPECT_EQ(1, page_state(priv, 2, 7));
	ASSERT_EQ(0, fvr(self->fd, 0, 4 * ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, purge_now());
	EXPECT_EQ(0, file_resident(self->fd));
	/* The copies are anonymous memory: not the file's to lose. */
	EXPECT_EQ(0x5a, priv[0]);
	EXPECT_EQ(0x5a, priv[2 * ps - 1]);
	/* Pages not yet copied read the file, and see what MAP_SHARED sees. */
	EXPECT_EQ(SIGBUS, probe_read(priv + 2 * ps));
	EXPECT_EQ(1, fvr(self->fd, 0, 4 * ps, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, probe_read(priv + 3 * ps));
	EXPECT_TRUE(all_zero(priv + 2 * ps, 2));
	EXPECT_EQ(0x5a, priv[ps]);
	munmap(priv, 4 * ps);
}

TEST_F(file, fdinfo_shows_the_ranges)
{
	size_t ps = self->ps;
	char line[256], want[128];

	self->fd = memfd_filled(8, 8, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, fvr(self->fd, 2 * ps, 2 * ps, VRANGE_VOLATILE, VRANGE_PARTIAL));
	ASSERT_EQ(0, fvr(self->fd, 6 * ps, ps, VRANGE_VOLATILE, VRANGE_ZEROFILL));
	EXPECT_EQ(2, fdinfo_ranges(self->fd, line, sizeof(line)));
	snprintf(want, sizeof(want), "vrange:\t%08zx-%08zx volatile purged=0 behavior=partial\n",
		 2 * ps, 4 * ps);
	EXPECT_STREQ(want, line);
	/* Ranges past the end of the file and above 4 GiB are fine. */
	ASSERT_EQ(0, fvr(self->fd, 5ULL << 30, ps, VRANGE_VOLATILE, 0));
	EXPECT_EQ(3, fdinfo_ranges(self->fd, NULL, 0));
	EXPECT_EQ(0, fvr(self->fd, 0, 6ULL << 30, VRANGE_NOVOLATILE, 0));
	EXPECT_EQ(0, fdinfo_ranges(self->fd, NULL, 0));
}

TEST_F(file, last_close_drops_the_ranges_and_a_mapping_keeps_them)
{
	size_t ps = self->ps;
	char path[128], *p, *buf;
	int fd;

	if (geteuid())
		SKIP(return, "needs root (mount, drop_caches)");
	ASSERT_EQ(0, mount_fs(self->dir, "tmpfs"));
	snprintf(path, sizeof(path), "%s/file", self->dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 8 * ps));
	p = mmap(NULL, 8 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, 8, 9);
	munmap(p, 8 * ps);

	/* Marked, then closed with no mapping: the ranges are gone. */
	ASSERT_EQ(0, fvr(fd, 0, 8 * ps, VRANGE_VOLATILE, 0));
	close(fd);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fdinfo_ranges(fd, NULL, 0));
	EXPECT_EQ(0, purge_now());
	buf = read_pages(fd, 0, 8);
	ASSERT_NE(NULL, buf);
	EXPECT_TRUE(all_intact(buf, 8, 9)) TH_LOG("purged after the last close");
	free(buf);

	/* Marked, closed, but still mapped: they stay, and are purged. */
	ASSERT_EQ(0, fvr(fd, 0, 8 * ps, VRANGE_VOLATILE, 0));
	p = mmap(NULL, 8 * ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	EXPECT_EQ(0, purge_now());
	EXPECT_EQ(SIGBUS, probe_read(p + ps));
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, fdinfo_ranges(fd, NULL, 0));
	EXPECT_EQ(1, fvr(fd, 0, 8 * ps, VRANGE_NOVOLATILE, 0));
	munmap(p, 8 * ps);
	close(fd);
}

/*
 * The ring buffer of the 2013 thread: a producer and a consumer share a
 * memfd; the consumer marks what it has consumed volatile, the producer
 * unmarks a slot before it writes it. Whatever purges run, no unconsumed
 * byte is lost, and the file holds little more than the unconsumed slots.
 */
#define RING_SLOTS	32
#define SLOT_PAGES	16

struct ring_ctl {
	unsigned long head, tail;	/* slots produced, consumed */
	unsigned long bad, stop;
	unsigned long rounds;		/* drop_caches runs or hogs done */
};

static void slot_fill(char *slot, unsigned long seq)
{
	size_t i, n = SLOT_PAGES * page_size() / sizeof(unsigned long);

	for (i = 0; i < n; i++)
		((unsigned long *)slot)[i] = seq * 1000003 + i;
}

static bool slot_ok(const char *slot, unsigned long seq)
{
	size_t i, n = SLOT_PAGES * page_size() / sizeof(unsigned long);

	for (i = 0; i < n; i++)
		if (((const unsigned long *)slot)[i] != seq * 1000003 + i)
			return false;
	return true;
}

static bool ring_stopped(struct ring_ctl *ctl)
{
	return __atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE);
}

static void ring_producer(int fd, char *ring, struct ring_ctl *ctl)
{
	size_t slot_len = SLOT_PAGES * page_size();
	unsigned long seq;

	for (seq = 0; !ring_stopped(ctl); seq++) {
		size_t i = seq % RING_SLOTS;

		while (seq - __atomic_load_n(&ctl->tail, __ATOMIC_ACQUIRE) >= RING_SLOTS) {
			if (ring_stopped(ctl))
				return;
			sched_yield();
		}
		if (fvr(fd, i * slot_len, slot_len, VRANGE_NOVOLATILE, 0) < 0)
			__atomic_add_fetch(&ctl->bad, 1, __ATOMIC_RELAXED);
		slot_fill(ring + i * slot_len, seq);
		__atomic_store_n(&ctl->head, seq + 1, __ATOMIC_RELEASE);
	}
}

static void ring_consumer(int fd, char *ring, struct ring_ctl *ctl)
{
	size_t slot_len = SLOT_PAGES * page_size();
	unsigned long seq;

	for (seq = 0; !ring_stopped(ctl); seq++) {
		size_t i = seq % RING_SLOTS;

		while (__atomic_load_n(&ctl->head, __ATOMIC_ACQUIRE) <= seq) {
			if (ring_stopped(ctl))
				return;
			sched_yield();
		}
		if (!slot_ok(ring + i * slot_len, seq))
			__atomic_add_fetch(&ctl->bad, 1, __ATOMIC_RELAXED);
		if (fvr(fd, i * slot_len, slot_len, VRANGE_VOLATILE, 0))
			__atomic_add_fetch(&ctl->bad, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&ctl->tail, seq + 1, __ATOMIC_RELEASE);
	}
}

/*
 * Run the ring until @rounds purges by drop_caches, or @rounds memory hogs
 * (one is enough, and all a debug kernel under TCG fits in its time),
 * have run, and for at least a second.
 */
static void run_ring(struct __test_metadata *_metadata, unsigned long rounds, bool hog)
{
	size_t ps = page_size(), slot_len = SLOT_PAGES * ps, len = RING_SLOTS * slot_len;
	long purged0 = vmstat_counter("vrange_purged_file"), purged1, start = now_ms();
	pid_t prod, cons, stress;
	struct ring_ctl *ctl;
	int fd, st_p, st_c;
	char *ring;

	fd = memfd_create("ring", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, len));
	ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, ring);
	ctl = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ctl);

	prod = fork();
	ASSERT_LE(0, prod);
	if (!prod) {
		ring_producer(fd, ring, ctl);
		_exit(0);
	}
	cons = fork();
	ASSERT_LE(0, cons);
	if (!cons) {
		ring_consumer(fd, ring, ctl);
		_exit(0);
	}
	stress = fork();
	ASSERT_LE(0, stress);
	if (!stress) {
		/* Pressure: hogs that touch more than fits, one after another. */
		while (!__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE)) {
			size_t hog_pages = ((size_t)meminfo_kb("MemAvailable") + (64 << 10)) *
					   1024 / ps, i;
			pid_t h;
			char *p;

			if (!hog) {
				/*
				 * One run a round: the consumer keeps marking,
				 * so purge_now() would rarely see two runs in
				 * a row that purge nothing.
				 */
				write_drop_caches();
				__atomic_add_fetch(&ctl->rounds, 1, __ATOMIC_RELEASE);
				continue;
			}
			h = fork();
			if (h < 0)
				_exit(2);
			if (!h) {
				/* If anything is OOM-killed, let it be the hog. */
				write_str("/proc/self/oom_score_adj", "1000");
				p = map_anon(hog_pages);
				for (i = 0; p && i < hog_pages && !ctl->stop; i++)
					p[i * ps] = 1;
				_exit(0);
			}
			waitpid(h, NULL, 0);
			__atomic_add_fetch(&ctl->rounds, 1, __ATOMIC_RELEASE);
		}
		_exit(0);
	}
	while ((__atomic_load_n(&ctl->rounds, __ATOMIC_ACQUIRE) < rounds ||
		now_ms() - start < 1000) && now_ms() - start < HOG_WAIT_MS)
		usleep(10000);
	__atomic_store_n(&ctl->stop, 1, __ATOMIC_RELEASE);
	st_p = wait_child(prod, CHILD_WAIT_MS);
	st_c = wait_child(cons, CHILD_WAIT_MS);
	wait_child(stress, CHILD_WAIT_MS);
	purged1 = vmstat_counter("vrange_purged_file");
	TH_LOG("%lu slots produced in %ld ms, %lu consumed, %lu %s, vrange_purged_file +%ld pages",
	       ctl->head, now_ms() - start, ctl->tail, ctl->rounds,
	       hog ? "hogs" : "drop_caches", purged1 - purged0);
	EXPECT_TRUE(WIFEXITED(st_p) && !WEXITSTATUS(st_p));
	EXPECT_TRUE(WIFEXITED(st_c) && !WEXITSTATUS(st_c));
	EXPECT_EQ(0, ctl->bad) TH_LOG("unconsumed data lost or a call failed");
	EXPECT_LE(rounds, ctl->rounds);
	EXPECT_LT(RING_SLOTS, ctl->tail);
	EXPECT_LT(purged0, purged1) TH_LOG("no purge happened while the ring ran");

	/* Leave 5 slots unconsumed: after a purge the file holds just those. */
	EXPECT_LE(0, fvr(fd, 0, len, VRANGE_NOVOLATILE, 0));
	memset(ring, 1, len);
	slot_fill(ring, 1);
	EXPECT_EQ(0, fvr(fd, 5 * slot_len, len - 5 * slot_len, VRANGE_VOLATILE, 0));
	EXPECT_EQ(0, purge_now());
	EXPECT_EQ(5 * (long)slot_len, file_resident(fd));
	EXPECT_TRUE(slot_ok(ring, 1));
	munmap(ctl, ps);
	munmap(ring, len);
	close(fd);
}

TEST_F_TIMEOUT(file, ring_buffer_loses_nothing_under_drop_caches, 300)
{
	if (geteuid())
		SKIP(return, "purging needs root");
	run_ring(_metadata, 200, false);
}

TEST_F_TIMEOUT(file, ring_buffer_loses_nothing_under_memory_pressure, 300)
{
	if (geteuid())
		SKIP(return, "a hog may need oom_score_adj");
	run_ring(_metadata, 1, true);
}

TEST_F_TIMEOUT(file, memory_hog_succeeds_by_purging_a_volatile_memfd, 300)
{
	size_t ps = self->ps, vol_pages, hog_pages, i;
	long total_kb, purged0, start;
	int status;
	pid_t child;

	if (geteuid())
		SKIP(return, "a hog may need oom_score_adj");
	total_kb = meminfo_kb("MemTotal");
	ASSERT_LT(0, total_kb);
	/* 40% volatile plus 60% for the hog: both cannot fit. */
	vol_pages = (size_t)total_kb / 10 * 4 * 1024 / ps;
	hog_pages = (size_t)total_kb / 10 * 6 * 1024 / ps;
	self->fd = memfd_filled(vol_pages, 11, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, fvr(self->fd, 0, vol_pages * ps, VRANGE_VOLATILE, VRANGE_PARTIAL));
	purged0 = vmstat_counter("vrange_purged_file");

	start = now_ms();
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		char *hog;

		write_str("/proc/self/oom_score_adj", "1000");
		hog = map_anon(hog_pages);
		if (!hog)
			_exit(2);
		for (i = 0; i < hog_pages; i++)
			hog[i * ps] = 1;
		_exit(0);
	}
	status = wait_child(child, HOG_WAIT_MS);
	TH_LOG("hog of %zu kB done in %ld ms, status %#x, vrange_purged_file +%ld pages",
	       hog_pages * ps / 1024, now_ms() - start, status,
	       vmstat_counter("vrange_purged_file") - purged0);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("the hog failed or was killed (OOM?)");
	EXPECT_LT(purged0, vmstat_counter("vrange_purged_file"));
	EXPECT_EQ(1, fvr(self->fd, 0, vol_pages * ps, VRANGE_NOVOLATILE, 0));
}

/*
 * Purges racing truncate, fallocate (punch and allocate) and faults on one
 * file. Only the second half is ever made volatile, truncated or punched;
 * the first half must keep its data throughout.
 */
#define RACE_PAGES	64

struct race {
	int fd;
	char *map;
	bool stop;		/* read and written with __atomic builtins */
	unsigned long ops[4];
};

static void *race_truncate(void *arg)
{
	struct race *r = arg;
	size_t ps = page_size();

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (!ftruncate(r->fd, (RACE_PAGES / 2 + r->ops[0] % 8) * ps))
			r->ops[0]++;
		if (!ftruncate(r->fd, RACE_PAGES * ps))
			r->ops[0]++;
	}
	return NULL;
}

static void *race_fallocate(void *arg)
{
	struct race *r = arg;
	size_t ps = page_size();

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		off_t off = (RACE_PAGES / 2 + r->ops[1] % (RACE_PAGES / 2)) * ps;

		if (!fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, 2 * ps))
			r->ops[1]++;
		if (!fallocate(r->fd, FALLOC_FL_KEEP_SIZE, off, 4 * ps))
			r->ops[1]++;
	}
	return NULL;
}

static void *race_mark(void *arg)
{
	struct race *r = arg;
	size_t ps = page_size();

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		static const int behaviors[] = { 0, VRANGE_PARTIAL, VRANGE_ZEROFILL,
						 VRANGE_PARTIAL | VRANGE_ZEROFILL };
		int b = behaviors[r->ops[2] % 4];

		if (!fvr(r->fd, RACE_PAGES / 2 * ps, RACE_PAGES / 2 * ps, VRANGE_VOLATILE, b))
			r->ops[2]++;
		if (fvr(r->fd, (RACE_PAGES / 2 + r->ops[2] % 16) * ps, 4 * ps,
			VRANGE_NOVOLATILE, 0) >= 0)
			r->ops[2]++;
	}
	return NULL;
}

TEST_F_TIMEOUT(file, purge_races_truncate_fallocate_and_faults, 120)
{
	size_t ps = self->ps, half = RACE_PAGES / 2 * ps, i;
	pthread_t th[3];
	long sigbus = 0, deadline;
	struct race r = {};

	if (geteuid())
		SKIP(return, "purging needs root");
	r.fd = memfd_filled(RACE_PAGES, 10, 0);
	ASSERT_LE(0, r.fd);
	r.map = mmap(NULL, RACE_PAGES * ps, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
	ASSERT_NE(MAP_FAILED, r.map);
	ASSERT_EQ(0, pthread_create(&th[0], NULL, race_truncate, &r));
	ASSERT_EQ(0, pthread_create(&th[1], NULL, race_fallocate, &r));
	ASSERT_EQ(0, pthread_create(&th[2], NULL, race_mark, &r));
	deadline = now_ms() + 4000;
	while (now_ms() < deadline) {
		purge_now();
		/* Faults into the second half: SIGBUS only where purged. */
		for (i = half; i < RACE_PAGES * ps; i += 4 * ps)
			sigbus += probe_read(r.map + i) != 0;
		r.ops[3]++;
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	TH_LOG("%lu purge rounds, %lu truncates, %lu fallocates, %lu marks, %ld faults failed",
	       r.ops[3], r.ops[0], r.ops[1], r.ops[2], sigbus);
	EXPECT_TRUE(all_intact(r.map, RACE_PAGES / 2, 10));
	munmap(r.map, RACE_PAGES * ps);
	close(r.fd);
}

TEST_HARNESS_MAIN
