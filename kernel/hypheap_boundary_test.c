// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "hypheap-boundary": the host tries every path outside its own
 * CPUs' stage 2 that could reach hypervisor or lent memory, as root on the
 * host would, and each must fail without a byte changing:
 *
 * - fw_cfg's DMA interface, told to write QEMU's signature into the
 *   hypervisor's image, its carve-out, the secure VMs' carve-out and a page
 *   lent to a secure VM;
 * - the GICv3 redistributors' LPI table registers (PROPBASER, PENDBASER),
 *   which would make the GIC read and write any physical address;
 * - every device the hypervisor kept from the host (disabled in the DT),
 *   every 2 MiB of the address space below RAM that no enabled device
 *   claims, the ITS's address, and IPAs above the host's IPA space.
 *
 * The hypervisor maps only allowlisted devices for the host (deny by
 * default), so each attempt either faults (-EFAULT from the nofault
 * accessors, counted once in STATS) or, for the redistributors, is emulated
 * with LPIs hidden. With "hypheap.attest" on the command line, the page lent
 * here stays lent and its CRC-32 is printed, for the boundary scenario to
 * compare with the hypervisor's own report at power-off.
 */

#include <kunit/test.h>
#include <linux/crc32.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/slab.h>

#include <hypheap/abi.h>

#include "hypheap_hyp_test_util.h"

/* QEMU's fw_cfg DMA interface (docs/specs/fw_cfg.txt in QEMU). */
#define HHB_FW_CFG_DMA_ADDR	16	/* be64 register: writing it starts a transfer */
#define HHB_FW_CFG_SIGNATURE	0x0000	/* key whose data is "QEMU" */
#define HHB_FW_CFG_DMA_READ	0x02
#define HHB_FW_CFG_DMA_SELECT	0x08

/* GICv3 redistributor RD_base registers (GICv3 spec 12.11). */
#define HHB_GICR_CTLR		0x0000
#define HHB_GICR_TYPER		0x0008
#define HHB_GICR_PROPBASER	0x0070
#define HHB_GICR_PENDBASER	0x0078
#define HHB_GICR_CTLR_ENABLE_LPIS	BIT(0)
#define HHB_GICR_TYPER_PLPIS		BIT(0)
#define HHB_GICR_TYPER_DIRECT_LPI	BIT(3)
#define HHB_GICR_TYPER_LAST		BIT(4)
#define HHB_GICR_TYPER_VLPIS		BIT(1)
#define HHB_GICR_FRAME			SZ_64K

/* Where QEMU virt puts the ITS (its=on); with its=off nothing is there. */
#define HHB_VIRT_ITS_BASE	0x08080000

#define HHB_HOST	HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST)
#define HHB_SVM0	HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0)
#define HHB_PATTERN	0xa5

/**
 * struct hhb_fw_cfg_dma - FWCfgDmaAccess, as QEMU reads it from memory
 * @control: big-endian; QEMU clears it when the transfer completes
 * @length: big-endian byte count
 * @address: big-endian physical destination
 */
struct hhb_fw_cfg_dma {
	__be32 control;
	__be32 length;
	__be64 address;
} __packed;

/**
 * struct hhb_ctx - one case's conduit and descriptor page
 * @hvc: the DT node's method is "hvc"
 * @desc: a host page for MEM_ASSIGN descriptors
 */
struct hhb_ctx {
	bool hvc;
	void *desc;
};

static int hhb_init(struct kunit *test)
{
	struct hhb_ctx *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	ctx->hvc = hypheap_ktest_conduit_hvc(test);
	ctx->desc = (void *)get_zeroed_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->desc);
	return 0;
}

static void hhb_exit(struct kunit *test)
{
	struct hhb_ctx *ctx = test->priv;

	if (ctx && ctx->desc)
		free_page((unsigned long)ctx->desc);
}

static struct hypheap_ktest_faults hhb_faults(struct kunit *test)
{
	struct hhb_ctx *ctx = test->priv;

	return hypheap_ktest_read_faults(test, ctx->hvc);
}

/*
 * One nofault access of @size bytes (8 or 16 bytes read, or one u64
 * written) at @pa through ioremap must come back -EFAULT and be counted
 * exactly once: refused at stage 2, not retried as spurious.
 */
static void hhb_expect_fault(struct kunit *test, phys_addr_t pa, bool write,
			     u64 value, const char *what)
{
	void __iomem *io = ioremap(pa & PAGE_MASK, PAGE_SIZE);
	struct hypheap_ktest_faults before, after;
	void *va;
	long ret;
	u64 got;

	KUNIT_ASSERT_TRUE_MSG(test, io, "ioremap %pa (%s)", &pa, what);
	va = (__force void *)io + offset_in_page(pa);
	before = hhb_faults(test);
	if (write)
		ret = hypheap_ktest_write_nofault(va, value);
	else
		ret = copy_from_kernel_nofault(&got, va, sizeof(got));
	after = hhb_faults(test);
	iounmap(io);
	KUNIT_EXPECT_EQ_MSG(test, ret, -EFAULT, "%s %s at %pa",
			    write ? "write" : "read", what, &pa);
	KUNIT_EXPECT_EQ_MSG(test, after.faults, before.faults + 1,
			    "host faults after the %s at %pa", what, &pa);
	KUNIT_EXPECT_EQ_MSG(test, after.injected, before.injected + 1,
			    "aborts injected after the %s at %pa", what, &pa);
}

/* The first "reg" of the first node compatible with @compat, enabled or not. */
static int hhb_find_reg(const char *compat, unsigned int index,
			struct resource *res, bool *available)
{
	struct device_node *np = of_find_compatible_node(NULL, NULL, compat);
	int ret;

	if (!np)
		return -ENODEV;
	ret = of_address_to_resource(np, index, res);
	if (available)
		*available = of_device_is_available(np);
	of_node_put(np);
	return ret;
}

/* /reserved-memory/<name>@...: a region the hypervisor described. */
static int hhb_find_region(const char *name, struct resource *res)
{
	struct device_node *rmem, *np;
	int ret = -ENODEV;

	rmem = of_find_node_by_path("/reserved-memory");
	if (!rmem)
		return -ENODEV;
	for_each_child_of_node(rmem, np) {
		if (of_node_name_eq(np, name)) {
			ret = of_address_to_resource(np, 0, res);
			of_node_put(np);
			break;
		}
	}
	of_node_put(rmem);
	return ret;
}

static bool hhb_attest_mode(void)
{
	const char *bootargs = NULL;
	struct device_node *chosen = of_find_node_by_path("/chosen");
	bool on = false;

	if (chosen && !of_property_read_string(chosen, "bootargs", &bootargs))
		on = strstr(bootargs, "hypheap.attest");
	of_node_put(chosen);
	return on;
}

/*
 * Ask fw_cfg to DMA its 4-byte signature to @target. QEMU starts the
 * transfer when the address register is written and clears the control
 * word when it is done, so an untouched control word proves no transfer ran.
 */
static void hhb_fw_cfg_dma_to(struct kunit *test, const struct resource *fw,
			      phys_addr_t target, const char *what)
{
	struct hhb_fw_cfg_dma *dma = kunit_kzalloc(test, sizeof(*dma),
						   GFP_KERNEL);
	const __be32 control = cpu_to_be32(HHB_FW_CFG_SIGNATURE << 16 |
					   HHB_FW_CFG_DMA_SELECT |
					   HHB_FW_CFG_DMA_READ);
	u32 after;

	KUNIT_ASSERT_NOT_NULL(test, dma);
	dma->control = control;
	dma->length = cpu_to_be32(4);
	dma->address = cpu_to_be64(target);
	hhb_expect_fault(test, fw->start + HHB_FW_CFG_DMA_ADDR, true,
			 (__force u64)cpu_to_be64(virt_to_phys(dma)), what);
	after = be32_to_cpu(READ_ONCE(dma->control));
	KUNIT_EXPECT_EQ_MSG(test, after, be32_to_cpu(control),
			    "fw_cfg ran the DMA to %s", what);
}

static void fw_cfg_is_kept_from_the_host(struct kunit *test)
{
	struct resource fw;
	bool available = true;

	KUNIT_ASSERT_EQ_MSG(test, hhb_find_reg("qemu,fw-cfg-mmio", 0, &fw,
					       &available), 0,
			    "QEMU virt always has fw_cfg in its DT");
	KUNIT_EXPECT_FALSE_MSG(test, available,
			       "fw_cfg must be disabled in the host DT");
	/* the data and selector registers are as unreachable as DMA */
	hhb_expect_fault(test, fw.start, false, 0, "fw_cfg data");
}

/*
 * The hyp image (its header's magic: text the hyp never runs again, hashed
 * by the attestation), the hyp carve-out (EL2 page tables first) and the
 * secure-VM carve-out and its carve-out pool.
 */
static void fw_cfg_dma_cannot_write_hyp_memory(struct kunit *test)
{
	static const struct {
		const char *region;
		resource_size_t offset;
	} targets[] = {
		{ "hypheap-hyp-image", 0x38 },
		{ "hypheap-hyp", 0 },
		{ "hypheap-secure-vm", 0 },
		{ "hypheap-secure-vm-pool", 0 },
	};
	struct resource fw, r;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, hhb_find_reg("qemu,fw-cfg-mmio", 0, &fw, NULL),
			0);
	for (i = 0; i < ARRAY_SIZE(targets); i++) {
		KUNIT_ASSERT_EQ_MSG(test, hhb_find_region(targets[i].region, &r),
				    0, "no /reserved-memory/%s",
				    targets[i].region);
		hhb_fw_cfg_dma_to(test, &fw, r.start + targets[i].offset,
				  targets[i].region);
	}
}

static void fw_cfg_dma_cannot_write_a_lent_page(struct kunit *test)
{
	struct hhb_ctx *ctx = test->priv;
	struct page *page = alloc_page(GFP_KERNEL);
	phys_addr_t pa;
	u64 owners = 0;
	u32 crc;
	long ret;

	KUNIT_ASSERT_NOT_NULL(test, page);
	memset(page_address(page), HHB_PATTERN, PAGE_SIZE);
	crc = crc32_le(~0U, page_address(page), PAGE_SIZE) ^ ~0U;
	pa = page_to_phys(page);
	ret = hypheap_ktest_assign_one(ctx->hvc, ctx->desc, HHB_HOST,
				       HYPHEAP_VMID_SECURE_0,
				       HYPHEAP_PERM_R | HYPHEAP_PERM_W, pa,
				       PAGE_SIZE, &owners);
	KUNIT_ASSERT_EQ_MSG(test, ret, (long)HYPHEAP_OK, "lend %pa", &pa);
	KUNIT_EXPECT_EQ(test, owners, HHB_SVM0);

	{
		struct resource fw;

		KUNIT_ASSERT_EQ(test, hhb_find_reg("qemu,fw-cfg-mmio", 0, &fw,
						   NULL), 0);
		hhb_fw_cfg_dma_to(test, &fw, pa, "a lent page");
	}

	if (hhb_attest_mode()) {
		/* left lent on purpose: the hyp hashes it at power-off */
		kunit_info(test, "lent page %pa crc32 %08x (kept lent)\n", &pa,
			   crc);
		return;
	}
	ret = hypheap_ktest_assign_one(ctx->hvc, ctx->desc, HHB_SVM0,
				       HYPHEAP_VMID_HOST, HYPHEAP_PERM_RWX, pa,
				       PAGE_SIZE, &owners);
	KUNIT_ASSERT_EQ_MSG(test, ret, (long)HYPHEAP_OK, "reclaim %pa", &pa);
	__free_page(page);
}

/*
 * Every redistributor answers as if it had no LPIs, and its LPI table
 * registers keep nothing the host writes into them.
 */
static void gic_redistributors_hide_lpis(struct kunit *test)
{
	struct resource gicr, image;
	void __iomem *io;
	resource_size_t off;
	unsigned int frames = 0;

	KUNIT_ASSERT_EQ(test, hhb_find_reg("arm,gic-v3", 1, &gicr, NULL), 0);
	KUNIT_ASSERT_EQ(test, hhb_find_region("hypheap-hyp-image", &image), 0);
	io = ioremap(gicr.start, resource_size(&gicr));
	KUNIT_ASSERT_TRUE(test, io);
	for (off = 0; off + 2 * HHB_GICR_FRAME <= resource_size(&gicr);) {
		void __iomem *rd = io + off;
		u64 typer = readq_relaxed(rd + HHB_GICR_TYPER);
		u32 ctlr = readl_relaxed(rd + HHB_GICR_CTLR);

		frames++;
		KUNIT_EXPECT_EQ_MSG(test, typer & (HHB_GICR_TYPER_PLPIS |
						   HHB_GICR_TYPER_DIRECT_LPI),
				    0ULL, "GICR_TYPER %llx of frame %u", typer,
				    frames);
		writeq_relaxed(image.start | 0x47, rd + HHB_GICR_PROPBASER);
		writeq_relaxed(image.start | 0x47, rd + HHB_GICR_PENDBASER);
		KUNIT_EXPECT_EQ(test, readq_relaxed(rd + HHB_GICR_PROPBASER),
				0ULL);
		KUNIT_EXPECT_EQ(test, readq_relaxed(rd + HHB_GICR_PENDBASER),
				0ULL);
		writel_relaxed(ctlr | HHB_GICR_CTLR_ENABLE_LPIS,
			       rd + HHB_GICR_CTLR);
		KUNIT_EXPECT_EQ(test, readl_relaxed(rd + HHB_GICR_CTLR) &
				HHB_GICR_CTLR_ENABLE_LPIS, 0U);
		off += (typer & HHB_GICR_TYPER_VLPIS ? 4 : 2) * HHB_GICR_FRAME;
		if (typer & HHB_GICR_TYPER_LAST)
			break;
	}
	iounmap(io);
	KUNIT_EXPECT_EQ(test, frames, num_possible_cpus());
}

/* True if @pa lies in a "reg" of a node the host DT leaves enabled. */
static bool hhb_in_enabled_device(phys_addr_t pa)
{
	struct device_node *np;
	struct resource res;
	int i;

	for (np = of_find_all_nodes(NULL); np; np = of_find_all_nodes(np)) {
		if (!of_device_is_available(np) || of_node_is_type(np, "memory"))
			continue;
		for (i = 0; !of_address_to_resource(np, i, &res); i++) {
			if (pa >= res.start && pa <= res.end) {
				of_node_put(np);
				return true;
			}
		}
	}
	return false;
}

/*
 * Independent of what the hypervisor wrote into the DT: below RAM, every
 * 2 MiB step that no enabled device claims must fault, and so must the
 * windows QEMU virt puts there (PCIe MMIO and PIO, flash bank 1, the
 * platform bus) and the high PCIe ECAM.
 */
static void address_space_outside_given_devices_faults(struct kunit *test)
{
	static const phys_addr_t virt_map[] = {
		0x04000000,	/* flash bank 1 */
		0x0c000000,	/* platform bus */
		0x10000000,	/* PCIe 32-bit MMIO */
		0x3eff0000,	/* PCIe PIO */
		0x4010000000,	/* PCIe ECAM (high) */
	};
	phys_addr_t ram_start, ram_end, pa;
	unsigned int probes = 0, i;

	hypheap_ktest_ram_bounds(&ram_start, &ram_end);
	for (pa = 0; pa < ram_start; pa += SZ_2M) {
		if (hhb_in_enabled_device(pa))
			continue;
		hhb_expect_fault(test, pa, false, 0, "device hole");
		probes++;
	}
	for (i = 0; i < ARRAY_SIZE(virt_map); i++)
		hhb_expect_fault(test, virt_map[i], false, 0, "QEMU virt window");
	kunit_info(test, "%u probes below RAM\n", probes);
	KUNIT_EXPECT_GE(test, probes, 500U);
}

/*
 * Each device the hypervisor did not give the host is disabled in the DT
 * and faults at its first register; so do the ITS's place and an IPA
 * above the host's IPA space that would alias host RAM if the hypervisor
 * looked only at the low bits.
 */
static void kept_devices_and_holes_fault(struct kunit *test)
{
	phys_addr_t ram_start, ram_end, alias;
	struct device_node *np;
	unsigned int kept = 0;
	struct resource res;

	for (np = of_find_all_nodes(NULL); np; np = of_find_all_nodes(np)) {
		if (of_device_is_available(np) ||
		    of_address_to_resource(np, 0, &res))
			continue;
		kunit_info(test, "kept from the host: %pOF %pR\n", np, &res);
		hhb_expect_fault(test, res.start, false, 0, np->full_name);
		kept++;
	}
	/* fw_cfg, 32 virtio-mmio transports, PCIe, the platform bus, flash */
	KUNIT_EXPECT_GE(test, kept, 35U);

	hhb_expect_fault(test, HHB_VIRT_ITS_BASE, false, 0, "ITS");
	hhb_expect_fault(test, HHB_VIRT_ITS_BASE, true, 0, "ITS");
	hypheap_ktest_ram_bounds(&ram_start, &ram_end);
	alias = ((phys_addr_t)1 << 39) + ram_start;
	hhb_expect_fault(test, alias, false, 0, "IPA 2^39 + RAM base");
	hhb_expect_fault(test, alias, true, 0, "IPA 2^39 + RAM base");
}

static struct kunit_case hypheap_boundary_cases[] = {
	KUNIT_CASE(fw_cfg_is_kept_from_the_host),
	KUNIT_CASE(fw_cfg_dma_cannot_write_hyp_memory),
	KUNIT_CASE(fw_cfg_dma_cannot_write_a_lent_page),
	KUNIT_CASE(gic_redistributors_hide_lpis),
	KUNIT_CASE(kept_devices_and_holes_fault),
	KUNIT_CASE(address_space_outside_given_devices_faults),
	{}
};

static struct kunit_suite hypheap_boundary_suite = {
	.name = "hypheap-boundary",
	.init = hhb_init,
	.exit = hhb_exit,
	.test_cases = hypheap_boundary_cases,
};

kunit_test_suite(hypheap_boundary_suite);

MODULE_DESCRIPTION("hypheap: KUnit attacks on the hypervisor's device boundary");
MODULE_LICENSE("GPL");
