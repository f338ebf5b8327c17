/* A DAB board: protection, charge protocol and control for one string. */
#include "edge_core.h"
#include "fmath.h"
#include "hot.h"

void edge_board_defaults(edge_board_params_t *p, uint8_t chem_id, uint16_t n_cells,
                         float capacity_Ah)
{
    /* The paper's converter: 75 W nominal, 12-15 V strings, 24 V bus, 100 kHz, with L
     * sized for 150 W at psi = pi/2 (firmware-targets.md §8: L = 2.4 uH). */
    p->dab.n_ratio = 1.0f;
    p->dab.l_leak_H = 2.4e-6f;
    p->dab.f_sw_Hz = 100.0e3f;
    p->dab.psi_max_rad = 0.9f;
    /* Inner loop at f_sw on top of the feed-forward; outer voltage loop at 10 kHz.
     * Tuned on the averaged plant (one switching period of PWM delay). */
    p->ctrl.pi_i.kp = 0.01f;
    p->ctrl.pi_i.ki_per_s = 200.0f;
    p->ctrl.pi_i.out_min = -p->dab.psi_max_rad;
    p->ctrl.pi_i.out_max = p->dab.psi_max_rad;
    p->ctrl.pi_v.kp = 6.0f;
    p->ctrl.pi_v.ki_per_s = 6000.0f;
    p->ctrl.pi_v.out_min = -8.0f;
    p->ctrl.pi_v.out_max = 8.0f;
    p->ctrl.i_slew_A_per_s = 5000.0f;  /* 5 A in 1 ms: soft start without a current step */
    p->ctrl.v_slew_V_per_s = 100.0f;
    p->ctrl.i_limit_A = 8.0f;
    p->ctrl.dt_inner_s = 1.0f / p->dab.f_sw_Hz;
    p->ctrl.outer_every = 10u;
    p->prot.i_cont_A = 6.0f;
    p->prot.v_string_max_V = 40.0f;
    p->prot.i_abs_max_A = 50.0f;
    p->prot.temp_min_degC = -40.0f;
    p->prot.temp_max_degC = 150.0f;
    p->prot.lockout_slow_steps = 500u;  /* 500 ms at 1 kHz */
    p->prot.watchdog_enabled = 1u;
    p->prot_rows = edge_prot_table(chem_id, &p->n_prot_rows);
    p->protocol = edge_charge_protocol(chem_id, &p->n_protocol_steps);
    p->n_cells = n_cells;
    p->capacity_Ah = capacity_Ah;
    p->slow_every = 100u;
}

void edge_board_init(const edge_board_params_t *p, edge_board_state_t *s)
{
    (void)p;
    edge_ctrl_init(&s->ctrl);
    edge_prot_init(&s->prot);
    edge_charge_start(&s->charge);
    s->command = EDGE_CMD_OFF;
    s->contactor_closed = 1u;
    s->bridge_off_now = 0u;
    s->slow_count = 0u;
    s->steps = 0u;
}

static uint8_t mode_of(uint8_t cmd)
{
    switch (cmd) {
    case EDGE_CMD_CURRENT:
        return EDGE_MODE_CURRENT;
    case EDGE_CMD_V_STRING:
        return EDGE_MODE_V_STRING;
    case EDGE_CMD_V_BUS:
        return EDGE_MODE_V_BUS;
    default:
        return EDGE_MODE_OFF;
    }
}

void edge_board_command(const edge_board_params_t *p, edge_board_state_t *s, uint8_t cmd,
                        float i_ref_A, float v_ref_V, const edge_meas_t *m)
{
    edge_prot_refresh(&s->prot);
    if (cmd > EDGE_CMD_PROTOCOL) {
        cmd = EDGE_CMD_OFF;
    }
    s->command = cmd;
    if (cmd == EDGE_CMD_PROTOCOL) {
        edge_charge_start(&s->charge);
        return;  /* the next slow tick enters the first step */
    }
    if (s->prot.action >= EDGE_ACTION_BRIDGE_OFF) {
        return;  /* stays off until the trip is cleared */
    }
    edge_ctrl_set(&p->dab, &p->ctrl, &s->ctrl, mode_of(cmd), i_ref_A, v_ref_V, m);
}

int edge_board_clear(const edge_board_params_t *p, edge_board_state_t *s,
                     const edge_meas_t *m)
{
    return edge_prot_clear(p->prot_rows, p->n_prot_rows, &p->prot, &s->prot, m, p->n_cells);
}

void edge_board_slow(const edge_board_params_t *p, edge_board_state_t *s,
                     const edge_meas_t *m)
{
    float dt_slow = p->ctrl.dt_inner_s * (float)p->slow_every;
    edge_prot_eval(p->prot_rows, p->n_prot_rows, &p->prot, &s->prot, m, p->n_cells,
                   EDGE_RATE_SLOW, dt_slow);
    if (s->command == EDGE_CMD_PROTOCOL && s->prot.action < EDGE_ACTION_RAMP_ZERO &&
        edge_charge_tick(p->protocol, p->n_protocol_steps, &s->charge, m, p->n_cells,
                         p->capacity_Ah, dt_slow)) {
        edge_ctrl_set(&p->dab, &p->ctrl, &s->ctrl, s->charge.mode, s->charge.i_ref_A,
                      s->charge.v_ref_V, m);
    }
}

float edge_board_inner(const edge_board_params_t *p, edge_board_state_t *s,
                       const edge_meas_t *m)
{
    uint8_t act = edge_prot_fast_quiet(&s->prot, m)
                      ? s->prot.action
                      : edge_prot_eval(p->prot_rows, p->n_prot_rows, &p->prot, &s->prot, m,
                                       p->n_cells, EDGE_RATE_FAST, p->ctrl.dt_inner_s);
    s->steps++;
    if (act >= EDGE_ACTION_BRIDGE_OFF) {
        if (act == EDGE_ACTION_ISOLATE) {
            s->contactor_closed = 0u;
        }
        if (s->ctrl.mode != EDGE_MODE_OFF) {
            edge_ctrl_init(&s->ctrl);
        }
        s->bridge_off_now = 1u;
        return 0.0f;
    }
    s->bridge_off_now = 0u;
    if (act == EDGE_ACTION_RAMP_ZERO &&
        (s->ctrl.mode != EDGE_MODE_CURRENT || s->ctrl.i_ref_A != 0.0f)) {
        /* Watchdog: ramp to zero current from wherever the loop is (bumpless). */
        edge_ctrl_set(&p->dab, &p->ctrl, &s->ctrl,
                      s->ctrl.mode == EDGE_MODE_OFF ? EDGE_MODE_OFF : EDGE_MODE_CURRENT,
                      0.0f, 0.0f, m);
    }
    return edge_ctrl_step(&p->dab, &p->ctrl, &s->ctrl, m);
}

float edge_board_step(const edge_board_params_t *p, edge_board_state_t *s,
                      const edge_meas_t *m)
{
    if (++s->slow_count >= p->slow_every) {
        s->slow_count = 0u;
        edge_board_slow(p, s, m);
    }
    return edge_board_inner(p, s, m);
}
