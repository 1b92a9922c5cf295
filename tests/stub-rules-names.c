/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stand-ins for rules.c's name functions, compiled into the tests only
 * while daemon/rules.c does not exist (tests/meson.build checks), so that
 * match.c and generate.c can be tested before the parser is merged.
 */
#include <stddef.h>

#include "devpass/rules.h"

const char *match_key_to_string(enum match_key k)
{
	static const char *const names[] = {
	    [MATCH_SUBSYSTEM] = "Subsystem",
	    [MATCH_VENDOR] = "Vendor",
	    [MATCH_PRODUCT] = "Product",
	    [MATCH_SERIAL] = "Serial",
	    [MATCH_MANUFACTURER] = "Manufacturer",
	    [MATCH_NAME] = "Name",
	    [MATCH_CLASS] = "Class",
	    [MATCH_PORT] = "Port",
	    [MATCH_ADDRESS] = "Address",
	    [MATCH_DRIVER] = "Driver",
	    [MATCH_PROPERTY] = "Property",
	};

	return (unsigned)k < _MATCH_KEY_MAX ? names[k] : NULL;
}

const char *node_kind_to_string(enum node_kind k)
{
	switch (k) {
	case NODE_USB:
		return "usb";
	case NODE_VIDEO4LINUX:
		return "video4linux";
	case NODE_SOUND:
		return "sound";
	case NODE_TTY:
		return "tty";
	case NODE_HIDRAW:
		return "hidraw";
	case NODE_INPUT:
		return "input";
	case NODE_USBMISC:
		return "usbmisc";
	case NODE_ALL:
		return "all";
	}
	return NULL;
}
