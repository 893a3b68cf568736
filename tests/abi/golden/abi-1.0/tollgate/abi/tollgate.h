/* Tollgate plugin ABI v1: everything. */
#ifndef TOLLGATE_ABI_TOLLGATE_H
#define TOLLGATE_ABI_TOLLGATE_H
#include "billing.h"
#include "common.h"
#include "host.h"
#include "plugin.h"
#include "pricing.h"
#include "sms.h"
#include "storage.h"
#include "voice.h"
#endif
