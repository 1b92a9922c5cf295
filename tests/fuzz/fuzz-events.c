/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The LXD event parser on arbitrary text (a WebSocket message's payload).
 * A parsed event must hold a usable instance and project name.
 */
#include <stdint.h>
#include <string.h>

#include "devpass/lxd/events.h"
#include "devpass/util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(lxd_event_clear) struct lxd_event ev = {0};

	log_set_max_level(LOG_CRIT);
	int r = lxd_event_parse((const char *)data, size, &ev);
	if (r != 0) {
		if (r != LXD_EVENT_IGNORED && r != -EBADMSG && r != -ENOMEM)
			__builtin_trap();
		if (ev.instance || ev.project)
			__builtin_trap();
		return 0;
	}
	if (!ev.instance || !ev.project || !*ev.instance || !*ev.project ||
	    strchr(ev.instance, '/') || strchr(ev.project, '/'))
		__builtin_trap();
	if (ev.old_name && ev.action != LXD_EVENT_RENAMED)
		__builtin_trap();
	(void)lxd_event_action_to_string(ev.action);
	return 0;
}
