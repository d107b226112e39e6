/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU's edu PCI device (docs/specs/edu.rst in QEMU) as a DMA master the
 * host programs: test code only (the dma KUnit suite, hypheap_testmod).
 */
#ifndef HYPHEAP_EDU_H
#define HYPHEAP_EDU_H

#include <linux/pci.h>
#include <linux/types.h>

/*
 * Bytes per transfer: QEMU 7.2's edu stops QEMU with a hardware error on a
 * transfer that ends at the end of its 4 KiB buffer (its check is off by one).
 */
#define HYPHEAP_EDU_XFER	2048

/* The host's edu (-device edu,addr=2); slot 3 is the secure VM's stream. */
#define HYPHEAP_EDU_HOST_SLOT	2
#define HYPHEAP_EDU_SECURE_SLOT	3

/**
 * struct hypheap_edu - one edu, enabled as a bus master
 * @pdev: the device (a reference is held)
 * @regs: its BAR0
 */
struct hypheap_edu {
	struct pci_dev *pdev;
	void __iomem *regs;
};

int hypheap_edu_get(struct hypheap_edu *edu, unsigned int slot);
void hypheap_edu_put(struct hypheap_edu *edu);
int hypheap_edu_dma(struct hypheap_edu *edu, dma_addr_t ram, bool to_ram);

#endif /* HYPHEAP_EDU_H */
