/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Extensible structs (docs/usage.md): output structs carry struct_size,
 * which the caller sets; below the first version's size is -EINVAL, a
 * larger one (a program built against newer headers) gets this version's
 * bytes and nothing beyond, with struct_size saying how many. Input
 * structs keep reserved space that must be zero (-EINVAL otherwise).
 */
#include <errno.h>
#include <stdio.h>

#include "util.h"
#include "internal.h"

#define TAIL 32
#define CANARY 0xa5

/* Call fill(buf) with struct_size = size; buf has room for size + TAIL. */
struct out_case {
	const char *what;
	size_t size;                    /* this version's sizeof */
	int (*fill)(void *arg, void *buf);
};

static struct vni_ctx *g_ctx;
static struct vni_device *g_dev;
static void *g_buf;

static int f_stats(void *arg, void *buf)
{
	(void)arg;
	return vni_ctx_stats(g_ctx, buf);
}

static int f_devinfo(void *arg, void *buf)
{
	(void)arg;
	return vni_device_get_info(g_dev, buf);
}

static int f_region(void *arg, void *buf)
{
	(void)arg;
	return vni_device_region_info(g_dev, VNI_REGION_CONFIG, buf);
}

static int f_irq(void *arg, void *buf)
{
	(void)arg;
	return vni_device_irq_info(g_dev, VNI_IRQ_MSI, buf);
}

static int f_lookup(void *arg, void *buf)
{
	(void)arg;
	return vni_dma_lookup(g_ctx, g_buf, buf);
}

static struct vni_dma_pool *g_pool;

static int f_pool(void *arg, void *buf)
{
	(void)arg;
	return vni_dma_pool_info(g_pool, buf);
}

static void check_out(const struct out_case *c)
{
	unsigned char mem[512];
	uint32_t sizes_bad[] = { 0, 4, (uint32_t)c->size - 1 };
	uint32_t sz;

	assert_true(c->size + TAIL <= sizeof(mem));
	for (size_t i = 0; i < sizeof(sizes_bad) / sizeof(sizes_bad[0]); i++) {
		memset(mem, CANARY, sizeof(mem));
		memcpy(mem, &sizes_bad[i], sizeof(uint32_t));
		if (c->fill(NULL, mem) != -EINVAL)
			fail_msg("%s: struct_size %u accepted", c->what, sizes_bad[i]);
		assert_non_null(strstr(vni_strerror_last(), "struct_size"));
		for (size_t j = sizeof(uint32_t); j < sizeof(mem); j++)
			if (mem[j] != CANARY)
				fail_msg("%s: refused call wrote byte %zu", c->what, j);
	}
	/* exactly this version's size */
	memset(mem, CANARY, sizeof(mem));
	sz = (uint32_t)c->size;
	memcpy(mem, &sz, sizeof(sz));
	if (c->fill(NULL, mem) != 0)
		fail_msg("%s: %s", c->what, vni_strerror_last());
	memcpy(&sz, mem, sizeof(sz));
	assert_int_equal(sz, c->size);
	/* a newer, larger struct: this version's bytes, the tail untouched */
	memset(mem, CANARY, sizeof(mem));
	sz = (uint32_t)(c->size + TAIL);
	memcpy(mem, &sz, sizeof(sz));
	if (c->fill(NULL, mem) != 0)
		fail_msg("%s (larger): %s", c->what, vni_strerror_last());
	memcpy(&sz, mem, sizeof(sz));
	assert_int_equal(sz, c->size);
	for (size_t j = c->size; j < sizeof(mem); j++)
		if (mem[j] != CANARY)
			fail_msg("%s: wrote byte %zu beyond its struct (%zu bytes)", c->what, j,
				 c->size);
}

static void test_out_structs(void **state)
{
	const struct out_case cases[] = {
		{ "vni_ctx_stats", sizeof(struct vni_ctx_stats), f_stats },
		{ "vni_device_get_info", sizeof(struct vni_device_info), f_devinfo },
		{ "vni_device_region_info", sizeof(struct vni_region_info), f_region },
		{ "vni_device_irq_info", sizeof(struct vni_irq_info), f_irq },
		{ "vni_dma_lookup", sizeof(struct vni_dma_mapping_info), f_lookup },
		{ "vni_dma_pool_info", sizeof(struct vni_dma_pool_info), f_pool },
	};
	struct vni_device_info di = { .struct_size = sizeof(di) };

	(void)state;
	assert_ok(vni_ctx_new(&g_ctx, 0));
	assert_ok(vni_device_open(g_ctx, EDU, &g_dev));
	assert_ok(vni_dma_alloc(g_ctx, 4096, 0, &g_buf));
	assert_ok(vni_dma_pool_create(g_ctx, 64, 0, 0, &g_pool));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_out(&cases[i]);
	/* and the values arrive */
	assert_ok(vni_device_get_info(g_dev, &di));
	assert_int_equal(di.vendor, 0x1234);
	assert_int_equal(di.device, 0x11e8);
	assert_ok(vni_dma_pool_destroy(&g_pool));
	assert_ok(vni_dma_free(g_ctx, g_buf));
	assert_ok(vni_device_close(&g_dev));
	assert_ok(vni_ctx_destroy(&g_ctx));
}

static void test_in_reserved(void **state)
{
	struct vni_pci_dev_info *list = NULL;
	struct vni_pci_filter f;
	struct vni_pci_addr a;
	char buf[VNI_PCI_ADDR_STRLEN];
	size_t n = 0;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_ok(vni_pci_scan(&f, &list, &n));
	assert_int_equal(n, 4);
	vni_pci_list_free(list);
	for (size_t i = 0; i < sizeof(f.reserved) / sizeof(f.reserved[0]); i++) {
		memset(&f, 0, sizeof(f));
		f.reserved[i] = 1;
		list = (void *)1;
		assert_err(vni_pci_scan(&f, &list, &n), EINVAL);
		assert_null(list);
		assert_int_equal(n, 0);
	}
	memset(&f, 0, sizeof(f));
	f.flags = 1u << 7; /* no such match yet */
	assert_err(vni_pci_scan(&f, &list, &n), EINVAL);
	assert_non_null(strstr(vni_strerror_last(), "unknown filter flags"));
	memset(&f, 0, sizeof(f));
	f.flags = VNI_PCI_MATCH_ADDR;
	assert_ok(vni_pci_addr_parse(EDU, &f.addr));
	assert_ok(vni_pci_scan(&f, &list, &n));
	assert_int_equal(n, 1);
	vni_pci_list_free(list);
	f.addr.reserved[0] = 1;
	assert_err(vni_pci_scan(&f, &list, &n), EINVAL);

	assert_ok(vni_pci_addr_parse(EDU, &a));
	assert_ok(vni_pci_addr_format(&a, buf, sizeof(buf)));
	a.reserved[0] = 0x80;
	memset(buf, 'x', sizeof(buf));
	assert_err(vni_pci_addr_format(&a, buf, sizeof(buf)), EINVAL);
	assert_int_equal(buf[0], 'x');

	/* output-only reserved space is zeroed by the library */
	{
		struct vni_pci_dev_info info;

		memset(&info, 0x5a, sizeof(info));
		assert_ok(vni_pci_get(EDU, &info));
		for (size_t i = 0; i < sizeof(info.reserved) / sizeof(info.reserved[0]); i++)
			assert_int_equal(info.reserved[i], 0);
		assert_int_equal(info.addr.reserved[0], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_out_structs, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_in_reserved, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
