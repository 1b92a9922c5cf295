/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's own overflow, no injection: in a private network namespace
 * (uevent sockets are per namespace: the host's udev never sees this), a
 * real NETLINK_KOBJECT_UEVENT socket of the monitor, shrunk to the
 * smallest buffer, is flooded on udev's multicast group until the kernel
 * drops messages. The next receive fails with ENOBUFS; the monitor says
 * MONITOR_E_LOST and uevents_drain() enumerates this host's /sys again:
 * a list that had lost every "add" holds every device after it.
 * Needs root (unshare, SO_RCVBUFFORCE, sending to a netlink group); exits
 * 77 without it.
 */
#include <linux/netlink.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "devpass/model/monitor.h"
#include "devpass/service/uevents.h"
#include "test-util.h"

#define UDEV_GROUP 2 /* libudev's "udev" monitor group */

/* Sends @n messages on udev's group: not libudev's format, so libudev
 * would skip them; what matters is that they fill the buffer. */
static void flood(unsigned n)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
			NETLINK_KOBJECT_UEVENT);
	struct sockaddr_nl dst = {.nl_family = AF_NETLINK,
				  .nl_groups = UDEV_GROUP};
	char msg[512];
	assert_true(fd >= 0);
	memset(msg, 'x', sizeof(msg));
	for (unsigned i = 0; i < n; i++)
		assert_true(sendto(fd, msg, sizeof(msg), 0,
				   (struct sockaddr *)&dst, sizeof(dst)) >= 0);
	close(fd);
}

static void kernel_overflow_is_lost_and_healed_by_enumerating(void **state)
{
	_cleanup_(udev_unrefp) struct udev *udev = udev_new();
	_cleanup_(monitor_freep) struct monitor *m = NULL;
	_cleanup_(device_list_freep) struct device_list *truth = NULL;
	struct device_list *l = calloc(1, sizeof(*l)); /* every add lost */
	int tiny = 0; /* the kernel makes it its minimum */

	assert_non_null(udev);
	assert_int_equal(device_enumerate(udev, &truth), 0);
	assert_int_equal(monitor_new(udev, &m), 0);
	printf("# receive buffer as asked: %zu KiB\n",
	       monitor_receive_buffer(m) / 1024);
	assert_int_equal(setsockopt(monitor_get_fd(m), SOL_SOCKET,
				    SO_RCVBUFFORCE, &tiny, sizeof(tiny)),
			 0);
	flood(1000);

	int r = UEVENTS_E_UNCHANGED;
	for (int i = 0; i < 1000 && monitor_losses(m) == 0; i++)
		r = uevents_drain(udev, m, &l);
	assert_int_equal(monitor_losses(m), 1);
	assert_int_equal(r, 0);
	printf("# after the loss: %zu devices, as a fresh scan finds %zu\n",
	       l->n_devices, truth->n_devices);
	assert_int_equal(l->n_devices, truth->n_devices);
	for (size_t i = 0; i < truth->n_devices; i++)
		assert_non_null(device_find(l, truth->devices[i]->syspath));
	/* the queue was flushed: nothing older than the scan is applied */
	assert_int_equal(uevents_drain(udev, m, &l), UEVENTS_E_UNCHANGED);
	device_list_free(l);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(kernel_overflow_is_lost_and_healed_by_enumerating),
	};
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		printf("# needs root to unshare a network namespace: skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
