/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfionoiommu - context: iommufd + one IOAS.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "compat/vni-uapi.h"
#include "internal.h"

int vni_ctx_new(struct vni_ctx **ctxp, unsigned int flags)
{
	struct iommu_ioas_alloc alloc;
	struct vni_ctx *ctx;
	int ret;

	if (!ctxp)
		return vnip_err(-EINVAL, "vni_ctx_new: NULL ctxp");
	if (flags)
		return vnip_err(-EINVAL, "vni_ctx_new: unknown flags %#x", flags);

	ctx = vnip_calloc(1, sizeof(*ctx));
	if (!ctx)
		return vnip_err(-ENOMEM, "vni_ctx_new: out of memory");
	ctx->iommufd = -1;
	ctx->backend = &vnip_backend_noiommu;

	ret = pthread_mutex_init(&ctx->lock, NULL);
	if (ret) {
		vnip_free(ctx);
		return vnip_err(-ret, "vni_ctx_new: pthread_mutex_init failed");
	}
	ret = vnip_xlate_init(&ctx->xlate);
	if (ret < 0) {
		ret = vnip_err(ret, "vni_ctx_new: cannot reserve the translation table");
		goto err_mutex;
	}

	ctx->iommufd = vnip_open(VNIP_DEV_IOMMU, O_RDWR);
	if (ctx->iommufd < 0) {
		ret = ctx->iommufd;
		if (ret == -ENOENT)
			ret = vnip_err(ret, "%s does not exist: the kernel needs "
				       "CONFIG_IOMMUFD (modprobe iommufd): "
				       VNIP_NOIOMMU_FIX, VNIP_DEV_IOMMU);
		else
			ret = vnip_err(ret, "cannot open %s", VNIP_DEV_IOMMU);
		goto err_xlate;
	}

	memset(&alloc, 0, sizeof(alloc));
	alloc.size = sizeof(alloc);
	ret = vnip_ioctl(ctx->iommufd, IOMMU_IOAS_ALLOC, &alloc);
	if (ret < 0) {
		ret = vnip_err(ret, "IOMMU_IOAS_ALLOC failed");
		goto err_fd;
	}
	ctx->ioas_id = alloc.out_ioas_id;
	vnip_info("context: iommufd %d, IOAS %u, backend %s", ctx->iommufd,
		  ctx->ioas_id, ctx->backend->name);
	*ctxp = ctx;
	return 0;

err_fd:
	vnip_close(ctx->iommufd);
err_xlate:
	vnip_xlate_fini(&ctx->xlate);
err_mutex:
	pthread_mutex_destroy(&ctx->lock);
	vnip_free(ctx);
	return ret;
}

int vni_ctx_destroy(struct vni_ctx **ctxp)
{
	struct iommu_destroy destroy;
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
	vnip_dma_release_all(ctx);
	pthread_mutex_unlock(&ctx->lock);

	memset(&destroy, 0, sizeof(destroy));
	destroy.size = sizeof(destroy);
	destroy.id = ctx->ioas_id;
	if (vnip_ioctl(ctx->iommufd, IOMMU_DESTROY, &destroy) < 0)
		vnip_debug("IOMMU_DESTROY of IOAS %u failed (closing the iommufd frees it)",
			   ctx->ioas_id);
	vnip_close(ctx->iommufd);
	vnip_xlate_fini(&ctx->xlate);
	vnip_free(ctx->maps);
	pthread_mutex_destroy(&ctx->lock);
	vnip_info("context: IOAS %u destroyed", ctx->ioas_id);
	vnip_free(ctx);
	*ctxp = NULL;
	return 0;
}

int vni_ctx_backend(const struct vni_ctx *ctx)
{
	if (!ctx)
		return vnip_err(-EINVAL, "vni_ctx_backend: NULL ctx");
	return (int)ctx->backend->id;
}

int vni_ctx_iommufd(const struct vni_ctx *ctx)
{
	if (!ctx)
		return vnip_err(-EINVAL, "vni_ctx_iommufd: NULL ctx");
	return ctx->iommufd;
}

int vni_ctx_ioas_id(const struct vni_ctx *ctx, uint32_t *ioas_id)
{
	if (!ctx || !ioas_id)
		return vnip_err(-EINVAL, "vni_ctx_ioas_id: NULL argument");
	*ioas_id = ctx->ioas_id;
	return 0;
}

int vni_ctx_stats(const struct vni_ctx *ctx, struct vni_ctx_stats *st)
{
	if (!ctx || !st)
		return vnip_err(-EINVAL, "vni_ctx_stats: NULL argument");
	memset(st, 0, sizeof(*st));
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
	return 0;
}
