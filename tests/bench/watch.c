/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devpass/lxd/events.h"
#include "devpass/util/json.h"
#include "devpass/lxd/client.h"
#include "test-util.h"
#include "watch.h"

#define POLL_FALLBACK_MS 5

struct watch {
	struct lxd_events *ev;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long seq;  /* instance-updated events so far */
	double last_ms;     /* when the last one arrived */
	int stop[2];
};

static void on_event(const struct lxd_event *ev, void *userdata)
{
	struct watch *w = userdata;

	if (ev->action != LXD_EVENT_UPDATED)
		return;
	pthread_mutex_lock(&w->lock);
	w->seq++;
	w->last_ms = now_ms_frac();
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void *listen_thread(void *arg)
{
	struct watch *w = arg;
	struct pollfd fds[2] = {{lxd_events_get_fd(w->ev), POLLIN, 0},
				{w->stop[0], POLLIN, 0}};

	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (fds[1].revents)
			return NULL;
		if (fds[0].revents && lxd_events_dispatch(w->ev, on_event, w) != 0)
			return NULL; /* the waiter falls back to polling */
	}
}

int watch_start(struct watch **ret, const char *socket)
{
	struct watch *w = calloc(1, sizeof(*w));
	int r = 0;

	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pipe(w->stop) < 0 || (r = lxd_events_connect(&w->ev, socket)) < 0 ||
	    (r = -pthread_create(&w->thread, NULL, listen_thread, w)) < 0) {
		free(w);
		return r ? r : -errno;
	}
	*ret = w;
	return 0;
}

void watch_stop(struct watch *w)
{
	if (!w)
		return;
	if (write(w->stop[1], "x", 1) != 1)
		return;
	pthread_join(w->thread, NULL);
	lxd_events_free(w->ev);
	close(w->stop[0]);
	close(w->stop[1]);
	free(w);
}

size_t count_entries(struct lxd_client *c, const char *instance, const char *prefix)
{
	_cleanup_(json_object_putp) json_object *md = NULL;
	_cleanup_(freep) char *etag = NULL;
	json_object *devices = NULL;
	size_t n = 0, len = strlen(prefix);

	if (lxd_instance_get(c, "default", instance, &md, &etag) < 0)
		return (size_t)-1;
	json_object_object_get_ex(md, "devices", &devices);
	json_object_object_foreach(devices, name, value) {
		(void)value;
		n += strncmp(name, prefix, len) == 0;
	}
	return n;
}

static bool all_there(struct lxd_client *c, const char *const *instances,
		      const size_t *want, size_t n, const char *prefix)
{
	for (size_t i = 0; i < n; i++)
		if (count_entries(c, instances[i], prefix) != want[i])
			return false;
	return true;
}

/* Waits for an event newer than *seq, at most POLL_FALLBACK_MS. */
static double next_event(struct watch *w, unsigned long *seq, double since)
{
	struct timespec until;
	double t;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += POLL_FALLBACK_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&w->lock);
	while (w->seq == *seq &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
		;
	*seq = w->seq;
	t = w->last_ms;
	pthread_mutex_unlock(&w->lock);
	return t > since ? t : -1;
}

double watch_wait(struct watch *w, struct lxd_client *c, const char *const *instances,
		  const size_t *want, size_t n, const char *prefix, double since,
		  int timeout_ms)
{
	double deadline = since + timeout_ms, t_prev_read = since;
	unsigned long seq = 0;

	for (;;) {
		double t_event = next_event(w, &seq, since), t_read = now_ms_frac();

		/* The change came after the last read that missed it: an event
		 * since then is its time; otherwise the read is all we know. */
		if (all_there(c, instances, want, n, prefix))
			return t_event > t_prev_read ? t_event : t_read;
		if (now_ms_frac() > deadline)
			return -1;
		t_prev_read = t_read;
	}
}
