/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the vrange selftests. */
#ifndef VRANGE_UTIL_H
#define VRANGE_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/vrange.h>

#ifndef __NR_vrange
#define __NR_vrange 463
#endif
#ifndef __NR_fvrange
#define __NR_fvrange 464
#endif

static inline long sys_vrange(void *start, size_t len, int mode, int behavior)
{
	return syscall(__NR_vrange, (unsigned long)start, len, mode, behavior);
}

static inline long sys_fvrange(int fd, const struct fvrange_range *range,
			       int mode, int behavior)
{
	return syscall(__NR_fvrange, fd, range, mode, behavior);
}

static inline size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static inline long status_kb(pid_t pid, const char *field);

/*
 * Is vrange() there? Number 463 means another syscall on later kernels,
 * so ENOSYS is not enough: a kernel with vrange shows VmVolatile.
 */
static inline bool vrange_supported(void)
{
	if (status_kb(0, "VmVolatile") < 0)
		return false;
	return sys_vrange(NULL, 0, VRANGE_VOLATILE, 0) == -1 && errno == EINVAL;
}

static inline long vmstat_counter(const char *name);

static inline int write_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	int ret;

	if (fd < 0)
		return -1;
	ret = write(fd, "2\n", 2) == 2 ? 0 : -1;
	close(fd);
	return ret;
}

/*
 * Run the shrinkers until they purge nothing more: a deterministic purge.
 * The vrange shrinker has seeks = 0, so each run asks it for half of what
 * it counts, and a count smaller than twice what one run asks waits for
 * the next run (nr_deferred): two runs in a row that purge nothing mean
 * that nothing purgeable is left.
 */
static inline int purge_now(void)
{
	long before = vmstat_counter("vrange_purged_ranges"), after;
	int i, idle = 0;

	for (i = 0; i < 64 && idle < 2; i++) {
		if (write_drop_caches())
			return -1;
		after = vmstat_counter("vrange_purged_ranges");
		if (before < 0)
			return 0;	/* no vrange counters: once is all */
		idle = after == before ? idle + 1 : 0;
		before = after;
	}
	return 0;
}

/* A field of /proc/<pid>/status in kB ("VmVolatile"), or -1. */
static inline long status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid ? pid : getpid());
	f = fopen(path, "r");
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

/* A counter of /proc/vmstat or /proc/meminfo-like file, or -1. */
static inline long file_counter(const char *file, const char *name)
{
	char key[128];
	long val, found = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%127s %ld%*[^\n]", key, &val) == 2) {
		size_t n = strlen(key);

		if (n && key[n - 1] == ':')
			key[n - 1] = 0;
		if (!strcmp(key, name)) {
			found = val;
			break;
		}
	}
	fclose(f);
	return found;
}

static inline long vmstat_counter(const char *name)
{
	return file_counter("/proc/vmstat", name);
}

static inline long meminfo_kb(const char *name)
{
	return file_counter("/proc/meminfo", name);
}

/* Anonymous private memory of @pages pages, or NULL. */
static inline char *map_anon(size_t pages)
{
	void *p = mmap(NULL, pages * page_size(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Every byte of a page gets a value that names the page and a seed. */
static inline void fill(char *p, size_t pages, int seed)
{
	size_t ps = page_size(), i;

	for (i = 0; i < pages; i++)
		memset(p + i * ps, (int)((i * 7 + seed) % 251) + 1, ps);
}

/* 1: page @i holds its pattern; 0: it is all zeroes; -1: anything else. */
static inline int page_state(const char *p, size_t i, int seed)
{
	size_t ps = page_size(), j;
	char want = (char)((i * 7 + seed) % 251) + 1;
	const char *q = p + i * ps;
	bool intact = true, zero = true;

	for (j = 0; j < ps; j++) {
		intact &= q[j] == want;
		zero &= q[j] == 0;
	}
	return intact ? 1 : zero ? 0 : -1;
}

static inline bool all_intact(const char *p, size_t pages, int seed)
{
	size_t i;

	for (i = 0; i < pages; i++)
		if (page_state(p, i, seed) != 1)
			return false;
	return true;
}

static inline bool all_zero(const char *p, size_t pages)
{
	size_t i, j, ps = page_size();

	for (i = 0; i < pages; i++)
		for (j = 0; j < ps; j++)
			if (p[i * ps + j])
				return false;
	return true;
}

/* Touch one byte and tell whether it raised SIGBUS, without dying. */
static sigjmp_buf probe_jmp;

static inline void probe_handler(int sig)
{
	siglongjmp(probe_jmp, sig);
}

static inline int probe_read(const char *addr)
{
	struct sigaction sa = { .sa_handler = probe_handler }, old_bus, old_segv;
	int sig;

	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(probe_jmp, 1);
	if (!sig)
		__atomic_load_n(addr, __ATOMIC_RELAXED);
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

/* Is a page resident? (mincore says so for present pages) */
static inline bool resident(const void *addr)
{
	unsigned char vec = 0;

	if (mincore((void *)((unsigned long)addr & ~(page_size() - 1)), page_size(), &vec))
		return false;
	return vec & 1;
}

#endif /* VRANGE_UTIL_H */
