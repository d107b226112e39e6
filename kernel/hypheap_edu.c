// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU's edu as a DMA master: find it on bus 0, enable it, and move
 * HYPHEAP_EDU_XFER bytes between its 4 KiB buffer and a bus address.
 */

#include <linux/delay.h>
#include <linux/io.h>
#include <linux/jiffies.h>

#include "hypheap_edu.h"

#define HHE_VENDOR	0x1234
#define HHE_DEVICE	0x11e8
#define HHE_DMA_SRC	0x80
#define HHE_DMA_DST	0x88
#define HHE_DMA_CNT	0x90
#define HHE_DMA_CMD	0x98
#define HHE_CMD_START	BIT(0)
#define HHE_CMD_TO_RAM	BIT(1)	/* edu buffer -> RAM; clear: RAM -> edu */
#define HHE_BUF		0x40000	/* the edu buffer's device address */
/* edu moves one transfer 100 ms (virtual) after it is started */
#define HHE_TIMEOUT_MS	5000

/**
 * hypheap_edu_get() - take the edu in slot @slot of bus 0 as a bus master
 * @edu: filled on success; give it back with hypheap_edu_put()
 * @slot: PCI slot (-device edu,addr=<slot>)
 *
 * Return: 0, -ENODEV if there is no edu there (the host was not given
 * PCIe), or the errno of enabling or mapping it.
 */
int hypheap_edu_get(struct hypheap_edu *edu, unsigned int slot)
{
	struct pci_dev *pdev = NULL;
	int ret;

	memset(edu, 0, sizeof(*edu));
	while ((pdev = pci_get_device(HHE_VENDOR, HHE_DEVICE, pdev)))
		if (!pdev->bus->number && PCI_SLOT(pdev->devfn) == slot)
			break;
	if (!pdev)
		return -ENODEV;
	ret = pci_enable_device_mem(pdev);
	if (ret)
		goto put;
	pci_set_master(pdev);
	edu->regs = pci_iomap(pdev, 0, 0);
	if (!edu->regs) {
		ret = -ENOMEM;
		goto disable;
	}
	edu->pdev = pdev;
	return 0;
disable:
	pci_clear_master(pdev);
	pci_disable_device(pdev);
put:
	pci_dev_put(pdev);
	return ret;
}

/**
 * hypheap_edu_put() - stop being its bus master and drop the reference
 * @edu: from hypheap_edu_get(), or zeroed (then nothing happens)
 */
void hypheap_edu_put(struct hypheap_edu *edu)
{
	if (!edu->pdev)
		return;
	pci_iounmap(edu->pdev, edu->regs);
	pci_clear_master(edu->pdev);
	pci_disable_device(edu->pdev);
	pci_dev_put(edu->pdev);
	memset(edu, 0, sizeof(*edu));
}

/**
 * hypheap_edu_dma() - one transfer between bus address @ram and the buffer
 * @edu: the device
 * @ram: bus address of HYPHEAP_EDU_XFER bytes
 * @to_ram: copy the edu buffer to @ram; false: copy @ram into the buffer
 *
 * Waits until edu clears START, which it does whether or not an IOMMU let
 * the bytes through: edu cannot report a failed transfer (a blocked read
 * fills its buffer with zeros, a blocked write changes nothing).
 *
 * Return: 0, or -ETIMEDOUT if the transfer did not end.
 */
int hypheap_edu_dma(struct hypheap_edu *edu, dma_addr_t ram, bool to_ram)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(HHE_TIMEOUT_MS);

	writeq(to_ram ? HHE_BUF : ram, edu->regs + HHE_DMA_SRC);
	writeq(to_ram ? ram : HHE_BUF, edu->regs + HHE_DMA_DST);
	writeq(HYPHEAP_EDU_XFER, edu->regs + HHE_DMA_CNT);
	writeq(HHE_CMD_START | (to_ram ? HHE_CMD_TO_RAM : 0),
	       edu->regs + HHE_DMA_CMD);
	while (readq(edu->regs + HHE_DMA_CMD) & HHE_CMD_START) {
		if (!time_before(jiffies, deadline))
			return -ETIMEDOUT;
		msleep(20);
	}
	return 0;
}
