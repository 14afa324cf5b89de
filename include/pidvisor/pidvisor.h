/* SPDX-License-Identifier: MIT */
#pragma once
/* libpidvisor: all public headers. */
#include <pidvisor/error.h>
#include <pidvisor/process.h>
#include <pidvisor/spawn.h>
#include <pidvisor/notify.h>
#include <pidvisor/handoff.h>
