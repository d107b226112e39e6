// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap platform driver: binds to the /firmware/hypheap node the
 * hypervisor adds to the device tree (docs/dt-binding.md), checks that the
 * hypervisor behind the conduit is ours, and registers one heap per child,
 * served by the backend its hypheap,backend names: "hyp" (kernel pages,
 * MEM_ASSIGN), "cma" (one chunk of its memory-region per buffer,
 * MEM_ASSIGN), "ffa-lend" (blocks lent to the secure VM with FF-A,
 * sub-allocated) or "carveout" (buffers the secure VM allocates from its
 * carve-out pool). Without the property, a child with a memory-region is
 * "cma", any other "hyp".
 *
 * Unbinding detaches the backend from the heaps: they stay (a dma-heap
 * cannot be removed), allocation fails with -ENODEV, and live buffers are
 * still reclaimed through the backend they hold. Binding again attaches
 * the new backend to the same heaps.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/platform_device.h>
#include <linux/string.h>

#include "hypheap_priv.h"

/**
 * struct hypheap_drvdata - what one bound device set up
 * @conduit: the way to the hypervisor
 * @backend: the hyp backend, shared by every "hyp" heap
 * @heaps: the heaps of the child nodes
 * @backends: the backend of each of @heaps (a reference each)
 * @nr_heaps: entries in @heaps
 */
struct hypheap_drvdata {
	struct hypheap_conduit *conduit;
	struct hypheap_backend *backend;
	struct hypheap_heap **heaps;
	struct hypheap_backend **backends;
	unsigned int nr_heaps;
};

/*
 * One hypervisor, one bound device: the heaps and hypheap_assign_mem()'s
 * conduit are global, so a second device would take them over and leave
 * them without a hypervisor when it goes.
 */
static DEFINE_MUTEX(hypheap_bound_lock);
static struct device *hypheap_bound; /* protected by hypheap_bound_lock */

static int hypheap_claim(struct device *dev)
{
	int ret = 0;

	mutex_lock(&hypheap_bound_lock);
	if (hypheap_bound) {
		dev_err(dev, "%s is bound already: one hypheap device at a time\n",
			dev_name(hypheap_bound));
		ret = -EBUSY;
	} else {
		hypheap_bound = dev;
	}
	mutex_unlock(&hypheap_bound_lock);
	return ret;
}

static void hypheap_unclaim(struct device *dev)
{
	mutex_lock(&hypheap_bound_lock);
	if (hypheap_bound == dev)
		hypheap_bound = NULL;
	mutex_unlock(&hypheap_bound_lock);
}

static int hypheap_parse_vmperms(struct device *dev, struct device_node *np,
				 struct hypheap_vmperm *vm)
{
	u32 cells[2 * HYPHEAP_MAX_DEST];
	int n, i;

	n = of_property_count_u32_elems(np, "hypheap,vmperms");
	if (n <= 0 || n % 2 || n > ARRAY_SIZE(cells)) {
		dev_err(dev, "%pOF: hypheap,vmperms must be 1 to %u <vmid perms> pairs\n",
			np, HYPHEAP_MAX_DEST);
		return -EINVAL;
	}
	of_property_read_u32_array(np, "hypheap,vmperms", cells, n);
	for (i = 0; i < n / 2; i++) {
		vm[i].vmid = cells[2 * i];
		vm[i].perms = cells[2 * i + 1];
	}
	if (hypheap_vmperm_check(vm, n / 2)) {
		dev_err(dev, "%pOF: invalid hypheap,vmperms\n", np);
		return -EINVAL;
	}
	return n / 2;
}

/* hypheap,max-bytes, or the default: a part of RAM. */
static int hypheap_parse_limit(struct device *dev, struct device_node *np,
			       u64 *limit)
{
	int ret;

	*limit = hypheap_default_limit();
	ret = of_property_read_u64(np, "hypheap,max-bytes", limit);
	if (ret == -EINVAL)
		return 0;	/* absent */
	if (ret || !*limit) {
		dev_err(dev, "%pOF: hypheap,max-bytes must be one non-zero u64\n",
			np);
		return -EINVAL;
	}
	return 0;
}

/* hypheap,pool-bytes: 0 when absent (no pool). */
static int hypheap_parse_pool(struct device *dev, struct device_node *np,
			      u64 *bytes)
{
	int ret;

	*bytes = 0;
	ret = of_property_read_u64(np, "hypheap,pool-bytes", bytes);
	if (ret == -EINVAL)
		return 0;	/* absent */
	if (ret || !*bytes || !PAGE_ALIGNED(*bytes)) {
		dev_err(dev, "%pOF: hypheap,pool-bytes must be one non-zero u64, a page multiple\n",
			np);
		return -EINVAL;
	}
	return 0;
}

/*
 * A heap pool keeps freed buffers lent, so it needs the kernel-pages
 * backend and a heap lent to one secure VM alone (a share would leave
 * pooled pages visible to the host). The hypervisor zeroes a buffer in
 * place where it can (ABI 1.8); an older one leaves that to the secure
 * VM's FILL, which needs VM 10 (the only one that runs a FILL) and write
 * access.
 */
static int hypheap_probe_pool(struct device *dev, struct device_node *np,
			      struct hypheap_heap *heap,
			      struct hypheap_backend *be,
			      struct hypheap_drvdata *d)
{
	const struct hypheap_pool_ops *ops = NULL;
	u64 bytes;
	int ret;

	ret = hypheap_parse_pool(dev, np, &bytes);
	if (ret || !bytes)
		return ret;
	/* one destination: a secure VM alone (hypheap_heap_dst_check()) */
	if (be == d->backend && heap->nr_dst == 1) {
		if (d->conduit->scrubs_in_place)
			ops = &hypheap_pool_hyp_ops;
#ifdef HYPHEAP_HAVE_FFA
		else if (heap->dst[0].vmid == HYPHEAP_VMID_SECURE_0 &&
			 heap->dst[0].perms & HYPHEAP_PERM_W)
			ops = &hypheap_pool_svm_ops;
#endif
	}
	if (!ops) {
		dev_err(dev, "%pOF: hypheap,pool-bytes needs backend \"hyp\", a heap lent to one secure VM alone, and a hypervisor of ABI 1.8 (or the secure VM's client, FF-A, and a heap lent to VM %u writable)\n",
			np, HYPHEAP_VMID_SECURE_0);
		return -EINVAL;
	}
	ret = hypheap_pool_enable(&heap->pool, be, d->conduit, bytes, ops,
				  NULL);
	if (ret)
		dev_err(dev, "heap %s: no pool: %d\n", heap->name, ret);
	else
		dev_info(dev, "heap %s: pool of %llu bytes, zeroed by: %s\n",
			 heap->name, bytes, ops->name);
	return ret;
}

/* Find or make the heap of one child node and bind it to @be. */
static struct hypheap_heap *hypheap_probe_heap(struct device *dev,
					       struct device_node *np,
					       struct hypheap_backend *be,
					       u32 host_vmid)
{
	struct hypheap_vmperm vm[HYPHEAP_MAX_DEST];
	const char *name, *use_name = NULL;
	struct hypheap_heap *heap;
	struct hypheap_use use;
	int nr, ret, use_case;
	u64 limit;

	if (of_property_read_string(np, "hypheap,heap-name", &name)) {
		dev_err(dev, "%pOF: no hypheap,heap-name\n", np);
		return ERR_PTR(-EINVAL);
	}
	ret = of_property_read_string(np, "hypheap,use-case", &use_name);
	use_case = ret && ret != -EINVAL ? ret :
		   hypheap_heap_use_case(name, use_name);
	if (use_case < 0) {
		dev_err(dev, "%pOF: hypheap,use-case must be \"secure-video\", \"trusted-ui\" or \"secure-video-record\", and the name's if it has one\n",
			np);
		return ERR_PTR(-EINVAL);
	}
	nr = hypheap_parse_vmperms(dev, np, vm);
	if (nr < 0)
		return ERR_PTR(nr);
	if (hypheap_heap_dst_check(vm, nr, host_vmid)) {
		dev_err(dev, "%pOF: hypheap,vmperms: the hypervisor lends to one secure VM, shared with the host or not\n",
			np);
		return ERR_PTR(-EINVAL);
	}
	use = (struct hypheap_use){ .name = name, .dst = vm, .nr_dst = nr,
				    .use_case = use_case };
	if (be->ops->use_ok && !be->ops->use_ok(&use)) {
		dev_err(dev, "%pOF: backend %s cannot serve this heap's destinations or use case (docs/dt-binding.md)\n",
			np, be->name);
		return ERR_PTR(-EINVAL);
	}
	ret = hypheap_parse_limit(dev, np, &limit);
	if (ret)
		return ERR_PTR(ret);

	heap = hypheap_heap_find(name);
	if (heap) {
		/* bound before: the destinations must not have changed */
		if (heap->nr_dst != nr ||
		    memcmp(heap->dst, vm, nr * sizeof(*vm)) ||
		    heap->use.use_case != use_case) {
			dev_err(dev, "heap %s exists with other destinations or use case\n",
				name);
			return ERR_PTR(-EINVAL);
		}
		WRITE_ONCE(heap->limit, limit);
		hypheap_heap_set_backend(heap, be);
		return heap;
	}

	heap = hypheap_heap_create(name, vm, nr, host_vmid);
	if (IS_ERR(heap))
		return heap;
	heap->use.use_case = use_case;
	heap->limit = limit;
	hypheap_heap_set_backend(heap, be);
	ret = hypheap_heap_register(heap);
	if (ret) {
		dev_err(dev, "cannot register heap %s: %d\n", name, ret);
		hypheap_heap_destroy(heap);
		return ERR_PTR(ret);
	}
	return heap;
}

static struct hypheap_conduit *hypheap_probe_conduit(struct device *dev)
{
	const char *method;

	if (of_property_read_string(dev->of_node, "method", &method)) {
		dev_err(dev, "no method property\n");
		return ERR_PTR(-EINVAL);
	}
	if (!strcmp(method, "hvc"))
		return hypheap_smccc_create(dev, true);
	if (!strcmp(method, "smc"))
		return hypheap_smccc_create(dev, false);
#ifdef HYPHEAP_HAVE_QCOM_SCM
	if (!strcmp(method, "qcom-scm"))
		return hypheap_qcom_create(dev);
#endif
#ifdef HYPHEAP_HAVE_XEN
	if (!strcmp(method, "xen"))
		return hypheap_xen_create(dev);
#endif
	dev_err(dev, "unsupported method \"%s\"\n", method);
	return ERR_PTR(-EINVAL);
}

/* The backend of one child, with a reference (docs/dt-binding.md). */
static struct hypheap_backend *
hypheap_probe_backend(struct device *dev, struct device_node *np,
		      struct hypheap_drvdata *d, u32 host_vmid)
{
	bool region = of_find_property(np, "memory-region", NULL);
	const char *name;

	if (of_property_read_string(np, "hypheap,backend", &name))
		name = region ? "cma" : "hyp";
	if (!strcmp(name, "hyp") && !region) {
		hypheap_backend_get(d->backend);
		return d->backend;
	}
	if (!strcmp(name, "cma"))
		return hypheap_cma_backend_create(dev, np, d->conduit,
						  host_vmid);
	if (!strcmp(name, "ffa-lend"))
		return hypheap_ffa_lend_backend_create(dev, np);
	if (!strcmp(name, "carveout") && !region)
		return hypheap_carveout_backend_create();
	dev_err(dev, "%pOF: hypheap,backend \"%s\" is not one this driver has%s\n",
		np, name, region ? " with a memory-region" : "");
	return ERR_PTR(-EINVAL);
}

/*
 * A benchmark heap (hypheap,use-case on a name without a use case of its
 * own: docs/dt-binding.md) that cannot bind, its backend missing on this
 * platform (no CMA, no FF-A) or refusing it, is left out with a warning:
 * the production heaps bind all the same. A production heap that cannot
 * bind still fails the probe, and so does a deferral, to be retried whole.
 */
static bool hypheap_probe_skip(struct device *dev, struct device_node *np,
			       int err)
{
	const char *name;

	if (err == -EPROBE_DEFER ||
	    !of_find_property(np, "hypheap,use-case", NULL) ||
	    of_property_read_string(np, "hypheap,heap-name", &name) ||
	    hypheap_use_case(name) != HYPHEAP_USE_NONE)
		return false;
	dev_warn(dev, "%pOF: benchmark heap left out (%d); the other heaps bind\n",
		 np, err);
	return true;
}

static void hypheap_unbind_heaps(struct hypheap_drvdata *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_heaps; i++) {
		/* a pooled buffer goes back through the backend it holds */
		hypheap_pool_disable(&d->heaps[i]->pool);
		hypheap_heap_set_backend(d->heaps[i], NULL);
		hypheap_backend_put(d->backends[i]);
	}
	hypheap_backend_put(d->backend);
}

static int hypheap_probe_claimed(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct device_node *child;
	struct hypheap_drvdata *d;
	struct hypheap_backend *be;
	struct hypheap_heap *heap;
	u32 host_vmid, abi;
	int ret;

	if (of_property_read_u32(dev->of_node, "hypheap,abi-version", &abi) ||
	    abi != HYPHEAP_ABI_VERSION_MAJOR) {
		dev_err(dev, "hypheap,abi-version missing or not %u\n",
			HYPHEAP_ABI_VERSION_MAJOR);
		return -EINVAL;
	}
	if (of_property_read_u32(dev->of_node, "hypheap,host-vmid",
				 &host_vmid) || host_vmid >= HYPHEAP_VMID_LIMIT) {
		dev_err(dev, "hypheap,host-vmid missing or invalid\n");
		return -EINVAL;
	}
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;

	d = devm_kzalloc(dev, sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->heaps = devm_kcalloc(dev, of_get_available_child_count(dev->of_node),
				sizeof(*d->heaps), GFP_KERNEL);
	d->backends = devm_kcalloc(dev,
				   of_get_available_child_count(dev->of_node),
				   sizeof(*d->backends), GFP_KERNEL);
	if (!d->heaps || !d->backends)
		return -ENOMEM;

	d->conduit = hypheap_probe_conduit(dev);
	if (IS_ERR(d->conduit))
		return PTR_ERR(d->conduit);

	d->backend = hypheap_hyp_backend_create(dev, d->conduit, host_vmid);
	if (IS_ERR(d->backend)) {
		ret = PTR_ERR(d->backend);
		goto err_conduit;
	}

	for_each_available_child_of_node(dev->of_node, child) {
		be = hypheap_probe_backend(dev, child, d, host_vmid);
		heap = IS_ERR(be) ? ERR_CAST(be) :
				    hypheap_probe_heap(dev, child, be, host_vmid);
		if (IS_ERR(heap)) {
			if (!IS_ERR(be))
				hypheap_backend_put(be);
			ret = PTR_ERR(heap);
			if (hypheap_probe_skip(dev, child, ret))
				continue;
			of_node_put(child);
			goto err_heaps;
		}
		d->backends[d->nr_heaps] = be;
		d->heaps[d->nr_heaps++] = heap;
		ret = hypheap_probe_pool(dev, child, heap, be, d);
		if (ret && hypheap_probe_skip(dev, child, ret)) {
			d->nr_heaps--;
			hypheap_pool_disable(&heap->pool);
			hypheap_heap_set_backend(heap, NULL);
			hypheap_backend_put(be);
			continue;
		}
		if (ret) {
			of_node_put(child);
			goto err_heaps;
		}
		dev_info(dev, "heap %s: %u destination VM(s), %s, at most %llu MiB, pool %llu MiB\n",
			 heap->name, heap->nr_dst, be->name,
			 heap->limit >> 20, heap->pool.max_bytes >> 20);
	}

	hypheap_set_default_conduit(d->conduit);
	platform_set_drvdata(pdev, d);
	return 0;

err_heaps:
	hypheap_unbind_heaps(d);
err_conduit:
	hypheap_conduit_put(d->conduit);
	return ret;
}

static int hypheap_probe(struct platform_device *pdev)
{
	int ret = hypheap_claim(&pdev->dev);

	if (ret)
		return ret;
	ret = hypheap_probe_claimed(pdev);
	if (ret)
		hypheap_unclaim(&pdev->dev);
	return ret;
}

static int hypheap_remove(struct platform_device *pdev)
{
	struct hypheap_drvdata *d = platform_get_drvdata(pdev);

	hypheap_set_default_conduit(NULL);
	hypheap_unbind_heaps(d);
	hypheap_conduit_put(d->conduit);
	hypheap_unclaim(&pdev->dev);
	return 0;
}

static const struct of_device_id hypheap_of_match[] = {
	{ .compatible = "hypheap,hypervisor" },
	{}
};
MODULE_DEVICE_TABLE(of, hypheap_of_match);

static struct platform_driver hypheap_driver = {
	.probe = hypheap_probe,
	.remove = hypheap_remove,
	.driver = {
		.name = "hypheap",
		.of_match_table = hypheap_of_match,
	},
};

/**
 * hypheap_probe_init() - register the platform driver
 *
 * Return: 0 or the error of platform_driver_register().
 */
int hypheap_probe_init(void)
{
	return platform_driver_register(&hypheap_driver);
}

/**
 * hypheap_probe_exit() - unregister the platform driver
 */
void hypheap_probe_exit(void)
{
	platform_driver_unregister(&hypheap_driver);
}
