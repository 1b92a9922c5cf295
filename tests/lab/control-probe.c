/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * control-probe SOCKET INTERVAL_MS STOP_FILE: asks devpassd for its status
 * on SOCKET every INTERVAL_MS until STOP_FILE exists, and prints one line
 * per request: "rc start ms" (rc 0, or the errno that failed it; start,
 * the wall-clock second it was sent; ms from connect to the reply's end). It is one process for the whole run, so what it
 * times is devpassd's answer alone, not the cost of starting a command in
 * a loaded guest (the lab's storm times `devpass status` as well).
 * The request is devpass's own ("status\n", then the reply to EOF).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_ms(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* One status request; 0 or an errno. */
static int ask(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 10};
	char buf[65536];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), r = 0;

	if (fd < 0)
		return errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, "status\n", 7) != 7)
		r = errno;
	for (ssize_t k = 1; !r && k > 0;)
		if ((k = read(fd, buf, sizeof(buf))) < 0)
			r = errno;
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s SOCKET INTERVAL_MS STOP_FILE\n",
			argv[0]);
		return 2;
	}
	useconds_t pause = (useconds_t)atoi(argv[2]) * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (access(argv[3], F_OK) != 0) {
		double start = now_ms(CLOCK_REALTIME) / 1e3;
		double t0 = now_ms(CLOCK_MONOTONIC);
		int r = ask(argv[1]);
		printf("%d %.3f %.1f\n", r, start,
		       now_ms(CLOCK_MONOTONIC) - t0);
		usleep(pause);
	}
	return 0;
}
