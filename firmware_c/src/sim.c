/* Host and QEMU simulation of the paper's platform (Fig. 2): up to two boards with their
 * strings on one DC bus, plant and control interleaved as on hardware. Never linked
 * into a real board (with plant.c and chem.c). */
#include "edge_core.h"
#include "fmath.h"

void edge_sim_defaults(edge_sim_params_t *p)
{
    /* Case study I's platform: string A four LiFePO4 cells, string B six Pb-acid cells,
     * 25 Ah each (Table II), on a 24 V bus held by the front end. */
    p->bus.c_bus_F = 2.2e-3f;
    p->bus.v_src_V = 24.0f;
    p->bus.r_src_ohm = 0.05f;
    p->n_units = 2u;
    edge_board_defaults(&p->unit[0].board, EDGE_CHEM_LIFEPO4, 4u, 25.0f);
    edge_string_defaults(&p->unit[0].string, EDGE_CHEM_LIFEPO4, 4u, 25.0f);
    edge_board_defaults(&p->unit[1].board, EDGE_CHEM_LEAD_ACID, 6u, 25.0f);
    edge_string_defaults(&p->unit[1].string, EDGE_CHEM_LEAD_ACID, 6u, 25.0f);
}

static void measure(const edge_string_state_t *st, const edge_bus_state_t *bus,
                    edge_meas_t *m)
{
    m->v_string_V = st->v_V;
    m->i_string_A = st->i_A;
    m->v_bus_V = bus->v_bus_V;
    m->temp_degC = st->temp_degC;
    m->cell_min_V = st->cell_min_V;
    m->cell_max_V = st->cell_max_V;
}

void edge_sim_init(const edge_sim_params_t *p, edge_sim_state_t *s, float soc0, float soc1)
{
    uint16_t u;
    s->bus.v_bus_V = p->bus.r_src_ohm > 0.0f ? p->bus.v_src_V : 24.0f;
    s->bus.g_load_S = 0.0f;
    for (u = 0u; u < 2u; u++) {
        edge_unit_state_t *us = &s->unit[u];
        edge_string_init(&p->unit[u].string, &us->string, u == 0u ? soc0 : soc1, 25.0f);
        edge_board_init(&p->unit[u].board, &us->board);
        measure(&us->string, &s->bus, &us->meas);
        us->psi_next_rad = 0.0f;
        us->psi_applied_rad = 0.0f;
        us->power_W = 0.0f;
    }
    s->steps = 0u;
}

void edge_sim_run(const edge_sim_params_t *p, edge_sim_state_t *s, uint32_t n_steps,
                  float *trace_i0_A, float *trace_v_bus_V)
{
    uint32_t k;
    uint16_t u;
    uint16_t n = p->n_units > 2u ? 2u : p->n_units;
    float dt = p->unit[0].board.ctrl.dt_inner_s;
    for (k = 0u; k < n_steps; k++) {
        float p_total = 0.0f;
        int slow;
        s->steps++;
        slow = (s->steps % p->unit[0].board.slow_every) == 0u;
        /* Plant over this period with the psi in the PWM registers. */
        for (u = 0u; u < n; u++) {
            edge_unit_state_t *us = &s->unit[u];
            us->power_W = us->board.contactor_closed
                              ? edge_dab_power_W(&p->unit[u].board.dab, us->string.v_V,
                                                 s->bus.v_bus_V, us->psi_applied_rad)
                              : 0.0f;
            edge_string_fast(&p->unit[u].string, &us->string, us->power_W);
            if (slow) {
                edge_string_slow(&p->unit[u].string, &us->string,
                                 dt * (float)p->unit[0].board.slow_every);
            }
            p_total += us->power_W;
        }
        edge_bus_step(&p->bus, &s->bus, p_total, dt);
        /* Sample, protect, control. A new psi reaches the PWM one period later; a
         * protection trip turns the bridge off at once. */
        for (u = 0u; u < n; u++) {
            edge_unit_state_t *us = &s->unit[u];
            float psi;
            measure(&us->string, &s->bus, &us->meas);
            psi = edge_board_step(&p->unit[u].board, &us->board, &us->meas);
            if (us->board.bridge_off_now) {
                us->psi_applied_rad = 0.0f;
                us->psi_next_rad = 0.0f;
            } else {
                us->psi_applied_rad = us->psi_next_rad;
                us->psi_next_rad = psi;
            }
        }
        if (trace_i0_A != (float *)0) {
            trace_i0_A[k] = s->unit[0].string.i_A;
        }
        if (trace_v_bus_V != (float *)0) {
            trace_v_bus_V[k] = s->bus.v_bus_V;
        }
    }
}
