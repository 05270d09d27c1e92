/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_VRANGE_H
#define _LINUX_VRANGE_H

#include <linux/mm_types.h>
#include <linux/vrange_types.h>

#ifdef CONFIG_VRANGE
int vrange_fork(struct mm_struct *mm, struct mm_struct *oldmm);
void vrange_mm_exit(struct mm_struct *mm);
void vrange_unmap(struct mm_struct *mm, unsigned long start, unsigned long end);
void vrange_move(struct mm_struct *mm, unsigned long old_addr,
		 unsigned long len, unsigned long new_addr);

static inline void vrange_mm_init(struct mm_struct *mm)
{
	mm->vrange_root = NULL;
}
#else
static inline int vrange_fork(struct mm_struct *mm, struct mm_struct *oldmm)
{
	return 0;
}

static inline void vrange_mm_exit(struct mm_struct *mm) {}
static inline void vrange_unmap(struct mm_struct *mm, unsigned long start,
				unsigned long end) {}
static inline void vrange_move(struct mm_struct *mm, unsigned long old_addr,
			       unsigned long len, unsigned long new_addr) {}

static inline void vrange_mm_init(struct mm_struct *mm) {}
#endif /* CONFIG_VRANGE */

#endif /* _LINUX_VRANGE_H */
