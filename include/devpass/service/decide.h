/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: deciding: the one way from what LXD and the host say to a plan
 *
 * devpassd's reconciler and `devpass explain` both come here, so that
 * what explain says is what the daemon does: the server's features are
 * read from its api_extensions the same way, and the plan is built with
 * the host's IOMMU and storage facts (host_guard_read()) the same way.
 */

#include "devpass/lxd/envelope.h"
#include "devpass/model/device.h"
#include "devpass/plan/plan.h"
#include "devpass/rules/rule.h"

/* The features the plan depends on, from GET /1.0 (@s). */
void decide_features(const struct lxd_server *s, struct plan_features *f);

/**
 * decide_plan() - read the host's facts and plan (plan_build()).
 * Return: 0 or -ENOMEM (logged).
 */
int decide_plan(const struct ruleset *rs, const struct device_list *devices,
		const struct instance_set *set, const struct plan_features *f,
		struct plan **out);
