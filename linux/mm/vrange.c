// SPDX-License-Identifier: GPL-2.0
/*
 * Volatile ranges: anonymous memory that its owner can rebuild, lent to the
 * kernel, which may discard ("purge") it under memory pressure instead of
 * swapping or OOM-killing.
 *
 * vrange(start, len, VRANGE_VOLATILE, behavior) records [start, start+len)
 * in the caller's mm; vrange(start, len, VRANGE_NOVOLATILE, 0) takes it back
 * and returns 1 if anything in exactly that range was purged meanwhile.
 * Neither walks page tables nor takes mmap_lock: the state is a tree of
 * ranges keyed by address, independent of VMAs, and marking costs
 * O(log n) in the number of ranges and nothing in their size.
 *
 * Data structures:
 *
 *   mm->vrange_root (allocated on first use) holds an rbtree of disjoint
 *   struct vrange, sorted by address. Overlapping and adjacent marks of the
 *   same behavior are merged; whether a range was purged is kept per node,
 *   so a node is either wholly unpurged or purged, and purged and unpurged
 *   parts never merge: the report of any sub-range is exact (up to holes
 *   the purge could not take inside a purged node; see vrange_purge()).
 *   The ranges need no augmented interval tree, since they never overlap;
 *   keeping them disjoint is what makes a node fit in 64 bytes.
 *
 *   Every purgeable node sits on vrange_lru, a NUMA- and memcg-aware
 *   list_lru, in marking order. A shrinker walks it oldest first and purges
 *   ranges: FULL ones whole, PARTIAL ones a chunk at a time as reclaim asks.
 *
 *   A purged page leaves PTE_MARKER_VRANGE in its pte. A fault on the
 *   marker looks the address up: still volatile and purged, SIGBUS (or a
 *   zero page with VRANGE_ZEROFILL); otherwise the marker is an empty pte.
 *   Only marker faults look at the tree; other faults pay nothing.
 *
 * Lock ordering:
 *
 *   mmap_lock or per-VMA lock (fault, fork, munmap, mremap)
 *     vrange_root->lock
 *       list_lru lock (list_lru_add/del)
 *       mmap_lock (purge; trylock only)
 *         anon_vma lock, pte lock (page walk)
 *
 *   list_lru lock (shrinker walk)
 *     vrange_root->lock (trylock only; the lru lock is then dropped)
 *
 * vrange_root->lock (a mutex) protects the tree and every field of its
 * nodes, and is held across the purge of a range, so that an unmark either
 * waits for a purge and reports it, or completes before the purge looks.
 * The root and its nodes live as long as the mm's address space: they are
 * freed by __mmput() after exit_mmap(). The shrinker reaches a node through
 * the lru, pins the mm with mmget_not_zero() while the node is still on the
 * list (so under the lru lock, before teardown can unlink it) and drops
 * that reference with mmput_async(): reclaim never tears down an mm.
 */

#include <linux/hugetlb.h>
#include <linux/list_lru.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/pagewalk.h>
#include <linux/rbtree.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/syscalls.h>
#include <linux/userfaultfd_k.h>
#include <linux/vrange.h>
#include <uapi/linux/vrange.h>

#include <asm/tlbflush.h>

#include "internal.h"

#define CREATE_TRACE_POINTS
#include <trace/events/vrange.h>

/* Flags kept in the low bits of vrange->start. */
#define VR_PARTIAL	VRANGE_PARTIAL
#define VR_ZEROFILL	VRANGE_ZEROFILL
#define VR_PURGED	0x4UL
#define VR_BEHAVIOR	(VR_PARTIAL | VR_ZEROFILL)
#define VR_FLAGS	(VR_BEHAVIOR | VR_PURGED)
#define VR_NONE		(~0UL)	/* "no range here" in a range edit */

static struct kmem_cache *vrange_cachep __ro_after_init;
static struct list_lru vrange_lru;
static struct shrinker *vrange_shrinker;
/* pages covered by the ranges on vrange_lru, for the shrinker's count */
static atomic_long_t vrange_lru_pages = ATOMIC_LONG_INIT(0);

static inline unsigned long vr_start(const struct vrange *vr)
{
	return vr->start & PAGE_MASK;
}

static inline unsigned long vr_flags(const struct vrange *vr)
{
	return vr->start & VR_FLAGS;
}

static inline unsigned long vr_pages(const struct vrange *vr)
{
	return (vr->end - vr_start(vr)) >> PAGE_SHIFT;
}

static inline void vr_set(struct vrange *vr, unsigned long start,
			  unsigned long end, unsigned long flags)
{
	vr->start = start | flags;
	vr->end = end;
}

static inline struct vrange *vr_entry(struct rb_node *node)
{
	return node ? rb_entry(node, struct vrange, node) : NULL;
}

static inline struct vrange *vr_next(struct vrange *vr)
{
	return vr_entry(rb_next(&vr->node));
}

/* The first range that ends after @addr, or NULL. */
static struct vrange *vr_first_after(struct vrange_root *root,
				     unsigned long addr)
{
	struct rb_node *node = root->tree.rb_node;
	struct vrange *found = NULL;

	while (node) {
		struct vrange *vr = vr_entry(node);

		if (vr->end > addr) {
			found = vr;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return found;
}

/* The range containing @addr, or NULL. */
static struct vrange *vr_lookup(struct vrange_root *root, unsigned long addr)
{
	struct vrange *vr = vr_first_after(root, addr);

	return vr && vr_start(vr) <= addr ? vr : NULL;
}

static void vr_insert(struct vrange_root *root, struct vrange *new)
{
	struct rb_node **link = &root->tree.rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (vr_start(new) < vr_start(vr_entry(parent)))
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&new->node, parent, link);
	rb_insert_color(&new->node, &root->tree);
}

/* Whether the shrinker has anything to do with this range. */
static inline bool vr_purgeable(const struct vrange *vr)
{
	return !(vr_flags(vr) & VR_PURGED) || (vr_flags(vr) & VR_ZEROFILL);
}

/*
 * The lru holds the purgeable ranges of roots that belong to an mm (the
 * KUnit test uses detached roots). Called with root->lock held.
 */
static void vr_lru_add(struct vrange *vr)
{
	if (!vr->root->mm || !vr_purgeable(vr))
		return;
	if (list_lru_add_obj(&vrange_lru, &vr->lru))
		atomic_long_add(vr_pages(vr), &vrange_lru_pages);
}

static void vr_lru_del(struct vrange *vr)
{
	if (list_lru_del_obj(&vrange_lru, &vr->lru))
		atomic_long_sub(vr_pages(vr), &vrange_lru_pages);
}

static struct vrange *vr_alloc(gfp_t gfp)
{
	struct vrange *vr = kmem_cache_alloc_lru(vrange_cachep, &vrange_lru, gfp);

	if (vr)
		INIT_LIST_HEAD(&vr->lru);
	return vr;
}

/*
 * A node for a piece of @like, charged to the same memcg so that it lands
 * on the same lru list. Used by the purge, from reclaim: it must not sleep.
 */
static struct vrange *vr_alloc_like(struct vrange *like)
{
	struct mem_cgroup *memcg, *old;
	struct vrange *vr;

	rcu_read_lock();
	memcg = mem_cgroup_from_slab_obj(like);
	old = set_active_memcg(memcg);
	vr = vr_alloc(GFP_NOWAIT | __GFP_NOWARN | __GFP_ACCOUNT);
	set_active_memcg(old);
	rcu_read_unlock();
	return vr;
}

static void vr_free_list(struct list_head *list)
{
	struct vrange *vr, *tmp;

	list_for_each_entry_safe(vr, tmp, list, lru)
		kmem_cache_free(vrange_cachep, vr);
	INIT_LIST_HEAD(list);
}

/*
 * Range edits. An edit rewrites [s, e): each piece of it, a piece of an
 * existing range or a gap between ranges (VR_NONE), gets the flags that
 * ->map() gives it, or disappears if that is VR_NONE. Parts of the ranges
 * that straddle s or e keep their flags, and so do the ranges adjacent to
 * [s, e) that a marking edit takes in (->merge) to coalesce with. Equal
 * neighbours are coalesced.
 */
struct vr_edit {
	unsigned long s, e;
	unsigned long (*map)(unsigned long old, unsigned long arg);
	unsigned long arg;
	bool merge;
	bool purged;		/* out: some piece of [s, e) was purged */
};

/* The output of an edit, built one segment at a time. */
struct vr_out {
	struct vrange_root *root;
	bool apply;
	int nr;			/* segments emitted */
	unsigned long s, e, flags;	/* the pending segment, if any */
	bool pending;
	struct list_head *spare;	/* nodes to build segments from */
};

static void vr_out_flush(struct vr_out *out)
{
	struct vrange *vr;

	if (!out->pending)
		return;
	out->pending = false;
	out->nr++;
	if (!out->apply)
		return;
	vr = list_first_entry(out->spare, struct vrange, lru);
	list_del_init(&vr->lru);
	vr_set(vr, out->s, out->e, out->flags);
	vr->root = out->root;
	vr_insert(out->root, vr);
	out->root->nr_pages += vr_pages(vr);
	vr_lru_add(vr);
}

static void vr_out_emit(struct vr_out *out, unsigned long s, unsigned long e,
			unsigned long flags)
{
	if (s >= e)
		return;
	if (flags == VR_NONE) {
		vr_out_flush(out);
		return;
	}
	if (out->pending && out->e == s && out->flags == flags) {
		out->e = e;
		return;
	}
	vr_out_flush(out);
	out->pending = true;
	out->s = s;
	out->e = e;
	out->flags = flags;
}

/* Emit what one range of the window becomes. */
static void vr_edit_node(struct vr_edit *ed, struct vr_out *out,
			 unsigned long *pos, struct vrange *vr)
{
	unsigned long vs = vr_start(vr), ve = vr->end, vf = vr_flags(vr);

	if (ve <= ed->s) {			/* adjacent on the left */
		vr_out_emit(out, vs, ve, vf);
		return;
	}
	if (vs >= ed->e) {			/* adjacent on the right */
		vr_out_emit(out, *pos, ed->e, ed->map(VR_NONE, ed->arg));
		*pos = ed->e;
		vr_out_emit(out, vs, ve, vf);
		return;
	}
	vr_out_emit(out, vs, ed->s, vf);
	vr_out_emit(out, *pos, max(vs, ed->s), ed->map(VR_NONE, ed->arg));
	vr_out_emit(out, max(vs, ed->s), min(ve, ed->e), ed->map(vf, ed->arg));
	if (vf & VR_PURGED)
		ed->purged = true;
	*pos = min(ve, ed->e);
	vr_out_emit(out, ed->e, ve, vf);
}

/*
 * Run @ed on @root. Without @pool, only count: return how many nodes the
 * result takes. With @pool (holding at least that many), apply it: the
 * ranges it replaces go to @dead, the nodes it leaves over stay in @pool.
 * Called with root->lock held.
 */
static int vr_edit_run(struct vrange_root *root, struct vr_edit *ed,
		       struct list_head *pool, struct list_head *dead)
{
	struct vr_out out = { .root = root, .apply = !!pool, .spare = pool };
	unsigned long lookup = ed->merge && ed->s ? ed->s - 1 : ed->s;
	unsigned long limit = ed->merge ? ed->e : ed->e - 1;
	unsigned long pos = ed->s;
	struct vrange *vr, *next;
	LIST_HEAD(window);

	ed->purged = false;
	vr = vr_first_after(root, lookup);
	if (!pool) {
		for (; vr && vr_start(vr) <= limit; vr = vr_next(vr))
			vr_edit_node(ed, &out, &pos, vr);
	} else {
		/* Take the window out of the tree first: the output goes in. */
		for (; vr && vr_start(vr) <= limit; vr = next) {
			next = vr_next(vr);
			vr_lru_del(vr);
			rb_erase(&vr->node, &root->tree);
			root->nr_pages -= vr_pages(vr);
			list_add_tail(&vr->lru, &window);
		}
		while (!list_empty(&window)) {
			vr = list_first_entry(&window, struct vrange, lru);
			list_move_tail(&vr->lru, dead);
			vr_edit_node(ed, &out, &pos, vr);
		}
	}
	vr_out_emit(&out, pos, ed->e, ed->map(VR_NONE, ed->arg));
	vr_out_flush(&out);
	return out.nr;
}

/*
 * Run an edit: allocate the nodes it needs first, so that a failed
 * allocation leaves the ranges exactly as they were. One node is taken
 * up front when marking, which is all a new range needs.
 */
static int vr_edit(struct vrange_root *root, struct vr_edit *ed, gfp_t gfp)
{
	LIST_HEAD(pool);
	LIST_HEAD(dead);
	int have = 0, need = ed->merge ? 1 : 0;

	for (;;) {
		while (have < need) {
			struct vrange *vr = vr_alloc(gfp);

			if (!vr) {
				vr_free_list(&pool);
				return -ENOMEM;
			}
			list_add(&vr->lru, &pool);
			have++;
		}
		mutex_lock(&root->lock);
		need = vr_edit_run(root, ed, NULL, NULL);
		if (need <= have)
			break;
		mutex_unlock(&root->lock);
	}
	vr_edit_run(root, ed, &pool, &dead);
	mutex_unlock(&root->lock);
	vr_free_list(&pool);
	vr_free_list(&dead);
	return 0;
}

static unsigned long vr_map_mark(unsigned long old, unsigned long behavior)
{
	return behavior | (old == VR_NONE ? 0 : old & VR_PURGED);
}

static unsigned long vr_map_clear(unsigned long old, unsigned long unused)
{
	return VR_NONE;
}

static unsigned long vr_map_set(unsigned long old, unsigned long flags)
{
	return flags;
}

static int vrange_mark(struct vrange_root *root, unsigned long start,
		       unsigned long end, unsigned long behavior, gfp_t gfp)
{
	struct vr_edit ed = {
		.s = start, .e = end, .map = vr_map_mark, .arg = behavior,
		.merge = true,
	};

	return vr_edit(root, &ed, gfp);
}

/* Returns 1 if part of [start, end) was purged, 0 if not, or -ENOMEM. */
static int vrange_unmark(struct vrange_root *root, unsigned long start,
			 unsigned long end, gfp_t gfp)
{
	struct vr_edit ed = { .s = start, .e = end, .map = vr_map_clear };
	int ret = vr_edit(root, &ed, gfp);

	return ret ? ret : ed.purged;
}

/* The root of @mm, or NULL. */
static inline struct vrange_root *vrange_root_of(struct mm_struct *mm)
{
	/* Pairs with the cmpxchg() in vrange_root_get(): a root is seen whole. */
	return smp_load_acquire(&mm->vrange_root);
}

static struct vrange_root *vrange_root_alloc(struct mm_struct *mm)
{
	struct vrange_root *root = kzalloc(sizeof(*root), GFP_KERNEL_ACCOUNT);

	if (!root)
		return NULL;
	root->tree = RB_ROOT;
	mutex_init(&root->lock);
	root->mm = mm;
	return root;
}

/* The root of @mm, allocated on first use; NULL if that fails. */
static struct vrange_root *vrange_root_get(struct mm_struct *mm)
{
	struct vrange_root *root = vrange_root_of(mm);

	if (root)
		return root;
	root = vrange_root_alloc(mm);
	if (!root)
		return NULL;
	if (cmpxchg(&mm->vrange_root, NULL, root)) {
		kfree(root);
		root = vrange_root_of(mm);
	}
	return root;
}

static void vrange_root_empty(struct vrange_root *root)
{
	struct rb_node *node;

	mutex_lock(&root->lock);
	while ((node = rb_first(&root->tree))) {
		struct vrange *vr = vr_entry(node);

		vr_lru_del(vr);
		rb_erase(node, &root->tree);
		kmem_cache_free(vrange_cachep, vr);
		cond_resched();
	}
	root->nr_pages = 0;
	mutex_unlock(&root->lock);
}

/* mm teardown, from __mmput() after exit_mmap(). */
void vrange_mm_exit(struct mm_struct *mm)
{
	struct vrange_root *root = mm->vrange_root;

	if (!root)
		return;
	vrange_root_empty(root);
	mm->vrange_root = NULL;
	kfree(root);
}

/*
 * fork: the child gets a copy of the parent's ranges, purged state
 * included (the parent's markers are copied with its page tables). Called
 * from dup_mmap() with both mmap_locks held for writing, so no purge of
 * the parent runs in between.
 */
int vrange_fork(struct mm_struct *mm, struct mm_struct *oldmm)
{
	struct vrange_root *old = vrange_root_of(oldmm);
	struct vrange_root *root;
	struct rb_node *node;
	int ret = 0;

	if (!old)
		return 0;
	root = vrange_root_alloc(mm);
	if (!root)
		return -ENOMEM;
	mm->vrange_root = root;

	mutex_lock(&old->lock);
	mutex_lock_nested(&root->lock, SINGLE_DEPTH_NESTING);
	for (node = rb_first(&old->tree); node; node = rb_next(node)) {
		struct vrange *ovr = vr_entry(node), *vr;

		vr = vr_alloc(GFP_KERNEL_ACCOUNT);
		if (!vr) {
			ret = -ENOMEM;
			break;
		}
		vr->start = ovr->start;
		vr->end = ovr->end;
		vr->root = root;
		vr_insert(root, vr);
		root->nr_pages += vr_pages(vr);
		vr_lru_add(vr);
	}
	mutex_unlock(&root->lock);
	mutex_unlock(&old->lock);
	/* On failure, the caller's mmput() of the child frees what we built. */
	return ret;
}

/*
 * The addresses [start, end) were unmapped: a new mapping there must not
 * be born volatile. Called with mmap_lock held, where failing is no
 * longer an option: a split takes one 64-byte node, __GFP_NOFAIL.
 */
void vrange_unmap(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vrange_root *root = vrange_root_of(mm);

	if (!root || start >= end)
		return;
	vrange_unmark(root, start, end, GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
}

/*
 * mremap moved [old_addr, old_addr+len) to new_addr, page tables and PTE
 * markers included: the ranges move with them. The old addresses are
 * cleared by the munmap that follows.
 */
void vrange_move(struct mm_struct *mm, unsigned long old_addr,
		 unsigned long len, unsigned long new_addr)
{
	struct vrange_root *root = vrange_root_of(mm);
	unsigned long pos = old_addr, end = old_addr + len;

	if (!root)
		return;
	vrange_unmark(root, new_addr, new_addr + len, GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
	while (pos < end) {
		struct vr_edit ed = { .map = vr_map_set };
		struct vrange *vr;

		mutex_lock(&root->lock);
		vr = vr_first_after(root, pos);
		if (!vr || vr_start(vr) >= end) {
			mutex_unlock(&root->lock);
			break;
		}
		ed.s = max(vr_start(vr), pos);
		ed.e = min(vr->end, end);
		ed.arg = vr_flags(vr);
		mutex_unlock(&root->lock);
		pos = ed.e;
		ed.s += new_addr - old_addr;
		ed.e += new_addr - old_addr;
		ed.merge = true;
		vr_edit(root, &ed, GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
	}
}

/*
 * A fault on PTE_MARKER_VRANGE: the page was purged. SIGBUS while its range
 * is still volatile and purged (a zero page with VRANGE_ZEROFILL); once it
 * is not, the marker is an empty pte and the page faults in afresh.
 * Returns VM_FAULT_SIGBUS, or 0 for "handle as pte_none".
 */
vm_fault_t vrange_fault(struct vm_fault *vmf)
{
	struct vrange_root *root = vrange_root_of(vmf->vma->vm_mm);
	unsigned long flags = 0;
	struct vrange *vr;

	if (!root)
		return 0;
	mutex_lock(&root->lock);
	vr = vr_lookup(root, vmf->address);
	if (vr)
		flags = vr_flags(vr);
	mutex_unlock(&root->lock);
	if ((flags & (VR_PURGED | VR_ZEROFILL)) == VR_PURGED) {
		count_vm_event(VRANGE_SIGBUS);
		return VM_FAULT_SIGBUS;
	}
	return 0;
}

void vrange_proc_status(struct seq_file *m, struct mm_struct *mm)
{
	struct vrange_root *root = vrange_root_of(mm);
	unsigned long pages = root ? READ_ONCE(root->nr_pages) : 0;

	seq_printf(m, "VmVolatile:\t%8lu kB\n", pages << (PAGE_SHIFT - 10));
}

/*
 * /proc/<pid>/vranges, one line per range:
 *   start-end volatile purged=0|1 behavior=full|partial[,zerofill]
 * The root's lock is held from ->start to ->stop, as maps holds mmap_lock.
 */
void *vrange_seq_start(struct seq_file *m, loff_t *pos)
{
	struct vrange_iter *it = m->private;
	struct vrange *vr;
	loff_t i;

	it->root = NULL;
	if (!it->mm || !mmget_not_zero(it->mm))
		return NULL;
	it->root = vrange_root_of(it->mm);
	if (!it->root) {
		mmput(it->mm);
		return NULL;
	}
	mutex_lock(&it->root->lock);
	if (*pos && *pos == it->pos)
		return vr_first_after(it->root, it->addr);
	vr = vr_entry(rb_first(&it->root->tree));
	for (i = 0; vr && i < *pos; i++)
		vr = vr_next(vr);
	return vr;
}

void *vrange_seq_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct vrange_iter *it = m->private;
	struct vrange *vr = v;

	it->addr = vr->end;
	it->pos = ++*pos;
	return vr_next(vr);
}

void vrange_seq_stop(struct seq_file *m, void *v)
{
	struct vrange_iter *it = m->private;

	if (!it->root)
		return;
	mutex_unlock(&it->root->lock);
	it->root = NULL;
	mmput(it->mm);
}

int vrange_seq_show(struct seq_file *m, void *v)
{
	struct vrange *vr = v;
	unsigned long flags = vr_flags(vr);

	seq_printf(m, "%08lx-%08lx volatile purged=%d behavior=%s%s\n",
		   vr_start(vr), vr->end, !!(flags & VR_PURGED),
		   flags & VR_PARTIAL ? "partial" : "full",
		   flags & VR_ZEROFILL ? ",zerofill" : "");
	return 0;
}

/* ------------------------------------------------------------------ purge */

#define VR_PURGE_BATCH	32

struct vrange_shared {
	struct mm_struct *mm;		/* the mm being purged */
	bool all_volatile;
};

struct vrange_purge {
	unsigned long first, last;	/* lowest and highest address purged */
	unsigned long nr_pages;		/* pages unmapped */
	unsigned long nr_freed;		/* ...of which this was the last mapping */
	unsigned long nr_swap;		/* swap entries freed */
	bool free_swap;			/* reclaim allows swap I/O (__GFP_IO) */
	int nr_folios;
	struct folio *folios[VR_PURGE_BATCH];	/* to put after the TLB flush */
	int nr_shared;
	struct folio *shared[VR_PURGE_BATCH];	/* COW-shared, to check by rmap */
	unsigned long shared_addr[VR_PURGE_BATCH];
};

static int vrange_purge_test_walk(unsigned long start, unsigned long end,
				  struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma;

	/* Only private anonymous memory; never what the rules exclude. */
	if (!vma_is_anonymous(vma) || !vma->anon_vma)
		return 1;
	if (vma->vm_flags & (VM_LOCKED | VM_HUGETLB | VM_PFNMAP | VM_IO |
			     VM_MIXEDMAP | VM_DROPPABLE | VM_SHARED))
		return 1;
	if (userfaultfd_armed(vma))
		return 1;
	if (!can_modify_vma_madv(vma, MADV_DONTNEED))
		return 1;
	return 0;
}

/* rmap_walk() callback: is the page volatile in every other mm too? */
static bool vrange_check_one(struct folio *folio, struct vm_area_struct *vma,
			     unsigned long addr, void *arg)
{
	struct vrange_shared *sh = arg;
	struct vrange_root *root;
	bool volatile_there = false;

	if (vma->vm_mm == sh->mm)
		return true;		/* our own range: locked and volatile */
	/*
	 * The vma is on the anon_vma we hold: its mm has not got past
	 * exit_mmap(), so vrange_mm_exit() has not freed the root yet.
	 */
	root = vrange_root_of(vma->vm_mm);
	if (root && mutex_trylock(&root->lock)) {
		volatile_there = vr_lookup(root, addr);
		mutex_unlock(&root->lock);
	}
	sh->all_volatile &= volatile_there;
	return volatile_there;		/* stop at the first that is not */
}

/*
 * A page still shared copy-on-write after fork is purged only if every
 * process that maps it has it volatile: purging one mapping would free
 * nothing, and would take the data from this one for no gain. Only this
 * mm's mapping is removed here; the others go when their own ranges are
 * purged, and the page with the last of them. rmap_walk() may reschedule:
 * called without the pte lock, with a reference on the folio.
 */
static bool vrange_shared_purgeable(struct folio *folio, struct mm_struct *mm)
{
	struct vrange_shared sh = { .mm = mm, .all_volatile = true };
	struct rmap_walk_control rwc = {
		.rmap_one = vrange_check_one,
		.arg = &sh,
		.try_lock = true,
	};

	if (folio_test_large(folio) || !folio_trylock(folio))
		return false;
	rmap_walk(folio, &rwc);
	folio_unlock(folio);
	return sh.all_volatile && !rwc.contended;
}

/*
 * Can @folio be thrown away? Only an anonymous page that nobody else holds
 * a reference to (GUP pins, vmsplice, io_uring), not KSM, not mlocked. If
 * it is still shared copy-on-write, vrange_shared_purgeable() decides too.
 */
static bool vrange_folio_purgeable(struct folio *folio)
{
	long expected;

	if (!folio_test_anon(folio) || folio_test_ksm(folio))
		return false;
	if (folio_test_mlocked(folio) || folio_maybe_dma_pinned(folio))
		return false;
	expected = folio_mapcount(folio);
	if (folio_test_swapcache(folio))
		expected += folio_nr_pages(folio);
	/* A folio not on the lru yet may sit in a per-cpu lru_add batch. */
	if (!folio_test_lru(folio))
		expected++;
	return folio_ref_count(folio) <= expected;
}

static void vrange_purge_note(struct vrange_purge *p, unsigned long addr)
{
	p->first = min(p->first, addr);
	p->last = max(p->last, addr);
}

/* Replace a present pte by the marker; its folio is put after the flush. */
static void vrange_purge_pte(struct vrange_purge *p, struct vm_area_struct *vma,
			     pte_t *pte, unsigned long addr, struct folio *folio,
			     struct page *page)
{
	struct mm_struct *mm = vma->vm_mm;

	ptep_get_and_clear(mm, addr, pte);
	set_pte_at(mm, addr, pte, make_pte_marker(PTE_MARKER_VRANGE));
	folio_remove_rmap_pte(folio, page, vma);
	if (!folio_mapped(folio))
		p->nr_freed++;
	dec_mm_counter(mm, MM_ANONPAGES);
	p->folios[p->nr_folios++] = folio;
	p->nr_pages++;
	vrange_purge_note(p, addr);
}

/*
 * Purge the ptes of [addr, end) in one page table, with its lock held;
 * returns where it stopped: at @end, or when the batch of folios to free
 * after the TLB flush is full.
 */
static unsigned long vrange_purge_ptes(struct vrange_purge *p,
				       struct vm_area_struct *vma, pte_t *pte,
				       unsigned long addr, unsigned long end)
{
	const pte_t marker = make_pte_marker(PTE_MARKER_VRANGE);
	struct mm_struct *mm = vma->vm_mm;
	unsigned long start = addr;

	flush_tlb_batched_pending(mm);
	arch_enter_lazy_mmu_mode();
	for (; addr < end; pte++, addr += PAGE_SIZE) {
		pte_t ptent = ptep_get(pte);
		struct folio *folio;
		struct page *page;

		if (pte_none(ptent))
			continue;
		if (!pte_present(ptent)) {
			swp_entry_t entry = pte_to_swp_entry(ptent);

			if (non_swap_entry(entry) || !p->free_swap)
				continue;
			/* Swapped out: free the slot, leave the marker. */
			set_pte_at(mm, addr, pte, marker);
			free_swap_and_cache(entry);
			dec_mm_counter(mm, MM_SWAPENTS);
			p->nr_swap++;
			vrange_purge_note(p, addr);
			continue;
		}
		page = vm_normal_page(vma, addr, ptent);
		if (!page)
			continue;
		folio = page_folio(page);
		if (!vrange_folio_purgeable(folio))
			continue;
		if (!PageAnonExclusive(page)) {
			/* Shared: checked by rmap once the lock is dropped. */
			if (folio_test_large(folio))
				continue;
			folio_get(folio);
			p->shared[p->nr_shared] = folio;
			p->shared_addr[p->nr_shared++] = addr;
			if (p->nr_shared == VR_PURGE_BATCH) {
				addr += PAGE_SIZE;
				break;
			}
			continue;
		}
		if (folio_test_swapcache(folio)) {
			bool freed;

			if (!p->free_swap || folio_test_large(folio) ||
			    !folio_trylock(folio))
				continue;
			freed = folio_free_swap(folio);
			folio_unlock(folio);
			if (!freed)
				continue;
		}
		vrange_purge_pte(p, vma, pte, addr, folio, page);
		if (p->nr_folios == VR_PURGE_BATCH) {
			addr += PAGE_SIZE;
			break;
		}
	}
	arch_leave_lazy_mmu_mode();
	/* No page may be freed while a stale TLB entry can still reach it. */
	if (p->nr_folios)
		flush_tlb_range(vma, start, addr);
	return addr;
}

/*
 * One pass over a page table: returns where it stopped, or 0 if the table
 * went away under us (the walk then retries the pmd).
 */
/*
 * The COW-shared pages the first pass set aside: check each by rmap with
 * the pte lock dropped, then take the lock again and purge those that are
 * volatile everywhere and still mapped where they were.
 */
static void vrange_purge_shared(pmd_t *pmd, struct mm_walk *walk)
{
	struct vrange_purge *p = walk->private;
	unsigned long base = p->shared_addr[0], flush_start = ULONG_MAX;
	unsigned long flush_end = 0;
	bool ok[VR_PURGE_BATCH];
	spinlock_t *ptl;	/* the pte table's */
	pte_t *start_pte;
	int i, n = p->nr_shared;

	for (i = 0; i < n; i++)
		ok[i] = vrange_shared_purgeable(p->shared[i], walk->mm);
	start_pte = pte_offset_map_lock(walk->mm, pmd, base, &ptl);
	if (start_pte) {
		for (i = 0; i < n; i++) {
			unsigned long addr = p->shared_addr[i];
			pte_t *pte = start_pte + ((addr - base) >> PAGE_SHIFT);
			struct folio *folio = p->shared[i];
			pte_t ptent = ptep_get(pte);

			if (!ok[i] || !pte_present(ptent) ||
			    pte_pfn(ptent) != folio_pfn(folio) ||
			    folio_maybe_dma_pinned(folio))
				continue;
			vrange_purge_pte(p, walk->vma, pte, addr, folio,
					 folio_page(folio, 0));
			flush_start = min(flush_start, addr);
			flush_end = addr + PAGE_SIZE;
		}
		if (p->nr_folios)
			flush_tlb_range(walk->vma, flush_start, flush_end);
		pte_unmap_unlock(start_pte, ptl);
	}
	for (i = 0; i < n; i++)
		folio_put(p->shared[i]);
	p->nr_shared = 0;
}

/*
 * One pass over a page table: returns where it stopped, or 0 if the table
 * went away under us (the walk then retries the pmd).
 */
static unsigned long vrange_purge_table(pmd_t *pmd, unsigned long addr,
					unsigned long end, struct mm_walk *walk)
{
	struct vrange_purge *p = walk->private;
	struct mmu_notifier_range range;
	spinlock_t *ptl;	/* the pte table's */
	pte_t *start_pte;
	int i;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, walk->mm, addr, end);
	mmu_notifier_invalidate_range_start(&range);
	start_pte = pte_offset_map_lock(walk->mm, pmd, addr, &ptl);
	if (!start_pte) {
		mmu_notifier_invalidate_range_end(&range);
		return 0;
	}
	addr = vrange_purge_ptes(p, walk->vma, start_pte, addr, end);
	pte_unmap_unlock(start_pte, ptl);
	for (i = 0; i < p->nr_folios; i++)
		folio_put(p->folios[i]);
	p->nr_folios = 0;
	if (p->nr_shared)
		vrange_purge_shared(pmd, walk);
	mmu_notifier_invalidate_range_end(&range);
	for (i = 0; i < p->nr_folios; i++)
		folio_put(p->folios[i]);
	p->nr_folios = 0;
	return addr;
}

static int vrange_purge_pte_range(pmd_t *pmd, unsigned long addr,
				  unsigned long end, struct mm_walk *walk)
{
	if (pmd_trans_huge(pmdp_get_lockless(pmd)))
		split_huge_pmd(walk->vma, pmd, addr);

	while (addr < end) {
		addr = vrange_purge_table(pmd, addr, end, walk);
		if (!addr) {
			walk->action = ACTION_AGAIN;
			break;
		}
		cond_resched();
	}
	return 0;
}

static const struct mm_walk_ops vrange_purge_ops = {
	.pmd_entry	= vrange_purge_pte_range,
	.test_walk	= vrange_purge_test_walk,
	.walk_lock	= PGWALK_RDLOCK,
};

struct vrange_scan {
	gfp_t gfp;		/* of the reclaim that called the shrinker */
	unsigned long budget;	/* pages reclaim still asks for */
	unsigned long purged;	/* pages purged so far */
};

/*
 * Purge @vr, which the caller took off the lru, holding root->lock and a
 * reference to the mm. A FULL range is purged whole; a PARTIAL one only as
 * far as the budget goes. The node is then split into what is purged,
 * [lowest, highest purged page], and the unpurged rest on either side,
 * which goes back on the lru; if the nodes for the split cannot be had
 * without sleeping, the whole range counts as purged (a PARTIAL range is
 * then purged whole, which its owner allowed).
 */
static void vrange_purge(struct vrange *vr, struct vrange_scan *sc)
{
	struct vrange_root *root = vr->root;
	struct mm_struct *mm = root->mm;
	unsigned long start = vr_start(vr), end = vr->end, flags = vr_flags(vr);
	struct vrange_purge *p;
	struct vrange *left, *right;
	unsigned long stop = end, pstart, pend;

	left = vr_alloc_like(vr);
	right = vr_alloc_like(vr);
	if ((flags & VR_PARTIAL) && left && right &&
	    sc->budget < vr_pages(vr))
		stop = start + (sc->budget << PAGE_SHIFT);
	sc->budget -= min(sc->budget, (stop - start) >> PAGE_SHIFT);

	p = kmalloc(sizeof(*p), GFP_NOWAIT | __GFP_NOWARN);
	if (!p || !mmap_read_trylock(mm))
		goto requeue;
	p->first = ULONG_MAX;
	p->last = 0;
	p->nr_pages = 0;
	p->nr_freed = 0;
	p->nr_swap = 0;
	p->nr_folios = 0;
	p->nr_shared = 0;
	/*
	 * Purging anonymous memory needs no filesystem and no I/O; freeing
	 * swap slots is left to reclaim that may do I/O, as the swap device
	 * may be what the caller is writing to.
	 */
	p->free_swap = !!(sc->gfp & __GFP_IO);
	walk_page_range(mm, start, stop, &vrange_purge_ops, p);
	mmap_read_unlock(mm);

	if (!p->nr_pages && !p->nr_swap) {
		if (stop == end)
			goto requeue;
		/*
		 * Nothing to purge in this chunk of a PARTIAL range: split it
		 * off, unpurged, behind the rest, which is scanned next.
		 */
		vr_set(right, stop, end, flags);
		right->root = root;
		vr_insert(root, right);
		vr_lru_add(right);
		right = NULL;
		vr->end = stop;
		goto requeue;
	}
	sc->purged += p->nr_pages + p->nr_swap;
	trace_vrange_purge(mm, start, stop, p->nr_pages, p->nr_swap);
	/* A page shared copy-on-write is freed with its last mapping. */
	mm_account_reclaimed_pages(p->nr_freed);
	count_vm_events(VRANGE_PURGED_ANON, p->nr_freed + p->nr_swap);
	count_vm_event(VRANGE_PURGED_RANGES);

	pstart = start;
	pend = end;
	if (left && right) {
		pstart = p->first;
		pend = stop == end ? p->last + PAGE_SIZE : stop;
	}
	root->nr_pages -= vr_pages(vr);
	rb_erase(&vr->node, &root->tree);
	if (pstart > start) {
		vr_set(left, start, pstart, flags);
		left->root = root;
		vr_insert(root, left);
		root->nr_pages += vr_pages(left);
		vr_lru_add(left);
		left = NULL;
	}
	if (pend < end) {
		vr_set(right, pend, end, flags);
		right->root = root;
		vr_insert(root, right);
		root->nr_pages += vr_pages(right);
		vr_lru_add(right);
		right = NULL;
	}
	vr_set(vr, pstart, pend, flags | VR_PURGED);
	vr_insert(root, vr);
	root->nr_pages += vr_pages(vr);
	vr_lru_add(vr);
	goto out;

requeue:
	vr_lru_add(vr);
out:
	kfree(p);
	if (left)
		kmem_cache_free(vrange_cachep, left);
	if (right)
		kmem_cache_free(vrange_cachep, right);
}

static enum lru_status vrange_isolate(struct list_head *item,
				      struct list_lru_one *list, spinlock_t *lock,
				      void *arg)
{
	struct vrange *vr = container_of(item, struct vrange, lru);
	struct vrange_root *root = vr->root;
	struct mm_struct *mm = root->mm;
	struct vrange_scan *sc = arg;

	if (!sc->budget)
		return LRU_STOP;
	if (!mutex_trylock(&root->lock))
		return LRU_SKIP;
	/* The node is on the lru, so the mm has not been torn down yet. */
	if (!mmget_not_zero(mm)) {
		mutex_unlock(&root->lock);
		return LRU_SKIP;
	}
	list_lru_isolate(list, item);
	atomic_long_sub(vr_pages(vr), &vrange_lru_pages);
	spin_unlock(lock);

	vrange_purge(vr, sc);

	mutex_unlock(&root->lock);
	mmput_async(mm);
	cond_resched();
	spin_lock(lock);
	return LRU_REMOVED_RETRY;
}

/*
 * The shrinker counts pages: the pages covered by the ranges on this
 * node's and memcg's list, estimated from the global average range size,
 * since the lru counts nodes. The count is rounded up to an even number:
 * with seeks = 0, do_shrink_slab() asks for half of it, rounded down, and
 * defers what it does not scan, so a second pass asks for all of an even
 * count (for one page, half would be nothing, ever).
 */
static unsigned long vrange_shrink_count(struct shrinker *s,
					 struct shrink_control *sc)
{
	unsigned long nr = list_lru_shrink_count(&vrange_lru, sc);
	unsigned long ranges, pages;

	if (!nr)
		return 0;
	ranges = max(list_lru_count(&vrange_lru), 1UL);
	pages = atomic_long_read(&vrange_lru_pages);
	return round_up(nr * max(pages / ranges, 1UL), 2);
}

static unsigned long vrange_shrink_scan(struct shrinker *s,
					struct shrink_control *sc)
{
	struct vrange_scan scan = { .gfp = sc->gfp_mask, .budget = sc->nr_to_scan };
	unsigned long nr_walk = list_lru_shrink_count(&vrange_lru, sc);

	list_lru_walk_one(&vrange_lru, sc->nid, sc->memcg, vrange_isolate,
			  &scan, &nr_walk);
	return scan.purged;
}

/* ---------------------------------------------------------------- syscall */

/*
 * vrange - mark anonymous memory volatile or non-volatile
 * @start: page-aligned start address
 * @len: length in bytes, rounded up to a page multiple
 * @mode: VRANGE_VOLATILE or VRANGE_NOVOLATILE
 * @behavior: VRANGE_PARTIAL and/or VRANGE_ZEROFILL, for VRANGE_VOLATILE
 *
 * Return: 0 for VRANGE_VOLATILE; for VRANGE_NOVOLATILE, 1 if anything in
 * the range was purged since it was marked, else 0; or -EINVAL for bad
 * arguments, -ENOMEM with nothing changed.
 */
SYSCALL_DEFINE4(vrange, unsigned long, start, size_t, len, int, mode,
		int, behavior)
{
	struct mm_struct *mm = current->mm;
	struct vrange_root *root;
	unsigned long end;
	size_t alen;
	int ret;

	if (mode != VRANGE_VOLATILE && mode != VRANGE_NOVOLATILE)
		return -EINVAL;
	if (behavior & ~VR_BEHAVIOR)
		return -EINVAL;
	if (mode == VRANGE_NOVOLATILE && behavior)
		return -EINVAL;
	start = untagged_addr(start);
	if (start & ~PAGE_MASK)
		return -EINVAL;
	alen = PAGE_ALIGN(len);
	if (!len || alen < len)
		return -EINVAL;
	end = start + alen;
	if (end < start || end > TASK_SIZE)
		return -EINVAL;

	if (mode == VRANGE_VOLATILE) {
		root = vrange_root_get(mm);
		if (!root)
			return -ENOMEM;
		ret = vrange_mark(root, start, end, behavior, GFP_KERNEL_ACCOUNT);
		if (!ret) {
			count_vm_event(VRANGE_MARKED);
			trace_vrange_mark(mm, start, end, behavior);
		}
		return ret;
	}
	root = vrange_root_of(mm);
	ret = root ? vrange_unmark(root, start, end, GFP_KERNEL_ACCOUNT) : 0;
	if (ret >= 0)
		trace_vrange_unmark(mm, start, end, ret);
	return ret;
}

static int __init vrange_init(void)
{
	BUILD_BUG_ON(IS_ENABLED(CONFIG_64BIT) && sizeof(struct vrange) > 64);
	BUILD_BUG_ON(VR_FLAGS >= PAGE_SIZE);

	vrange_cachep = KMEM_CACHE(vrange, SLAB_PANIC | SLAB_ACCOUNT);
	vrange_shrinker = shrinker_alloc(SHRINKER_NUMA_AWARE | SHRINKER_MEMCG_AWARE,
					 "vrange");
	if (!vrange_shrinker)
		panic("vrange: cannot allocate the shrinker\n");
	if (list_lru_init_memcg(&vrange_lru, vrange_shrinker))
		panic("vrange: cannot initialise the lru\n");
	vrange_shrinker->count_objects = vrange_shrink_count;
	vrange_shrinker->scan_objects = vrange_shrink_scan;
	/*
	 * Volatile memory is the cheapest to reclaim: no IO writes it out or
	 * reads it back, its owner rebuilds it. seeks = 0 asks for half of
	 * it at every reclaim pass, whatever the priority, so that it goes
	 * before page cache is dropped and anonymous memory is swapped.
	 */
	vrange_shrinker->seeks = 0;
	shrinker_register(vrange_shrinker);
	return 0;
}
subsys_initcall(vrange_init);

#ifdef CONFIG_VRANGE_KUNIT_TEST
#include "tests/vrange_kunit.c"
#endif
