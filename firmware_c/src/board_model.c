/* Emulated DAB board: the control step of the firmware plus an averaged plant.
 * The plant (battery string behind a lossless averaged DAB) is for the host and QEMU
 * builds only; a real board links its ADC and PWM instead. */
#include "edge_core.h"
#include "fmath.h"

#define EDGE_SOC_CHUNK_As 0.5f

static float ocv_V(const edge_board_params_t *p, float soc)
{
    return p->ocv_empty_V + (p->ocv_full_V - p->ocv_empty_V) * soc;
}

/* Terminal voltage with power P into the string: v = ocv + r0*P/v, the positive root. */
static float terminal_V(const edge_board_params_t *p, float ocv, float power_W)
{
    float disc = ocv * ocv + 4.0f * p->r0_ohm * power_W;
    if (disc < 0.0f) {
        disc = 0.0f;
    }
    return 0.5f * (ocv + edge_sqrt_pos(disc));
}

void edge_board_init(const edge_board_params_t *p, edge_board_state_t *s, float soc)
{
    edge_pi_reset(&s->pi);
    edge_prot_clear(&s->over_current);
    s->soc = soc < 0.0f ? 0.0f : (soc > 1.0f ? 1.0f : soc);
    s->charge_acc_As = 0.0f;
    s->charge_current_A = 0.0f;
    s->v_string_V = ocv_V(p, s->soc);
    s->psi_rad = 0.0f;
    s->steps = 0u;
}

void edge_board_clear_trip(edge_board_state_t *s)
{
    edge_prot_clear(&s->over_current);
}

void edge_board_run(const edge_board_params_t *p, edge_board_state_t *s,
                    float charge_current_ref_A, uint32_t n_steps)
{
    uint32_t k;
    for (k = 0u; k < n_steps; k++) {
        float psi;
        float power_W;
        float v;
        /* 1. Protection first, on the latest sample: a fault sample disables the bridge
         *    in this same step. */
        if (edge_prot_check_abs_above(&p->over_current, &s->over_current,
                                      s->charge_current_A)) {
            edge_pi_reset(&s->pi);
            psi = 0.0f;
        } else {
            /* 2. Control: feed-forward from eq. (2), PI on the current error. */
            float ff = edge_dab_psi_ff_rad(&p->dab, s->v_string_V, p->v_bus_V,
                                           charge_current_ref_A * s->v_string_V);
            psi = edge_pi_step(&p->pi, &s->pi, charge_current_ref_A - s->charge_current_A,
                               ff, p->dt_s);
        }
        s->psi_rad = psi;
        /* 3. Plant: averaged power per eq. (1), string as OCV(SOC) plus R0. */
        power_W = edge_dab_power_W(&p->dab, s->v_string_V, p->v_bus_V, psi);
        v = terminal_V(p, ocv_V(p, s->soc), power_W);
        s->v_string_V = v;
        s->charge_current_A = v > 0.0f ? power_W / v : 0.0f;
        /* Coulomb counting: accumulate, and move whole chunks into soc so the result does
         * not depend on how the steps are batched. */
        s->charge_acc_As += s->charge_current_A * p->dt_s;
        if (p->capacity_As > 0.0f &&
            (s->charge_acc_As >= EDGE_SOC_CHUNK_As || s->charge_acc_As <= -EDGE_SOC_CHUNK_As)) {
            s->soc += s->charge_acc_As / p->capacity_As;
            s->soc = s->soc < 0.0f ? 0.0f : (s->soc > 1.0f ? 1.0f : s->soc);
            s->charge_acc_As = 0.0f;
        }
        s->steps++;
    }
}
