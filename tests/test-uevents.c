/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uevents into the device list (service/uevents.c) under a umockdev
 * testbed: lost uevents heal by enumerating again, changes that alter
 * nothing are dropped, and a storm is read in bounded rounds.
 *
 * What is real: the testbed's sysfs and its uevent socket (umockdev's
 * preload hands libudev an AF_UNIX socket in place of netlink, and the
 * testbed writes real datagrams to it); libudev reads them with recvmsg().
 * What is injected: the kernel's overflow. When it drops uevents, the
 * kernel discards them and fails the next recvmsg() once with ENOBUFS;
 * recvmsg() below, armed, does the same on the monitor's socket: it
 * consumes the queued datagrams unread and fails with ENOBUFS.
 */
#include <dlfcn.h>
#include <libudev.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "devpass/model/device.h"
#include "devpass/model/monitor.h"
#include "devpass/service/uevents.h"
#include "testbed.h"
#include "test-util.h"

#define KEYBOARD_PORT "1-1.5.4.2"

static int drop_fd = -1; /* the socket whose queue the next call drops */

/* Interposes libc's (and umockdev's) recvmsg() for libudev. */
ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, struct msghdr *, int);
	if (!real)
		real = (ssize_t(*)(int, struct msghdr *, int))dlsym(RTLD_NEXT,
								    "recvmsg");
	if (fd != drop_fd || drop_fd < 0)
		return real(fd, msg, flags);
	char buf[8192];
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		; /* what the kernel dropped */
	drop_fd = -1;
	errno = ENOBUFS;
	return -1;
}

struct fixture {
	UMockdevTestbed *tb;
	struct udev *udev;
	struct monitor *m;
	struct device_list *l;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->tb = testbed_new();
	testbed_load(f->tb, "usb-keyboard.umockdev");
	f->udev = udev_new();
	assert_non_null(f->udev);
	assert_int_equal(monitor_new(f->udev, &f->m), 0);
	assert_int_equal(device_enumerate(f->udev, &f->l), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	drop_fd = -1;
	device_list_free(f->l);
	monitor_free(f->m);
	udev_unref(f->udev);
	g_object_unref(f->tb);
	free(f);
	return 0;
}

static const struct testbed_usb reader = {
	.port = "1-6",
	.vendor = 0x04e6,
	.product = 0x5116,
	.busnum = 1,
	.devnum = 50,
	.interface_class = 0x0b,
};

static bool queued(void *userdata)
{
	const struct fixture *f = userdata;
	char c;
	return recv(monitor_get_fd(f->m), &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

/* Waits until the testbed's datagrams are queued on the monitor. */
static void wait_queued(struct fixture *f)
{
	assert_true(wait_until(queued, f, 2000));
}

/* Drains until the monitor is empty; how many rounds it took and whether
 * any changed the list. */
static int drain_all(struct fixture *f, unsigned *rounds)
{
	int changed = UEVENTS_E_UNCHANGED;
	*rounds = 0;
	for (;;) {
		int r = uevents_drain(f->udev, f->m, &f->l);
		assert_true(r >= 0);
		if (r == 0)
			changed = 0;
		++*rounds;
		if (!queued(f))
			return changed;
	}
}

/* An "add" and a "remove" both lost: the scan after ENOBUFS finds the new
 * device and no longer the removed one. */
static void lost_add_and_remove_heal_by_enumerating(void **state)
{
	struct fixture *f = *state;
	unsigned rounds;
	char *kbd = g_strdup(device_find(f->l, KEYBOARD_PORT)->syspath);

	g_free(testbed_add_usb_device(f->tb, &reader));
	umockdev_testbed_uevent(f->tb, kbd, "remove");
	umockdev_testbed_remove_device(f->tb, kbd);
	wait_queued(f);
	drop_fd = monitor_get_fd(f->m);

	assert_int_equal(drain_all(f, &rounds), 0);
	assert_int_equal(drop_fd, -1); /* the injected loss was read */
	assert_int_equal(monitor_losses(f->m), 1);
	assert_non_null(device_find(f->l, "1-6"));
	assert_null(device_find(f->l, KEYBOARD_PORT));
	g_free(kbd);

	/* and the monitor goes on as before */
	struct testbed_usb next = reader;
	next.port = "1-7";
	next.devnum = 51;
	g_free(testbed_add_usb_device(f->tb, &next));
	wait_queued(f);
	assert_int_equal(drain_all(f, &rounds), 0);
	assert_non_null(device_find(f->l, "1-7"));
	assert_int_equal(monitor_losses(f->m), 1);
}

/* A "change" that alters nothing devpass reads is no change; a bind is. */
static void change_that_alters_nothing_is_dropped(void **state)
{
	struct fixture *f = *state;
	unsigned rounds;

	g_autofree char *added = testbed_add_usb_device(f->tb, &reader);
	wait_queued(f);
	assert_int_equal(drain_all(f, &rounds), 0);
	umockdev_testbed_uevent(f->tb, added, "change");
	wait_queued(f);
	assert_int_equal(drain_all(f, &rounds), UEVENTS_E_UNCHANGED);
	umockdev_testbed_set_property(f->tb, added, "ID_DEVPASS_TEST", "1");
	umockdev_testbed_uevent(f->tb, added, "change");
	wait_queued(f);
	assert_int_equal(drain_all(f, &rounds), 0);
	const struct device *d = device_find(f->l, "1-6");
	assert_non_null(d);
	bool seen = false;
	for (size_t i = 0; i < d->n_props; i++)
		seen |= streq_ptr(d->props[i].key, "ID_DEVPASS_TEST");
	assert_true(seen);
}

static const char *prop_of(const struct device *d, const char *key)
{
	for (size_t i = 0; i < d->n_props; i++)
		if (streq_ptr(d->props[i].key, key))
			return d->props[i].value;
	return NULL;
}

/* A "change" whose properties and driver are the model's is not read from
 * sysfs at all. Shown by a string changed in sysfs behind udev's back
 * (a plugged device's descriptors never are): the model keeps the old one
 * until a change that says something new makes devpass read it. */
static void moot_change_reads_no_sysfs(void **state)
{
	struct fixture *f = *state;
	unsigned rounds;

	g_autofree char *added = testbed_add_usb_device(f->tb, &reader);
	wait_queued(f);
	assert_int_equal(drain_all(f, &rounds), 0);
	const char *before = device_find(f->l, "1-6")->name;
	g_autofree char *was = before ? g_strdup(before) : NULL;
	umockdev_testbed_set_attribute(f->tb, added, "product", "Renamed");
	umockdev_testbed_uevent(f->tb, added, "change");
	wait_queued(f);
	assert_int_equal(drain_all(f, &rounds), UEVENTS_E_UNCHANGED);
	assert_string_not_equal(device_find(f->l, "1-6")->name ?: "",
				"Renamed");
	assert_true(streq_ptr(device_find(f->l, "1-6")->name, was));
	umockdev_testbed_set_property(f->tb, added, "ID_DEVPASS_TEST", "1");
	umockdev_testbed_uevent(f->tb, added, "change");
	wait_queued(f);
	assert_int_equal(drain_all(f, &rounds), 0);
	assert_string_equal(device_find(f->l, "1-6")->name, "Renamed");
}

/* During a pass: a change held, then one back to what the list holds.
 * The second is judged against the held one (it says something new), not
 * against the list: dropping it would apply the first when the pass ends. */
static void change_back_during_a_pass_is_kept(void **state)
{
	struct fixture *f = *state;
	struct held h = {0};
	unsigned rounds;

	g_autofree char *added = testbed_add_usb_device(f->tb, &reader);
	umockdev_testbed_set_property(f->tb, added, "ID_DEVPASS_TEST", "0");
	umockdev_testbed_uevent(f->tb, added, "change");
	wait_queued(f);
	assert_int_equal(drain_all(f, &rounds), 0);
	for (const char *v = "1"; v; v = streq_ptr(v, "1") ? "0" : NULL) {
		umockdev_testbed_set_property(f->tb, added, "ID_DEVPASS_TEST",
					      v);
		umockdev_testbed_uevent(f->tb, added, "change");
		wait_queued(f);
		while (queued(f))
			uevents_hold(f->m, &h, f->l);
	}
	assert_int_equal(h.n, 1);
	uevents_release(f->udev, &h, &f->l);
	assert_string_equal(
		prop_of(device_find(f->l, "1-6"), "ID_DEVPASS_TEST"), "0");
	held_clear(&h);
}

/* 3000 changes of one device then a plug: read in rounds of at most
 * UEVENTS_PER_ROUND, none of the changes counts, the plug does. */
static void storm_is_read_in_bounded_rounds(void **state)
{
	struct fixture *f = *state;
	const struct device *kbd = device_find(f->l, KEYBOARD_PORT);
	unsigned rounds, storm = 3000, unchanged = 0;

	for (unsigned i = 0; i < storm; i++)
		umockdev_testbed_uevent(f->tb, kbd->syspath, "change");
	wait_queued(f);
	for (unsigned i = 0; i < storm / UEVENTS_PER_ROUND / 2; i++)
		unchanged += uevents_drain(f->udev, f->m, &f->l) ==
			     UEVENTS_E_UNCHANGED;
	assert_int_equal(unchanged, storm / UEVENTS_PER_ROUND / 2);
	g_free(testbed_add_usb_device(f->tb, &reader));
	assert_int_equal(drain_all(f, &rounds), 0);
	assert_non_null(device_find(f->l, "1-6"));
	printf("# the rest of the storm and the plug: %u rounds\n", rounds);
	assert_true(rounds >= (storm / 2) / UEVENTS_PER_ROUND);
	assert_int_equal(monitor_losses(f->m), 0);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			lost_add_and_remove_heal_by_enumerating, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			change_that_alters_nothing_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(moot_change_reads_no_sysfs,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			change_back_during_a_pass_is_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(storm_is_read_in_bounded_rounds,
						setup, teardown),
	};

	if (!testbed_preloaded())
		return 77;
	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
