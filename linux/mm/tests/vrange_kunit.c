// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the vrange range algebra: merging, splitting and the
 * per-part purge bookkeeping that makes NOVOLATILE's report exact. They
 * run on roots that belong to no mm, so nothing reaches the lru.
 * Included by mm/vrange.c, to reach its static functions.
 */
#include <kunit/test.h>

#define VRP(x)	((unsigned long)(x) * PAGE_SIZE)

struct vr_want {
	unsigned long s, e, flags;
};

static void vr_test_free(void *data)
{
	struct vrange_root *root = data;

	vrange_root_empty(root);
	kfree(root);
}

static struct vrange_root *vr_test_root(struct kunit *test)
{
	struct vrange_root *root = vrange_root_alloc(NULL);

	KUNIT_ASSERT_NOT_NULL(test, root);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, vr_test_free, root));
	return root;
}

/* The tree holds exactly @want, in order, and counts its pages right. */
static void vr_expect(struct kunit *test, struct vrange_root *root,
		      const struct vr_want *want, int n)
{
	unsigned long pages = 0;
	struct rb_node *node;
	int i = 0;

	for (node = rb_first(&root->tree); node; node = rb_next(node), i++) {
		struct vrange *vr = vr_entry(node);

		KUNIT_ASSERT_LT_MSG(test, i, n, "more ranges than expected");
		KUNIT_EXPECT_EQ_MSG(test, vr_start(vr), want[i].s, "range %d start", i);
		KUNIT_EXPECT_EQ_MSG(test, vr->end, want[i].e, "range %d end", i);
		KUNIT_EXPECT_EQ_MSG(test, vr_flags(vr), want[i].flags, "range %d flags", i);
		pages += vr_pages(vr);
	}
	KUNIT_EXPECT_EQ(test, i, n);
	KUNIT_EXPECT_EQ(test, root->nr_pages, pages);
}

static void mark(struct kunit *test, struct vrange_root *root,
		 unsigned long s, unsigned long e, unsigned long behavior)
{
	KUNIT_ASSERT_EQ(test, 0, vrange_mark(root, VRP(s), VRP(e), behavior, GFP_KERNEL));
}

static int unmark(struct kunit *test, struct vrange_root *root,
		  unsigned long s, unsigned long e)
{
	int ret = vrange_unmark(root, VRP(s), VRP(e), GFP_KERNEL);

	KUNIT_EXPECT_GE(test, ret, 0);
	return ret;
}

static unsigned long vr_map_purge(unsigned long old, unsigned long unused)
{
	return old == VR_NONE ? VR_NONE : old | VR_PURGED;
}

/* What a purge of [s, e) leaves: the covered parts of ranges, purged. */
static void purge(struct kunit *test, struct vrange_root *root,
		  unsigned long s, unsigned long e)
{
	struct vr_edit ed = { .s = VRP(s), .e = VRP(e), .map = vr_map_purge };

	KUNIT_ASSERT_EQ(test, 0, vr_edit(root, &ed, GFP_KERNEL));
}

static void vrange_test_merge_adjacent(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want want[] = { { VRP(0), VRP(4), 0 } };

	mark(test, root, 2, 4, 0);
	mark(test, root, 0, 2, 0);
	vr_expect(test, root, want, ARRAY_SIZE(want));
}

static void vrange_test_no_merge_other_behavior(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want want[] = {
		{ VRP(0), VRP(2), 0 },
		{ VRP(2), VRP(4), VRANGE_PARTIAL },
		{ VRP(4), VRP(6), VRANGE_ZEROFILL },
	};

	mark(test, root, 0, 2, 0);
	mark(test, root, 2, 4, VRANGE_PARTIAL);
	mark(test, root, 4, 6, VRANGE_ZEROFILL);
	vr_expect(test, root, want, ARRAY_SIZE(want));
}

static void vrange_test_overlap_and_nested(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want want[] = { { VRP(0), VRP(6), 0 } };

	mark(test, root, 0, 4, 0);
	mark(test, root, 2, 6, 0);
	mark(test, root, 1, 2, 0);
	mark(test, root, 0, 6, 0);
	vr_expect(test, root, want, ARRAY_SIZE(want));
}

static void vrange_test_mark_bridges_ranges(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want want[] = { { VRP(0), VRP(20), 0 } };

	mark(test, root, 0, 2, 0);
	mark(test, root, 5, 6, 0);
	mark(test, root, 9, 12, 0);
	mark(test, root, 18, 20, 0);
	mark(test, root, 1, 19, 0);
	vr_expect(test, root, want, ARRAY_SIZE(want));
}

static void vrange_test_behavior_change_splits(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want want[] = {
		{ VRP(0), VRP(3), 0 },
		{ VRP(3), VRP(5), VRANGE_PARTIAL },
		{ VRP(5), VRP(10), 0 },
	};

	mark(test, root, 0, 10, 0);
	mark(test, root, 3, 5, VRANGE_PARTIAL);
	vr_expect(test, root, want, ARRAY_SIZE(want));
}

static void vrange_test_unmark_splits(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want want[] = {
		{ VRP(0), VRP(3), 0 },
		{ VRP(5), VRP(10), 0 },
	};

	mark(test, root, 0, 10, 0);
	KUNIT_EXPECT_EQ(test, 0, unmark(test, root, 3, 5));
	vr_expect(test, root, want, ARRAY_SIZE(want));
}

static void vrange_test_unmark_across_ranges(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want want[] = {
		{ VRP(0), VRP(1), 0 },
		{ VRP(9), VRP(10), VRANGE_PARTIAL },
	};

	mark(test, root, 0, 3, 0);
	mark(test, root, 4, 6, VRANGE_ZEROFILL);
	mark(test, root, 7, 10, VRANGE_PARTIAL);
	KUNIT_EXPECT_EQ(test, 0, unmark(test, root, 1, 9));
	vr_expect(test, root, want, ARRAY_SIZE(want));
	/* Unmarking what is not volatile is a no-op that reports nothing. */
	KUNIT_EXPECT_EQ(test, 0, unmark(test, root, 20, 30));
	vr_expect(test, root, want, ARRAY_SIZE(want));
}

static void vrange_test_purge_report_is_per_part(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want after_purge[] = {
		{ VRP(0), VRP(4), VR_PURGED },
		{ VRP(4), VRP(10), 0 },
	};
	static const struct vr_want after_unmark[] = {
		{ VRP(0), VRP(2), VR_PURGED },
		{ VRP(5), VRP(6), 0 },
		{ VRP(8), VRP(10), 0 },
	};

	mark(test, root, 0, 10, 0);
	purge(test, root, 0, 4);
	vr_expect(test, root, after_purge, ARRAY_SIZE(after_purge));
	/* The unpurged part of the same old range reports nothing... */
	KUNIT_EXPECT_EQ(test, 0, unmark(test, root, 6, 8));
	/* ...and a part that overlaps the purge reports it. */
	KUNIT_EXPECT_EQ(test, 1, unmark(test, root, 2, 5));
	vr_expect(test, root, after_unmark, ARRAY_SIZE(after_unmark));
}

static void vrange_test_remark_keeps_report(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want want[] = {
		{ VRP(0), VRP(4), VR_PURGED },
		{ VRP(4), VRP(8), 0 },
	};

	mark(test, root, 0, 4, 0);
	purge(test, root, 0, 4);
	/* Re-marking keeps the report; purged and unpurged never merge. */
	mark(test, root, 0, 8, 0);
	vr_expect(test, root, want, ARRAY_SIZE(want));
	KUNIT_EXPECT_EQ(test, 1, unmark(test, root, 0, 8));
	/* Once returned, the report is gone. */
	KUNIT_EXPECT_EQ(test, 0, unmark(test, root, 0, 8));
	vr_expect(test, root, NULL, 0);
}

static void vrange_test_mark_over_mixed_parts(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want want[] = {
		{ VRP(0), VRP(10), 0 },
		{ VRP(10), VRP(20), VR_PURGED },
		{ VRP(20), VRP(30), 0 },
		{ VRP(30), VRP(40), VR_PURGED },
		{ VRP(40), VRP(110), 0 },
	};

	/*
	 * Many output segments early and many input ranges that coalesce
	 * late: the edit must not run out of nodes half-way.
	 */
	mark(test, root, 10, 20, 0);
	mark(test, root, 30, 40, 0);
	purge(test, root, 10, 20);
	purge(test, root, 30, 40);
	mark(test, root, 50, 60, 0);
	mark(test, root, 70, 80, 0);
	mark(test, root, 90, 95, 0);
	mark(test, root, 100, 110, 0);
	mark(test, root, 0, 100, 0);
	vr_expect(test, root, want, ARRAY_SIZE(want));
}

static void vrange_test_many_ranges(struct kunit *test)
{
	struct vrange_root *root = vr_test_root(test);
	static const struct vr_want want[] = { { VRP(0), VRP(2000), 0 } };
	int i;

	for (i = 0; i < 1000; i++)
		mark(test, root, 2 * i, 2 * i + 1, 0);
	KUNIT_EXPECT_EQ(test, root->nr_pages, 1000UL);
	for (i = 0; i < 1000; i++)
		mark(test, root, 2 * i + 1, 2 * i + 2, 0);
	vr_expect(test, root, want, ARRAY_SIZE(want));
}

static struct kunit_case vrange_test_cases[] = {
	KUNIT_CASE(vrange_test_merge_adjacent),
	KUNIT_CASE(vrange_test_no_merge_other_behavior),
	KUNIT_CASE(vrange_test_overlap_and_nested),
	KUNIT_CASE(vrange_test_mark_bridges_ranges),
	KUNIT_CASE(vrange_test_behavior_change_splits),
	KUNIT_CASE(vrange_test_unmark_splits),
	KUNIT_CASE(vrange_test_unmark_across_ranges),
	KUNIT_CASE(vrange_test_purge_report_is_per_part),
	KUNIT_CASE(vrange_test_remark_keeps_report),
	KUNIT_CASE(vrange_test_mark_over_mixed_parts),
	KUNIT_CASE(vrange_test_many_ranges),
	{}
};

static struct kunit_suite vrange_test_suite = {
	.name = "vrange",
	.test_cases = vrange_test_cases,
};

kunit_test_suite(vrange_test_suite);
