/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "devpass/util/log.h"
#include "libpci.h"

_printf_(1, 2) static void libpci_log_debug(char *msg, ...)
{
	va_list ap;
	va_start(ap, msg);
	log_msgv(LOG_DEBUG, msg, ap);
	va_end(ap);
}

/*
 * libpci calls this only for bad arguments, which are a bug here. noreturn
 * as an attribute, not _Noreturn: clang takes it as part of the type.
 */
__attribute__((noreturn))
_printf_(1, 2) static void libpci_log_error(char *msg, ...)
{
	va_list ap;
	va_start(ap, msg);
	log_msgv(LOG_ERR, msg, ap);
	va_end(ap);
	abort();
}

struct pci_access *libpci_new(void)
{
	struct pci_access *a = pci_alloc();

	if (!a)
		return NULL;
	a->error = libpci_log_error;
	a->warning = libpci_log_debug;
	a->debug = libpci_log_debug;
	return a;
}
