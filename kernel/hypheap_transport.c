// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap conduits: a transport (how an assign request reaches the
 * hypervisor) with the bounded scratch memory batching needs.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/err.h>
#include <linux/slab.h>

#include "hypheap_priv.h"

/**
 * hypheap_conduit_create() - wrap a transport instance
 * @ops: the transport
 * @priv: its data, handed to @ops->destroy when the last reference goes
 * @max_ranges: most ranges one @ops->assign call accepts, at least 1
 *
 * Return: the conduit with one reference, or an ERR_PTR(). On error
 * @priv is left to the caller.
 */
struct hypheap_conduit *
hypheap_conduit_create(const struct hypheap_transport_ops *ops, void *priv,
		       unsigned int max_ranges)
{
	struct hypheap_conduit *c;

	if (!max_ranges)
		return ERR_PTR(-EINVAL);

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);

	c->ranges = kvcalloc(max_ranges, sizeof(*c->ranges), GFP_KERNEL);
	if (!c->ranges) {
		kfree(c);
		return ERR_PTR(-ENOMEM);
	}
	c->ops = ops;
	c->priv = priv;
	c->max_ranges = max_ranges;
	mutex_init(&c->lock);
	kref_init(&c->ref);
	return c;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_conduit_create);

/**
 * hypheap_conduit_get() - take a reference
 * @c: conduit
 */
void hypheap_conduit_get(struct hypheap_conduit *c)
{
	kref_get(&c->ref);
}

static void hypheap_conduit_release(struct kref *ref)
{
	struct hypheap_conduit *c = container_of(ref, struct hypheap_conduit,
						 ref);

	if (c->ops->destroy)
		c->ops->destroy(c);
	mutex_destroy(&c->lock);
	kvfree(c->ranges);
	kfree(c);
}

/**
 * hypheap_conduit_put() - drop a reference, destroying on the last one
 * @c: conduit
 */
void hypheap_conduit_put(struct hypheap_conduit *c)
{
	kref_put(&c->ref, hypheap_conduit_release);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_conduit_put);
