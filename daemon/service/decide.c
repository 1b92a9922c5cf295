/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/plan/host_guard.h"
#include "devpass/service/decide.h"
#include "devpass/util/log.h"

void decide_features(const struct lxd_server *s, struct plan_features *f)
{
	f->usb_serial = lxd_server_has_extension(s, "device_usb_serial");
	f->pci_hotplug = lxd_server_has_extension(s, "pci_hotplug");
}

int decide_plan(const struct ruleset *rs, const struct device_list *devices,
		const struct instance_set *set, const struct plan_features *f,
		struct plan **out)
{
	struct host_guard host;
	int r = host_guard_read(devices, NULL, NULL, &host);
	if (r == 0) {
		r = plan_build(rs, devices, set, f, &host, out);
		host_guard_clear(&host);
	}
	if (r < 0)
		return log_err_errno(r, "cannot build the plan: %s",
				     strerror(-r));
	return 0;
}
