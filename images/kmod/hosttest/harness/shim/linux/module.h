/* SPDX-License-Identifier: GPL-2.0-only */
/* Stand-in for the kernel header, on the build host: see shim.h. */
#include "../shim.h"
