/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vrange

#if !defined(_TRACE_VRANGE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_VRANGE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(vrange_range,
		    TP_PROTO(struct mm_struct *mm, unsigned long start,
			     unsigned long end, int arg),
		    TP_ARGS(mm, start, end, arg),
		    TP_STRUCT__entry(__field(struct mm_struct *, mm)
				     __field(unsigned long, start)
				     __field(unsigned long, end)
				     __field(int, arg)),
		    TP_fast_assign(__entry->mm = mm;
				   __entry->start = start;
				   __entry->end = end;
				   __entry->arg = arg;),
		    TP_printk("mm=%p %#lx-%#lx %d", __entry->mm,
			      __entry->start, __entry->end, __entry->arg)
);

/* vrange(VRANGE_VOLATILE): @arg is the behavior */
DEFINE_EVENT_PRINT(vrange_range, vrange_mark,
		   TP_PROTO(struct mm_struct *mm, unsigned long start,
			    unsigned long end, int arg),
		   TP_ARGS(mm, start, end, arg),
		   TP_printk("mm=%p %#lx-%#lx behavior=%#x", __entry->mm,
			     __entry->start, __entry->end, __entry->arg)
);

/* vrange(VRANGE_NOVOLATILE): @arg is what it returns */
DEFINE_EVENT_PRINT(vrange_range, vrange_unmark,
		   TP_PROTO(struct mm_struct *mm, unsigned long start,
			    unsigned long end, int arg),
		   TP_ARGS(mm, start, end, arg),
		   TP_printk("mm=%p %#lx-%#lx purged=%d", __entry->mm,
			     __entry->start, __entry->end, __entry->arg)
);

TRACE_EVENT(vrange_purge,
	    TP_PROTO(struct mm_struct *mm, unsigned long start,
		     unsigned long end, unsigned long nr_pages,
		     unsigned long nr_swap),
	    TP_ARGS(mm, start, end, nr_pages, nr_swap),
	    TP_STRUCT__entry(__field(struct mm_struct *, mm)
			     __field(unsigned long, start)
			     __field(unsigned long, end)
			     __field(unsigned long, nr_pages)
			     __field(unsigned long, nr_swap)),
	    TP_fast_assign(__entry->mm = mm;
			   __entry->start = start;
			   __entry->end = end;
			   __entry->nr_pages = nr_pages;
			   __entry->nr_swap = nr_swap;),
	    TP_printk("mm=%p %#lx-%#lx pages=%lu swap=%lu", __entry->mm,
		      __entry->start, __entry->end, __entry->nr_pages,
		      __entry->nr_swap)
);

#endif /* _TRACE_VRANGE_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
