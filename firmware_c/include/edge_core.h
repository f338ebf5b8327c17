/* edge_core.h: include this from C. The API lives in include/api/ (one edge_NAME_api.h per concept) as plain declarations
 * (fed verbatim to cffi's cdef); this header adds the guards and <stdint.h>. */
#ifndef EDGE_CORE_H
#define EDGE_CORE_H

#include <stdint.h>

#include "api/edge_pi_api.h"
#include "api/edge_dab_api.h"
#include "api/edge_plant_api.h"
#include "api/edge_prot_api.h"
#include "api/edge_charge_api.h"
#include "api/edge_pulse_api.h"
#include "api/edge_board_api.h"
#include "api/edge_modbus_api.h"

#endif /* EDGE_CORE_H */
