/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * notify() - tell systemd about the daemon's state (sd_notify(3) protocol:
 * "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..."). Does nothing when
 * NOTIFY_SOCKET is not set. Return: 0, or -errno (not logged: best effort).
 */
int notify(const char *state);
