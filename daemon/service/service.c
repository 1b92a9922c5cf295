/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libudev.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "devpass/service/control.h"
#include "devpass/service/held.h"
#include "devpass/util/log.h"
#include "devpass/model/monitor.h"
#include "devpass/util/notify.h"
#include "devpass/rules/load.h"
#include "devpass/service/outcome.h"
#include "devpass/service/reconcile.h"
#include "devpass/service/service.h"
#include "devpass/service/stream.h"
#include "devpass/service/uevents.h"

#define BACKOFF_MIN_MS 250u
#define BACKOFF_MAX_MS 30000u

enum watch_tag {
	WATCH_MONITOR,
	WATCH_EVENTS,
	WATCH_CONTROL,
	WATCH_SIGNAL,
	WATCH_TIMER,
	WATCH_LXD
};

struct service {
	const struct service_options *opts;
	int epoll_fd;
	int signal_fd;
	int timer_fd;
	struct udev *udev;
	struct monitor *monitor;
	struct device_list *devices;
	struct ruleset *rules;
	struct lxd_client *lxd;
	struct reconciler *rc;
	struct stream *stream;
	struct control *control;
	struct held held; /* uevents read while a pass plans with devices */
	bool reload;	  /* SIGHUP came while a pass ran */
	bool dirty;	  /* something changed since the last reconcile */
	bool waiting;	  /* a retry is scheduled; reconcile when it fires */
	bool stopping;
	bool said_no_socket; /* "no LXD socket found" is said once */
	unsigned backoff_ms;
	unsigned long reconciles; /* passes run, for `devpass status` */
};

static void service_free(struct service *s)
{
	stream_free(s->stream);
	control_free(s->control);
	lxd_client_free(s->lxd); /* ends a pass in flight first */
	reconciler_free(s->rc);
	held_clear(&s->held);
	ruleset_free(s->rules);
	device_list_free(s->devices);
	monitor_free(s->monitor);
	udev_unref(s->udev);
	closep(&s->timer_fd);
	closep(&s->signal_fd);
	closep(&s->epoll_fd);
}

static int watch(struct service *s, int fd, enum watch_tag tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return log_err_errno(-errno, "epoll: %m");
	return 0;
}

static int setup_loop(struct service *s)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	s->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->epoll_fd < 0 || s->signal_fd < 0 || s->timer_fd < 0)
		return log_err_errno(-errno,
				     "cannot set up the event loop: %m");
	int r = watch(s, s->signal_fd, WATCH_SIGNAL);
	return r < 0 ? r : watch(s, s->timer_fd, WATCH_TIMER);
}

/* Loads the rules; on reload a set with a broken rule is not taken. */
static int load_rules(struct service *s, bool reload)
{
	char *const *dirs =
		s->opts->rules_dirs ? s->opts->rules_dirs : rules_default_dirs;
	_cleanup_(ruleset_freep) struct ruleset *rs = NULL;
	int r = ruleset_load(dirs, &rs);
	if (r < 0)
		return r; /* out of memory, logged where it happened */
	STRV_FOREACH(e, rs->errors)
		log_err("%s", *e);
	STRV_FOREACH(w, rs->warnings)
		log_warning("%s", *w);
	STRV_FOREACH(n, rs->notes)
		log_info("%s", *n);
	/* A refused file costs only itself (load.h); a broken rule keeps
	 * the rules in force, as the admin is mid-edit. */
	if (reload && strv_length(rs->errors) > rs->n_refused) {
		log_err("rules not reloaded: fix the errors above; the %zu "
			"rules loaded before stay in force",
			s->rules->n_rules);
		return -EINVAL;
	}
	log_info("%zu rule%s loaded", rs->n_rules, rs->n_rules == 1 ? "" : "s");
	ruleset_free(s->rules);
	s->rules = steal_ptr(&rs);
	if (s->rc)
		reconciler_rules_changed(s->rc);
	s->dirty = true;
	return 0;
}

/* Monitor first, then enumerate: nothing plugged in between is missed. */
static int coldplug(struct service *s)
{
	s->udev = udev_new();
	if (!s->udev)
		return log_err_errno(-ENOMEM, "cannot talk to udev");
	int r = s->opts->once ? 0 : monitor_new(s->udev, &s->monitor);
	if (r < 0)
		return r;
	if (s->monitor &&
	    (r = watch(s, monitor_get_fd(s->monitor), WATCH_MONITOR)) < 0)
		return r;
	r = device_enumerate(s->udev, &s->devices);
	if (r < 0)
		return r;
	log_info("%zu devices present", s->devices->n_devices);
	s->dirty = true;
	return 0;
}

/* A bounded number of uevents per round (uevents.h); only one that
 * changed the list, or a failure to keep it (reconciled after a retry),
 * costs a reconcile. While a pass plans with the list, they are held. */
static void drain_monitor(struct service *s)
{
	if (reconciler_busy(s->rc)) {
		uevents_hold(s->monitor, &s->held, s->devices);
		return;
	}
	int r = uevents_drain(s->udev, s->monitor, &s->devices);
	if (r != UEVENTS_E_UNCHANGED)
		s->dirty = true;
}

/* Finds LXD's socket and sets up the client and the reconciler (each
 * logs its own failures; a missing socket is said once). */
static int connect_lxd(struct service *s)
{
	if (s->rc)
		return 0;
	_cleanup_(freep) char *path = NULL;
	int r = s->lxd ? 0 : lxd_socket_discover(s->opts->socket, &path);
	if (r == -ENOENT && !s->said_no_socket)
		log_warning("no LXD or Incus socket found (give --socket "
			    "PATH or set LXD_DIR or INCUS_DIR)%s",
			    s->opts->once ? "" : "; waiting");
	s->said_no_socket = r == -ENOENT;
	if (r == 0 && !s->lxd)
		r = lxd_client_new(path, &s->lxd);
	if (r == 0 && !s->opts->once)
		r = watch(s, lxd_client_get_fd(s->lxd), WATCH_LXD);
	if (r == 0)
		r = reconciler_new(s->lxd, s->opts->dry_run, &s->rc);
	return r;
}

static void on_lxd_event(const struct lxd_event *ev, void *userdata)
{
	struct service *s = userdata;
	log_debug("LXD event %s %s/%s", lxd_event_action_to_string(ev->action),
		  ev->project ? ev->project : "default",
		  ev->instance ? ev->instance : "?");
	if (s->rc)
		reconciler_lxd_event(s->rc, ev);
	s->dirty = true;
}

/* A fresh stream means LXD may have restarted: read the server again and
 * reconcile everything, now: LXD answers, so a retry waiting out its
 * backoff need not wait any longer. */
static void on_stream_up(void *userdata)
{
	struct service *s = userdata;
	const struct itimerspec off = {0};

	reconciler_forget_server(s->rc);
	reconciler_events_up(s->rc, true);
	s->dirty = true;
	if (s->waiting)
		timerfd_settime(s->timer_fd, 0, &off, NULL);
	s->waiting = false;
	s->backoff_ms = 0;
}

static const struct stream_ops stream_ops = {
	.on_event = on_lxd_event,
	.on_up = on_stream_up,
};

/* Starts keeping the event stream up (stream.h); reconciles never wait
 * for it. */
static int connect_events(struct service *s)
{
	if (s->stream || s->opts->once)
		return 0;
	int r = stream_new(lxd_client_socket_path(s->lxd), &stream_ops, s,
			   &s->stream);
	return r < 0 ? r : watch(s, stream_get_fd(s->stream), WATCH_EVENTS);
}

/* Says why the next reconcile waits: LXD's failures are logged where
 * they happen, and out of memory is no reason to blame LXD. */
static void schedule_retry(struct service *s, int err)
{
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	struct itimerspec its = {
		.it_value.tv_sec = s->backoff_ms / 1000,
		.it_value.tv_nsec = (long)(s->backoff_ms % 1000) * 1000000,
	};
	timerfd_settime(s->timer_fd, 0, &its, NULL);
	s->waiting = true;
	if (err == -ENOMEM)
		log_info("out of memory: reconciling again in %u ms",
			 s->backoff_ms);
	else
		log_info("retrying LXD in %u ms", s->backoff_ms);
}

/* What came while the pass ran is applied now, for the next pass. */
static void after_pass(struct service *s)
{
	s->reconciles++;
	if (uevents_release(s->udev, &s->held, &s->devices) !=
	    UEVENTS_E_UNCHANGED)
		s->dirty = true;
	if (s->reload) {
		s->reload = false;
		load_rules(s, true);
	}
}

static void on_pass_done(int r, void *userdata)
{
	struct service *s = userdata;

	if (r == -ECANCELED)
		return; /* shutting down: held uevents go with the service */
	after_pass(s);
	if (r == 0) {
		s->backoff_ms = 0;
		return;
	}
	s->dirty = true;
	schedule_retry(s, r);
}

/* Starts a pass; what triggers meanwhile marks dirty for the next one. */
static void reconcile(struct service *s)
{
	int r = connect_lxd(s);

	s->dirty = false;
	if (r == 0)
		r = connect_events(s);
	if (r == 0 && !(s->stream && stream_is_up(s->stream)))
		reconciler_events_up(s->rc,
				     false); /* its cache may be behind */
	if (r == 0)
		r = reconcile_start(s->rc, s->rules, s->devices, on_pass_done,
				    s);
	if (r < 0) {
		s->dirty = true;
		schedule_retry(s, r);
	}
}

static void on_signal(struct service *s)
{
	struct signalfd_siginfo si;
	while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGHUP) {
			log_info("signal %u: exiting", si.ssi_signo);
			s->stopping = true;
			continue;
		}
		notify("RELOADING=1");
		log_info("SIGHUP: reloading rules");
		if (reconciler_busy(s->rc))
			s->reload = true; /* after the pass, which uses them */
		else
			load_rules(s, true);
		notify("READY=1");
	}
}

static void on_timer(struct service *s)
{
	uint64_t expirations;
	if (read(s->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	s->waiting = false;
	s->dirty = true;
}

/* The status, and whether LXD's event stream is up: while it is down,
 * plugs are still handled, but an instance started meanwhile is seen only
 * once it is back (it reconciles everything then). */
static json_object *status_reply(void *userdata)
{
	const struct service *s = userdata;
	json_object *root = reconciler_status(s->rc, s->rules, s->devices);
	json_object *lxd = json_object_object_get(root, "lxd");
	const char *events = !s->stream		       ? "not connected"
			     : stream_is_up(s->stream) ? "up"
						       : "reconnecting";
	if (lxd)
		json_object_object_add(lxd, "events",
				       json_object_new_string(events));
	/* how often the loop reconciled: a uevent that changed nothing
	 * must not count */
	if (root)
		json_object_object_add(
			root, "reconciles",
			json_object_new_int64((int64_t)s->reconciles));
	return root;
}

static void dispatch(struct service *s, const struct epoll_event *ev)
{
	switch ((enum watch_tag)ev->data.u32) {
	case WATCH_MONITOR:
		drain_monitor(s);
		break;
	case WATCH_EVENTS:
		stream_dispatch(s->stream);
		break;
	case WATCH_CONTROL:
		control_dispatch(s->control, status_reply, s);
		break;
	case WATCH_SIGNAL:
		on_signal(s);
		break;
	case WATCH_TIMER:
		on_timer(s);
		break;
	case WATCH_LXD:
		lxd_client_dispatch(s->lxd);
		break;
	}
}

/* Reconcile after each round of ready events, never while a retry waits
 * or a pass is in flight (its end marks dirty again if needed). */
static int loop(struct service *s)
{
	struct epoll_event evs[16];
	while (!s->stopping) {
		if (s->dirty && !s->waiting && !reconciler_busy(s->rc))
			reconcile(s);
		int n = epoll_wait(s->epoll_fd, evs, ARRAY_SIZE(evs), -1);
		if (n < 0 && errno != EINTR)
			return log_err_errno(-errno, "epoll_wait: %m");
		for (int i = 0; i < n; i++)
			dispatch(s, &evs[i]);
	}
	return 0;
}

static int run_once(struct service *s)
{
	int r = connect_lxd(s);
	if (r == 0)
		r = reconcile_run(s->rc, s->rules, s->devices);
	int code = r < 0			    ? SERVICE_EXIT_FAILED
		   : reconciler_all_attached(s->rc) ? SERVICE_EXIT_OK
						    : SERVICE_EXIT_NOT_ATTACHED;
	_cleanup_(json_object_putp) json_object *status =
		reconciler_status(s->rc, s->rules, s->devices);
	outcome_log_once(status, code);
	return code;
}

static int start(struct service *s)
{
	int r = setup_loop(s);
	if (r == 0)
		r = load_rules(s, false);
	if (r == 0)
		r = coldplug(s);
	if (r < 0 || s->opts->once)
		return r;
	const char *path =
		s->opts->control ? s->opts->control : CONTROL_DEFAULT_PATH;
	r = control_listen(path, &s->control); /* logs its failures */
	return r < 0 ? r : watch(s, control_get_fd(s->control), WATCH_CONTROL);
}

static int serve(struct service *s)
{
	notify("READY=1");
	int r = loop(s);
	notify("STOPPING=1");
	return r < 0 ? SERVICE_EXIT_FAILED : SERVICE_EXIT_OK;
}

int service_run(const struct service_options *o)
{
	struct service s = {
		.opts = o, .epoll_fd = -1, .signal_fd = -1, .timer_fd = -1};
	int code = start(&s) < 0 ? SERVICE_EXIT_FAILED
		   : o->once	 ? run_once(&s)
				 : serve(&s);
	service_free(&s);
	return code;
}
