/* Tollgate plugin ABI v1: everything. */
#ifndef TOLLGATE_ABI_TOLLGATE_H
#define TOLLGATE_ABI_TOLLGATE_H
#include "common.h"
#include "host.h"
#include "plugin.h"
#include "storage.h"
#include "sms.h"
#include "voice.h"
#include "billing.h"
#include "pricing.h"
#endif
