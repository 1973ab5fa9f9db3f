// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * noiommu-privs [BDF]: who may use a noiommu device, and what pins cost.
 *
 *  - CAP_SYS_RAWIO is checked at VFIO_DEVICE_BIND_IOMMUFD, not only at
 *    open: root opens the noiommu cdev, passes the unbound fd over a UNIX
 *    socket (SCM_RIGHTS) to a child that dropped CAP_SYS_RAWIO, and the
 *    child's bind fails with EPERM. Root then binds the fd the child
 *    failed with, and a control child that kept the capability binds an
 *    fd passed the same way: the EPERM came from the capability, not from
 *    the fd or the passing. (Whether the child could open the cdev
 *    itself is printed, not judged.)
 *  - Memory accounting: root has CAP_IPC_LOCK, which turns iommufd's
 *    RLIMIT_MEMLOCK accounting off, so a child drops CAP_IPC_LOCK and sets
 *    RLIMIT_MEMLOCK to 64 KiB. With its device attached, IOAS_MAP of 16 KiB
 *    succeeds and IOAS_MAP of 1 MiB fails with ENOMEM, leaving exactly the
 *    16 KiB pinned; mapping 1 MiB into an IOAS without a device succeeds
 *    (nothing is pinned) and attaching the device there fails with ENOMEM,
 *    leaving nothing pinned; in the end no pin is left.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "kt-iommufd.h"
#include "kt-kstat.h"
#include "kt-mem.h"
#include "kt-tap.h"

#define IOVA 0x40000000ULL
#define LIMIT (64UL << 10)
#define SMALL (16UL << 10)
#define BIG (1UL << 20)

static const char *bdf;

static int send_fd(int sock, int fd)
{
	char data = 'f', ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl,
		.msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *cm;

	memset(ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char data, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl,
		.msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -errno;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

struct bind_result {
	int drop;	/* kt_drop_cap result */
	int open;	/* the child's own open of the cdev: fd >= 0 or -errno */
	int recv;
	int bind;
};

/* Child: (maybe) drop CAP_SYS_RAWIO, receive the fd, bind it, report. */
static void bind_child(int sock, int rfd, bool drop)
{
	struct bind_result r = { 0 };
	int fd, iommufd;

	if (drop)
		r.drop = kt_drop_cap(CAP_SYS_RAWIO);
	r.open = kt_open_cdev(bdf);
	if (r.open >= 0)
		close(r.open);
	fd = recv_fd(sock);
	r.recv = fd < 0 ? fd : 0;
	iommufd = kt_open_iommufd();
	r.bind = fd >= 0 && iommufd >= 0 ? kt_bind(fd, iommufd, NULL) : -EBADF;
	if (write(rfd, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

/* Runs bind_child with an fd of the cdev opened here; the fd stays open here. */
static int run_bind_child(bool drop, int devfd, struct bind_result *r)
{
	int sv[2], res[2], status, ret = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) || pipe2(res, O_CLOEXEC))
		kt_bail("socketpair/pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		kt_bail("fork: %s", strerror(errno));
	if (!pid) {
		close(sv[0]);
		close(res[0]);
		bind_child(sv[1], res[1], drop);
	}
	close(sv[1]);
	close(res[1]);
	if (send_fd(sv[0], devfd))
		ret = -EIO;
	if (read(res[0], r, sizeof(*r)) != sizeof(*r))
		ret = -EIO;
	close(sv[0]);
	close(res[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		ret = -ECHILD;
	return ret;
}

static void bind_needs_rawio(void)
{
	struct bind_result r;
	int fd1, fd2, iommufd, ret;

	fd1 = kt_open_cdev(bdf);
	fd2 = kt_open_cdev(bdf);
	if (fd1 < 0 || fd2 < 0)
		kt_bail("open the noiommu cdev as root: %s", kt_errname(fd1 < 0 ? fd1 : fd2));

	ret = run_bind_child(true, fd1, &r);
	kt_diag("child without CAP_SYS_RAWIO: its own open of the cdev: %s",
		r.open >= 0 ? "succeeded" : kt_errname(r.open));
	kt_check(!ret && !r.drop && !r.recv && r.bind == -EPERM,
		 "child without CAP_SYS_RAWIO (drop: %s), fd received over SCM_RIGHTS (%s): "
		 "VFIO_DEVICE_BIND_IOMMUFD %s (want EPERM)", kt_errname(r.drop),
		 kt_errname(r.recv), kt_errname(r.bind));

	iommufd = kt_open_iommufd();
	ret = iommufd < 0 ? iommufd : kt_bind(fd1, iommufd, NULL);
	kt_check(!ret, "root binds the fd the child was refused on: %s", kt_errname(ret));
	close(fd1);

	ret = run_bind_child(false, fd2, &r);
	kt_check(!ret && !r.recv && r.bind == 0,
		 "control child with CAP_SYS_RAWIO, fd passed the same way: bind %s",
		 kt_errname(r.bind));
	close(fd2);
	if (iommufd >= 0)
		close(iommufd);
}

struct acct_result {
	int step;		/* the step that went wrong, 0 if none */
	int setup;
	int map_small, map_big, map_noattach, attach_big;
	int64_t pins_small, pins_after_big, pins_after_attach, pins_end;
	uint64_t locked_limit;
};

static int64_t outstanding(void)
{
	struct kt_pins p;

	return kt_pins_read(&p) ? INT64_MIN : p.outstanding;
}

static void acct_child(struct kt_buf *b, int rfd, int64_t base)
{
	struct rlimit lim = { LIMIT, LIMIT };
	struct acct_result r;
	uint32_t ioas2 = 0;
	uint64_t iova;
	struct kt_ctx c;

	memset(&r, 0, sizeof(r));
	r.locked_limit = LIMIT;
	r.setup = kt_drop_cap(CAP_IPC_LOCK);
	if (!r.setup && setrlimit(RLIMIT_MEMLOCK, &lim))
		r.setup = -errno;
	if (!r.setup)
		r.setup = kt_ctx_open(&c, bdf, true);
	if (!r.setup)
		r.setup = kt_ioas_alloc(c.iommufd, &ioas2);
	if (r.setup)
		goto out;
	iova = IOVA;
	r.map_small = kt_map(c.iommufd, c.ioas_id, b->va, SMALL, &iova,
			     KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	r.pins_small = outstanding() - base;
	iova = IOVA + BIG;
	r.map_big = kt_map(c.iommufd, c.ioas_id, b->va, BIG, &iova,
			   KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	r.pins_after_big = outstanding() - base;
	kt_unmap(c.iommufd, c.ioas_id, 0, UINT64_MAX);
	kt_detach(c.devfd);
	iova = IOVA;
	r.map_noattach = kt_map(c.iommufd, ioas2, b->va, BIG, &iova,
				KT_MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
	r.attach_big = kt_attach(c.devfd, ioas2, NULL);
	r.pins_after_attach = outstanding() - base;
	kt_ctx_close(&c);
out:
	if (write(rfd, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

static void accounting(void)
{
	struct kt_pins start, end;
	struct acct_result r;
	int res[2], status, ret;
	struct kt_buf b;
	pid_t pid;

	if (kt_buf_alloc(&b, BIG, false))
		kt_bail("buffer");
	if (kt_pins_read(&start) || pipe2(res, O_CLOEXEC))
		kt_bail("pins/pipe");
	memset(&r, 0, sizeof(r));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		kt_bail("fork");
	if (!pid) {
		close(res[0]);
		acct_child(&b, res[1], start.outstanding);
	}
	close(res[1]);
	ret = read(res[0], &r, sizeof(r)) == sizeof(r) ? 0 : -EIO;
	close(res[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		ret = -ECHILD;
	if (!kt_check(!ret && !r.setup, "accounting child: CAP_IPC_LOCK dropped, "
		      "RLIMIT_MEMLOCK %lu KiB, device attached: %s", LIMIT >> 10,
		      kt_errname(ret ? ret : r.setup)))
		return;
	kt_check(!r.map_small && r.pins_small == (int64_t)(SMALL / KT_PAGE),
		 "IOAS_MAP of %lu KiB (under the limit): %s, pins %+" PRId64, SMALL >> 10,
		 kt_errname(r.map_small), r.pins_small);
	kt_check(r.map_big == -ENOMEM && r.pins_after_big == (int64_t)(SMALL / KT_PAGE),
		 "IOAS_MAP of %lu KiB (over the limit): %s (want ENOMEM), pins %+" PRId64
		 " (want %+ld: nothing of it left pinned)", BIG >> 10, kt_errname(r.map_big),
		 r.pins_after_big, SMALL / KT_PAGE);
	kt_check(!r.map_noattach && r.attach_big == -ENOMEM && r.pins_after_attach == 0,
		 "IOAS_MAP of %lu KiB into an IOAS without a device: %s; attaching the device "
		 "there: %s (want ENOMEM), pins %+" PRId64, BIG >> 10,
		 kt_errname(r.map_noattach), kt_errname(r.attach_big), r.pins_after_attach);
	ret = kt_pins_wait(start.outstanding, &end, 10000);
	kt_check(!ret, "accounting child gone: outstanding pins %+" PRId64 " from before it",
		 end.outstanding - start.outstanding);
	kt_buf_free(&b);
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };

	bdf = argc > 1 ? argv[1] : "0000:00:04.0";
	kt_start("noiommu-privs");
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	bind_needs_rawio();
	accounting();
	return kt_finish();
}
