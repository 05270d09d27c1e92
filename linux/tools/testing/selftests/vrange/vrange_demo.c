// SPDX-License-Identifier: GPL-2.0
/*
 * vrange_demo: what `make run` shows. A program fills a cache it could
 * rebuild, lends it to the kernel with vrange(), and a memory hog then
 * needs that memory: the kernel purges the cache instead of OOM-killing
 * anyone, touching the purged cache raises SIGBUS, and unmarking it says
 * that it was purged.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/wait.h>

#include "../kselftest.h"
#include "vrange_util.h"

static void show_vmstat(void)
{
	static const char * const names[] = {
		"vrange_marked", "vrange_purged_ranges", "vrange_purged_anon",
		"vrange_sigbus",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		printf("     %-22s %ld\n", names[i], vmstat_counter(names[i]));
}

int main(void)
{
	long total_kb = meminfo_kb("MemTotal");
	size_t cache_pages, hog_pages, i, purged = 0;
	int status, sig;
	char *cache;
	long ret;
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!vrange_supported()) {
		printf("vrange demo: this kernel has no vrange() syscall\n");
		return 1;
	}
	cache_pages = (size_t)total_kb * 1024 * 35 / 100 / page_size();
	hog_pages = (size_t)total_kb * 1024 * 65 / 100 / page_size();

	printf("\nvrange demo (MemTotal %ld MiB, no swap)\n\n", total_kb >> 10);
	printf("1. A program fills a cache it could rebuild: %zu MiB.\n",
	       cache_pages * page_size() >> 20);
	cache = map_anon(cache_pages);
	if (!cache)
		return 1;
	fill(cache, cache_pages, 42);
	printf("   VmRSS %ld kB\n", status_kb(0, "VmRSS"));

	ret = sys_vrange(cache, cache_pages * page_size(), VRANGE_VOLATILE, 0);
	printf("2. It lends the cache to the kernel:\n"
	       "   vrange(cache, %zu MiB, VRANGE_VOLATILE, 0) = %ld\n"
	       "   VmVolatile %ld kB: no page table was walked to say so\n",
	       cache_pages * page_size() >> 20, ret, status_kb(0, "VmVolatile"));

	printf("3. A memory hog now needs %zu MiB: more than is free.\n",
	       hog_pages * page_size() >> 20);
	pid = fork();
	if (!pid) {
		char *hog = map_anon(hog_pages);

		if (!hog)
			_exit(2);
		for (i = 0; i < hog_pages; i++)
			hog[i * page_size()] = 1;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		printf("   The hog got its memory and exited normally: nobody was OOM-killed.\n");
	else
		printf("   The hog failed (status %#x)\n", status);
	printf("   VmRSS of the program is now %ld kB\n", status_kb(0, "VmRSS"));

	sig = probe_read(cache);
	printf("4. Touching the cache while it is still volatile: %s\n",
	       sig == SIGBUS ? "SIGBUS (caught): its pages were purged" :
	       sig ? "another signal!" : "no signal: it was not purged");

	ret = sys_vrange(cache, cache_pages * page_size(), VRANGE_NOVOLATILE, 0);
	printf("5. Taking it back: vrange(cache, ..., VRANGE_NOVOLATILE, 0) = %ld%s\n", ret,
	       ret == 1 ? ": something was purged, rebuild it" : "");
	for (i = 0; i < cache_pages; i++)
		purged += page_state(cache, i, 42) == 0;
	printf("   %zu of %zu pages now read as zeroes, the rest kept their data.\n",
	       purged, cache_pages);

	printf("6. /proc/vmstat:\n");
	show_vmstat();
	printf("\n");
	return ret == 1 && sig == SIGBUS && WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : 1;
}
