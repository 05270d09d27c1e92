/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_VRANGE_H
#define _LINUX_VRANGE_H

#include <linux/mm_types.h>
#include <linux/vrange_types.h>

struct vm_fault;
struct seq_file;

/* The cursor of a /proc/<pid>/vranges reader. */
struct vrange_iter {
	struct mm_struct *mm;
	struct vrange_root *root;	/* locked between ->start and ->stop */
	unsigned long addr;		/* where the next range starts after */
	loff_t pos;			/* ...if the reader asks for this one */
};

#ifdef CONFIG_VRANGE
int vrange_fork(struct mm_struct *mm, struct mm_struct *oldmm);
void vrange_mm_exit(struct mm_struct *mm);
void vrange_unmap(struct mm_struct *mm, unsigned long start, unsigned long end);
void vrange_move(struct mm_struct *mm, unsigned long old_addr,
		 unsigned long len, unsigned long new_addr);
vm_fault_t vrange_fault(struct vm_fault *vmf);
void vrange_proc_status(struct seq_file *m, struct mm_struct *mm);
void *vrange_seq_start(struct seq_file *m, loff_t *pos);
void *vrange_seq_next(struct seq_file *m, void *v, loff_t *pos);
void vrange_seq_stop(struct seq_file *m, void *v);
int vrange_seq_show(struct seq_file *m, void *v);

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
static inline vm_fault_t vrange_fault(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static inline void vrange_proc_status(struct seq_file *m, struct mm_struct *mm) {}
static inline void vrange_mm_init(struct mm_struct *mm) {}
#endif /* CONFIG_VRANGE */

#endif /* _LINUX_VRANGE_H */
