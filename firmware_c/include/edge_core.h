/* edge_core.h: include this from C; it wraps the cdef-able API header. */
#ifndef EDGE_CORE_H
#define EDGE_CORE_H

#include <stdint.h>

#include "edge_core_api.h"

#endif /* EDGE_CORE_H */
