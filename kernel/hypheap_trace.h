/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hypheap trace events (tracefs events/hypheap/): what debugfs counts, one
 * event per buffer operation, for builds without debugfs (production
 * Android and automotive kernels).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM hypheap

#if !defined(_HYPHEAP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _HYPHEAP_TRACE_H

#include <linux/tracepoint.h>
#include <linux/types.h>

TRACE_EVENT(hypheap_alloc,
	    TP_PROTO(const char *heap, size_t len, int ret),
	    TP_ARGS(heap, len, ret),
	    TP_STRUCT__entry(__string(heap, heap)
			     __field(size_t, len)
			     __field(int, ret)),
	    TP_fast_assign(__assign_str(heap, heap);
			   __entry->len = len;
			   __entry->ret = ret;),
	    TP_printk("heap=%s len=%zu ret=%d", __get_str(heap), __entry->len,
		      __entry->ret)
);

DECLARE_EVENT_CLASS(hypheap_owners,
		    TP_PROTO(const char *heap, size_t len, u64 owners, int ret),
		    TP_ARGS(heap, len, owners, ret),
		    TP_STRUCT__entry(__string(heap, heap)
				     __field(size_t, len)
				     __field(u64, owners)
				     __field(int, ret)),
		    TP_fast_assign(__assign_str(heap, heap);
				   __entry->len = len;
				   __entry->owners = owners;
				   __entry->ret = ret;),
		    TP_printk("heap=%s len=%zu owners=%#llx ret=%d",
			      __get_str(heap), __entry->len, __entry->owners,
			      __entry->ret)
);

/* owners: who owns the memory after the call; 0 when that is not known */
DEFINE_EVENT(hypheap_owners, hypheap_restrict,
	     TP_PROTO(const char *heap, size_t len, u64 owners, int ret),
	     TP_ARGS(heap, len, owners, ret)
);

DEFINE_EVENT(hypheap_owners, hypheap_unrestrict,
	     TP_PROTO(const char *heap, size_t len, u64 owners, int ret),
	     TP_ARGS(heap, len, owners, ret)
);

TRACE_EVENT(hypheap_quarantine,
	    TP_PROTO(const char *heap, size_t len, int err),
	    TP_ARGS(heap, len, err),
	    TP_STRUCT__entry(__string(heap, heap)
			     __field(size_t, len)
			     __field(int, err)),
	    TP_fast_assign(__assign_str(heap, heap);
			   __entry->len = len;
			   __entry->err = err;),
	    TP_printk("heap=%s len=%zu err=%d", __get_str(heap), __entry->len,
		      __entry->err)
);

/* one pass of the retry worker: buffers left, and the delay to the next */
TRACE_EVENT(hypheap_retry,
	    TP_PROTO(const char *heap, unsigned int left, unsigned int next_ms),
	    TP_ARGS(heap, left, next_ms),
	    TP_STRUCT__entry(__string(heap, heap)
			     __field(unsigned int, left)
			     __field(unsigned int, next_ms)),
	    TP_fast_assign(__assign_str(heap, heap);
			   __entry->left = left;
			   __entry->next_ms = next_ms;),
	    TP_printk("heap=%s left=%u next_ms=%u", __get_str(heap),
		      __entry->left, __entry->next_ms)
);

/*
 * Where a buffer's time goes in the kernel (enum hypheap_phase): one event
 * per phase of a buffer's life, with the phase's duration. The clock is
 * only read while the event is enabled.
 */
TRACE_EVENT(hypheap_phase,
	    TP_PROTO(unsigned int phase, u64 bytes, u64 ns),
	    TP_ARGS(phase, bytes, ns),
	    TP_STRUCT__entry(__field(unsigned int, phase)
			     __field(u64, bytes)
			     __field(u64, ns)),
	    TP_fast_assign(__entry->phase = phase;
			   __entry->bytes = bytes;
			   __entry->ns = ns;),
	    TP_printk("phase=%s bytes=%llu ns=%llu",
		      __print_symbolic(__entry->phase,
				       { HYPHEAP_PHASE_ALLOC, "alloc" },
				       { HYPHEAP_PHASE_ZERO, "zero" },
				       { HYPHEAP_PHASE_CLEAN, "clean" },
				       { HYPHEAP_PHASE_DESC, "desc" },
				       { HYPHEAP_PHASE_HVC, "hvc" },
				       { HYPHEAP_PHASE_FREE, "free" },
				       { HYPHEAP_PHASE_POOL_SCRUB, "pool_scrub" }),
		      __entry->bytes, __entry->ns)
);

/* a heap pool: a buffer taken from it, put into it, given back by it */
DECLARE_EVENT_CLASS(hypheap_pool_buf,
		    TP_PROTO(const char *heap, size_t len, u64 pool_bytes),
		    TP_ARGS(heap, len, pool_bytes),
		    TP_STRUCT__entry(__string(heap, heap)
				     __field(size_t, len)
				     __field(u64, pool_bytes)),
		    TP_fast_assign(__assign_str(heap, heap);
				   __entry->len = len;
				   __entry->pool_bytes = pool_bytes;),
		    TP_printk("heap=%s len=%zu pool_bytes=%llu",
			      __get_str(heap), __entry->len,
			      __entry->pool_bytes)
);

DEFINE_EVENT(hypheap_pool_buf, hypheap_pool_take,
	     TP_PROTO(const char *heap, size_t len, u64 pool_bytes),
	     TP_ARGS(heap, len, pool_bytes)
);

DEFINE_EVENT(hypheap_pool_buf, hypheap_pool_put,
	     TP_PROTO(const char *heap, size_t len, u64 pool_bytes),
	     TP_ARGS(heap, len, pool_bytes)
);

DEFINE_EVENT(hypheap_pool_buf, hypheap_pool_give_back,
	     TP_PROTO(const char *heap, size_t len, u64 pool_bytes),
	     TP_ARGS(heap, len, pool_bytes)
);

#endif /* _HYPHEAP_TRACE_H */

/* out of tree: kbuild adds -I$(src) for the file that creates the points */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE hypheap_trace
#include <trace/define_trace.h>
