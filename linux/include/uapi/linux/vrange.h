/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
#ifndef _UAPI_LINUX_VRANGE_H
#define _UAPI_LINUX_VRANGE_H

#include <linux/types.h>

/*
 * vrange(start, len, mode, behavior) and fvrange(fd, range, mode, behavior):
 * lend memory the caller can rebuild to the kernel, which may discard
 * ("purge") it under memory pressure while it is volatile.
 * See Documentation/userspace-api/vrange.rst.
 */

/* mode */
#define VRANGE_VOLATILE		0	/* the kernel may purge the range */
#define VRANGE_NOVOLATILE	1	/* keep it; returns 1 if anything was purged */

/* behavior: a bitmask, VRANGE_VOLATILE only */
#define VRANGE_FULL		0	/* a purge takes the whole range */
#define VRANGE_PARTIAL		(1 << 0) /* a purge may take only part of it */
#define VRANGE_ZEROFILL		(1 << 1) /* purged pages read zeroes, no SIGBUS */

/* A file range for fvrange(): only __u64, the same layout on every ABI. */
struct fvrange_range {
	__u64 off;
	__u64 len;
};

#endif /* _UAPI_LINUX_VRANGE_H */
