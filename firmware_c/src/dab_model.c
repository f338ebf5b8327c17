/* DAB single-phase-shift power model: paper eq. (1) and its inverse, eq. (2).
 * Source: shared/seeds/hybrid-battery-dab-platform-paper.txt, section II.A.2. */
#include "edge_core.h"
#include "fmath.h"

#define EDGE_PI_F 3.14159265358979f

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
    float nvv = p->n_ratio * v_string_V * v_bus_V;
    float arg;
    float psi;
    if (!(nvv > 0.0f)) {
        return 0.0f;
    }
    arg = 1.0f - 8.0f * p->f_sw_Hz * p->l_leak_H * edge_absf(power_W) / nvv;
    psi = arg <= 0.0f ? 0.5f * EDGE_PI_F : 0.5f * EDGE_PI_F * (1.0f - edge_sqrt_pos(arg));
    if (psi > p->psi_max_rad) {
        psi = p->psi_max_rad;
    }
    return power_W < 0.0f ? -psi : psi;
}
