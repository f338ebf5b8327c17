/* DAB single-phase-shift power model: paper eq. (1) and its inverse, eq. (2).
 * Source: Dutta, Mueller, Wauneka, De Angelis, "System Integration for Grid-scale
 * Hybrid Battery Technologies" (Sandia National Laboratories), section II.A.2. */
#include "edge_core.h"
#include "fmath.h"
#include "hot.h"

float edge_dab_power_W(const edge_dab_params_t *p, float v_string_V, float v_bus_V,
                       float psi_rad)
{
    float mag = edge_absf(psi_rad);
    float denom = 2.0f * EDGE_PI_F * EDGE_PI_F * p->f_sw_Hz * p->l_leak_H;
    if (!(denom > 0.0f)) {
        return 0.0f;
    }
    return p->n_ratio * v_string_V * v_bus_V * psi_rad * (EDGE_PI_F - mag) / denom;
}

float edge_dab_psi_ff_rad(const edge_dab_params_t *p, float v_string_V, float v_bus_V,
                          float power_W)
{
    if (!(v_string_V > 0.0f)) {
        return 0.0f;
    }
    return edge_psi_ff_current(p, edge_dab_ff_gain(p), v_bus_V, power_W / v_string_V);
}
