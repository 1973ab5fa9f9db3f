/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - context: one DMA address space and its backend.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "backend/backend.h"
#include "internal.h"

#define VNIP_BACKEND_ENV "VNI_BACKEND"

const struct vnip_backend *const vnip_backends[] = {
	&vnip_backend_noiommu_cdev,
	&vnip_backend_legacy_group,
	&vnip_backend_iommufd,
	&vnip_backend_type1,
	NULL,
};

const struct vnip_backend *vnip_backend_by_id(int id)
{
	for (size_t i = 0; vnip_backends[i]; i++)
		if ((int)vnip_backends[i]->id == id)
			return vnip_backends[i];
	return NULL;
}

const struct vnip_backend *vnip_backend_by_name(const char *name)
{
	for (size_t i = 0; vnip_backends[i]; i++)
		if (strcmp(vnip_backends[i]->name, name) == 0)
			return vnip_backends[i];
	return NULL;
}

const char *vni_backend_name(int backend)
{
	const struct vnip_backend *b = vnip_backend_by_id(backend);

	if (backend == VNI_BACKEND_AUTO)
		return "auto";
	return b ? b->name : "?";
}

/* VNI_BACKEND: NULL (unset, empty or "auto") or the backend; -EINVAL. */
int vnip_backend_from_env(const struct vnip_backend **b)
{
	const char *s = secure_getenv(VNIP_BACKEND_ENV);

	*b = NULL;
	if (!s || !*s || strcmp(s, "auto") == 0)
		return 0;
	*b = vnip_backend_by_name(s);
	if (!*b)
		return vnip_err(-EINVAL, "%s=%s names no backend (use auto, noiommu, legacy, iommufd or type1)",
				VNIP_BACKEND_ENV, s);
	return 0;
}

int vni_ctx_new(struct vni_ctx **ctxp, unsigned int flags)
{
	const struct vnip_backend *forced;
	struct vni_ctx *ctx;
	int ret;

	if (!ctxp)
		return vnip_err(-EINVAL, "vni_ctx_new: NULL ctxp");
	if (flags)
		return vnip_err(-EINVAL, "vni_ctx_new: unknown flags %#x", flags);
	ret = vnip_backend_from_env(&forced);
	if (ret < 0)
		return ret;

	ctx = vnip_calloc(1, sizeof(*ctx));
	if (!ctx)
		return vnip_err(-ENOMEM, "vni_ctx_new: out of memory");
	ctx->iommufd = -1;
	ctx->container = -1;
	ctx->dma_bits = 64;
	ctx->backend = forced;
	ctx->forced = forced != NULL;

	ret = pthread_mutex_init(&ctx->lock, NULL);
	if (ret) {
		vnip_free(ctx);
		return vnip_err(-ret, "vni_ctx_new: pthread_mutex_init failed");
	}
	ret = vnip_xlate_init(&ctx->xlate);
	if (ret < 0) {
		ret = vnip_err(ret, "vni_ctx_new: cannot reserve the translation table");
		pthread_mutex_destroy(&ctx->lock);
		vnip_free(ctx);
		return ret;
	}
	vnip_info("context created, backend %s%s", forced ? forced->name : "auto",
		  forced ? " (" VNIP_BACKEND_ENV ")" : "");
	*ctxp = ctx;
	return 0;
}

int vni_ctx_set_backend(struct vni_ctx *ctx, int backend)
{
	const struct vnip_backend *b = vnip_backend_by_id(backend);
	int ret = 0;

	if (!ctx)
		return vnip_err(-EINVAL, "vni_ctx_set_backend: NULL ctx");
	if (!b && backend != VNI_BACKEND_AUTO)
		return vnip_err(-EINVAL, "vni_ctx_set_backend: unknown backend %d", backend);
	pthread_mutex_lock(&ctx->lock);
	if (ctx->ready)
		ret = vnip_err(-EBUSY, "vni_ctx_set_backend: the context already uses the %s "
			       "backend (chosen when %s was opened); set the backend before "
			       "the first vni_device_open()", ctx->backend->name, ctx->first_bdf);
	else {
		ctx->backend = b;
		ctx->forced = b != NULL;
	}
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

int vni_ctx_set_dma_mask(struct vni_ctx *ctx, unsigned int bits)
{
	int ret = 0;

	if (!ctx)
		return vnip_err(-EINVAL, "vni_ctx_set_dma_mask: NULL ctx");
	if (bits < 32 || bits > 64)
		return vnip_err(-EINVAL, "vni_ctx_set_dma_mask: %u bits is not in 32..64", bits);
	pthread_mutex_lock(&ctx->lock);
	if (ctx->ready)
		ret = vnip_err(-EBUSY, "vni_ctx_set_dma_mask: set the DMA mask before the first "
			       "vni_device_open()");
	else
		ctx->dma_bits = bits;
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

int vni_ctx_destroy(struct vni_ctx **ctxp)
{
	struct vni_ctx *ctx;

	if (!ctxp)
		return vnip_err(-EINVAL, "vni_ctx_destroy: NULL ctxp");
	ctx = *ctxp;
	if (!ctx)
		return vnip_err(-EBADF, "vni_ctx_destroy: the context was already destroyed (NULL)");

	pthread_mutex_lock(&ctx->lock);
	if (ctx->devices) {
		uint64_t n = atomic_load(&ctx->st_devices);

		pthread_mutex_unlock(&ctx->lock);
		return vnip_err(-EBUSY, "vni_ctx_destroy: %" PRIu64
				" device(s) still open: close them first", n);
	}
	if (ctx->npools) {
		size_t n = ctx->npools;

		pthread_mutex_unlock(&ctx->lock);
		return vnip_err(-EBUSY, "vni_ctx_destroy: %zu DMA pool(s) still exist: "
				"vni_dma_pool_destroy() them first", n);
	}
	vnip_dma_release_all(ctx);
	pthread_mutex_unlock(&ctx->lock);

	if (ctx->ready)
		ctx->backend->ctx_fini(ctx);
	vnip_xlate_fini(&ctx->xlate);
	vnip_free(ctx->maps);
	pthread_mutex_destroy(&ctx->lock);
	vnip_info("context destroyed");
	vnip_free(ctx);
	*ctxp = NULL;
	return 0;
}

int vni_ctx_backend(const struct vni_ctx *ctx)
{
	if (!ctx)
		return vnip_err(-EINVAL, "vni_ctx_backend: NULL ctx");
	return ctx->backend ? (int)ctx->backend->id : VNI_BACKEND_AUTO;
}

static int no_iommufd(const struct vni_ctx *ctx, const char *fn)
{
	if (!ctx->ready)
		return vnip_err_r(VNI_REASON_NO_DEVICE, -ENODEV, "%s: no device has been opened "
				  "yet: the context sets up its kernel objects for the backend "
				  "the first device needs", fn);
	return vnip_err(-EOPNOTSUPP, "%s: the %s backend uses no iommufd", fn,
			ctx->backend->name);
}

int vni_ctx_iommufd(const struct vni_ctx *ctx)
{
	if (!ctx)
		return vnip_err(-EINVAL, "vni_ctx_iommufd: NULL ctx");
	if (ctx->iommufd < 0)
		return no_iommufd(ctx, "vni_ctx_iommufd");
	return ctx->iommufd;
}

int vni_ctx_ioas_id(const struct vni_ctx *ctx, uint32_t *ioas_id)
{
	if (!ctx || !ioas_id)
		return vnip_err(-EINVAL, "vni_ctx_ioas_id: NULL argument");
	if (ctx->iommufd < 0)
		return no_iommufd(ctx, "vni_ctx_ioas_id");
	*ioas_id = ctx->ioas_id;
	return 0;
}

int vni_ctx_stats(const struct vni_ctx *ctx, struct vni_ctx_stats *out)
{
	struct vni_ctx_stats s = { 0 }, *st = &s;
	int ret;

	if (!ctx || !out)
		return vnip_err(-EINVAL, "vni_ctx_stats: NULL argument");
	ret = vnip_out_check(out, sizeof(*out), "vni_ctx_stats");
	if (ret < 0)
		return ret;
	st->get_pa_calls = atomic_load(&ctx->st_get_pa);
	st->map_calls = atomic_load(&ctx->st_map);
	st->unmap_calls = atomic_load(&ctx->st_unmap);
	st->mappings = atomic_load(&ctx->st_mappings);
	st->mapped_bytes = atomic_load(&ctx->st_bytes);
	st->runs = atomic_load(&ctx->st_runs);
	st->table_bytes = atomic_load(&ctx->xlate.table_bytes);
	st->leaf_2m = atomic_load(&ctx->xlate.leaf_2m);
	st->leaf_4k = atomic_load(&ctx->xlate.leaf_4k);
	st->devices = atomic_load(&ctx->st_devices);
	st->stuck_pins = atomic_load(&ctx->st_leaked_pins);
	vnip_out(out, st, sizeof(*st));
	return 0;
}
