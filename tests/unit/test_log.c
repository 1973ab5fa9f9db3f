/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vni_log_set_callback(NULL) waits for callbacks in progress: when it
 * returns, the old callback has finished and will not run again, so the
 * caller may free its opaque. The interleaving is forced: the callback
 * blocks until the setter thread is inside vni_log_set_callback().
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "util.h"
#include "internal.h"

struct victim {
	_Atomic int calls;
	_Atomic bool inside, done;
};

static _Atomic bool release_cb, entered;

static void blocking_cb(void *opaque, enum vni_log_level level, const char *msg)
{
	struct victim *v = opaque;

	(void)level;
	(void)msg;
	atomic_store(&v->inside, true);
	atomic_fetch_add(&v->calls, 1);
	atomic_store(&entered, true);
	while (!atomic_load(&release_cb))
		sched_yield();
	atomic_store(&v->inside, false);
	atomic_store(&v->done, true);
}

static void *logger(void *arg)
{
	(void)arg;
	/* any failing call logs at ERROR */
	vni_pci_addr_parse("not-an-address", &(struct vni_pci_addr){ 0 });
	return NULL;
}

static _Atomic bool seen_inside, seen_done;
static struct victim *victim;

static void *setter(void *arg)
{
	(void)arg;
	vni_log_set_callback(NULL, NULL);
	/* the guarantee: the old callback is not running and has finished */
	atomic_store(&seen_inside, atomic_load(&victim->inside));
	atomic_store(&seen_done, atomic_load(&victim->done));
	return NULL;
}

static void test_set_callback_waits(void **state)
{
	pthread_t lt, st;

	(void)state;
	victim = calloc(1, sizeof(*victim));
	assert_non_null(victim);
	atomic_store(&release_cb, false);
	atomic_store(&entered, false);
	vni_log_set_level(VNI_LOG_ERROR);
	vni_log_set_callback(blocking_cb, victim);
	assert_int_equal(pthread_create(&lt, NULL, logger, NULL), 0);
	while (!atomic_load(&entered))
		sched_yield();
	assert_int_equal(pthread_create(&st, NULL, setter, NULL), 0);
	/* the setter is inside vni_log_set_callback() (it cannot finish while
	 * the callback runs) before the callback is let go */
	while (atomic_load(&vnip_log_setters) == 0)
		sched_yield();
	atomic_store(&release_cb, true);
	assert_int_equal(pthread_join(st, NULL), 0);
	assert_int_equal(pthread_join(lt, NULL), 0);
	assert_false(atomic_load(&seen_inside));
	assert_true(atomic_load(&seen_done));
	assert_int_equal(atomic_load(&victim->calls), 1);
	free(victim); /* what the guarantee is for */
	victim = NULL;
	/* no callback any more */
	vni_pci_addr_parse("still-not", &(struct vni_pci_addr){ 0 });
	vni_log_set_level(VNI_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_callback_waits),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
