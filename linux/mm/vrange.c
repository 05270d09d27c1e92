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
 *   parts never merge: the report of any sub-range is exact.
 *   The ranges need no augmented interval tree, since they never overlap;
 *   keeping them disjoint is what makes a node fit in 64 bytes.
 *
 * Lock ordering:
 *
 *   mmap_lock (fork, munmap, mremap)
 *     vrange_root->lock
 *
 * vrange_root->lock (a mutex) protects the tree and every field of its
 * nodes. The root and its nodes live as long as the mm's address space:
 * they are freed by __mmput() after exit_mmap().
 */

#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/slab.h>
#include <linux/syscalls.h>
#include <linux/vrange.h>
#include <uapi/linux/vrange.h>

/* Flags kept in the low bits of vrange->start. */
#define VR_PARTIAL	VRANGE_PARTIAL
#define VR_ZEROFILL	VRANGE_ZEROFILL
#define VR_PURGED	0x4UL
#define VR_BEHAVIOR	(VR_PARTIAL | VR_ZEROFILL)
#define VR_FLAGS	(VR_BEHAVIOR | VR_PURGED)
#define VR_NONE		(~0UL)	/* "no range here" in a range edit */

static struct kmem_cache *vrange_cachep __ro_after_init;

static inline unsigned long vr_start(const struct vrange *vr)
{
	return vr->start & PAGE_MASK;
}

static inline unsigned long vr_flags(const struct vrange *vr)
{
	return vr->start & VR_FLAGS;
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

static struct vrange *vr_alloc(gfp_t gfp)
{
	struct vrange *vr = kmem_cache_alloc(vrange_cachep, gfp);

	if (vr)
		INIT_LIST_HEAD(&vr->lru);
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
	vr_insert(out->root, vr);
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
			rb_erase(&vr->node, &root->tree);
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

static struct vrange_root *vrange_root_alloc(void)
{
	struct vrange_root *root = kzalloc(sizeof(*root), GFP_KERNEL_ACCOUNT);

	if (!root)
		return NULL;
	root->tree = RB_ROOT;
	mutex_init(&root->lock);
	return root;
}

/* The root of @mm, allocated on first use; NULL if that fails. */
static struct vrange_root *vrange_root_get(struct mm_struct *mm)
{
	struct vrange_root *root = vrange_root_of(mm);

	if (root)
		return root;
	root = vrange_root_alloc();
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

		rb_erase(node, &root->tree);
		kmem_cache_free(vrange_cachep, vr);
		cond_resched();
	}
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
 * fork: the child gets a copy of the parent's ranges. Called from
 * dup_mmap() with both mmap_locks held for writing.
 */
int vrange_fork(struct mm_struct *mm, struct mm_struct *oldmm)
{
	struct vrange_root *old = vrange_root_of(oldmm);
	struct vrange_root *root;
	struct rb_node *node;
	int ret = 0;

	if (!old)
		return 0;
	root = vrange_root_alloc();
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
		vr_insert(root, vr);
	}
	mutex_unlock(&root->lock);
	mutex_unlock(&old->lock);
	/* On failure, the caller's mmput() of the child frees what we built. */
	return ret;
}

/*
 * The addresses [start, end) were unmapped: a new mapping there must not
 * be born volatile. Called with mmap_lock held, where failing is no
 * longer an option: a split takes one small node, __GFP_NOFAIL.
 */
void vrange_unmap(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vrange_root *root = vrange_root_of(mm);

	if (!root || start >= end)
		return;
	vrange_unmark(root, start, end, GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
}

/*
 * mremap moved [old_addr, old_addr+len) to new_addr, page tables
 * included: the ranges move with them. The old addresses are cleared by
 * the munmap that follows.
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
		return vrange_mark(root, start, end, behavior, GFP_KERNEL_ACCOUNT);
	}
	root = vrange_root_of(mm);
	return root ? vrange_unmark(root, start, end, GFP_KERNEL_ACCOUNT) : 0;
}

static int __init vrange_init(void)
{
	BUILD_BUG_ON(IS_ENABLED(CONFIG_64BIT) && sizeof(struct vrange) > 64);
	BUILD_BUG_ON(VR_FLAGS >= PAGE_SIZE);

	vrange_cachep = KMEM_CACHE(vrange, SLAB_PANIC | SLAB_ACCOUNT);
	return 0;
}
subsys_initcall(vrange_init);
