/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/model/node.h"
#include "devpass/util/common.h"

/* NODE_USB first: the others are the subsystems of child nodes. */
static const char *const node_subsystems[] = {
	"usb", "video4linux", "sound", "tty", "hidraw", "input", "usbmisc",
};

const char *node_kind_to_string(enum node_kind k)
{
	if (k == NODE_ALL)
		return "all";
	for (size_t i = 0; i < ARRAY_SIZE(node_subsystems); i++)
		if ((unsigned)k == 1u << i)
			return node_subsystems[i];
	return NULL;
}

enum node_kind node_kind_from_string(const char *subsystem)
{
	if (streq_ptr(subsystem, "all"))
		return NODE_ALL;
	for (size_t i = 0; subsystem && i < ARRAY_SIZE(node_subsystems); i++)
		if (strcmp(node_subsystems[i], subsystem) == 0)
			return 1u << i;
	return 0;
}

const char *node_child_subsystem(size_t i)
{
	return i + 1 < ARRAY_SIZE(node_subsystems) ? node_subsystems[i + 1]
						   : NULL;
}
