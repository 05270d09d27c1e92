/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_VRANGE_TYPES_H
#define _LINUX_VRANGE_TYPES_H

#include <linux/mutex.h>
#include <linux/rbtree_types.h>
#include <linux/types.h>

/*
 * The volatile ranges of one mm, kept disjoint and sorted by address.
 * Allocated on the first vrange() call; an mm that never calls it has a
 * NULL pointer and pays nothing else.
 */
struct vrange_root {
	struct rb_root tree;		/* struct vrange by ->start */
	struct mutex lock;		/* tree and nodes of this root */
};

/*
 * One volatile range [start, end). The low bits of @start (page aligned)
 * hold the VR_* flags of mm/vrange.c: its behavior and whether part of it
 * was purged.
 */
struct vrange {
	struct rb_node node;		/* in root->tree */
	unsigned long start;		/* start address | VR_* flags */
	unsigned long end;		/* exclusive */
	struct list_head lru;		/* on the node lists of an edit */
};

#endif /* _LINUX_VRANGE_TYPES_H */
