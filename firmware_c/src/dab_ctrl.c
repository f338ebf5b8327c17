/* DAB control: slew-limited references (soft start), an outer voltage loop every
 * `outer_every` inner steps and the inner current loop (eq. 2 feed-forward plus PI) every
 * switching period. Mode changes are bumpless. */
#include "edge_core.h"
#include "fmath.h"
#include "hot.h"

static float slew(float x, float target, float max_step)
{
    float d = target - x;
    if (d > max_step) {
        return x + max_step;
    }
    if (d < -max_step) {
        return x - max_step;
    }
    return target;
}

static int is_voltage_mode(uint8_t mode)
{
    return mode == EDGE_MODE_V_STRING || mode == EDGE_MODE_V_BUS;
}

static float regulated_V(uint8_t mode, const edge_meas_t *m)
{
    return mode == EDGE_MODE_V_BUS ? m->v_bus_V : m->v_string_V;
}

void edge_ctrl_init(edge_ctrl_state_t *s)
{
    s->mode = EDGE_MODE_OFF;
    s->i_ref_A = 0.0f;
    s->v_ref_V = 0.0f;
    s->i_ramp_A = 0.0f;
    s->v_ramp_V = 0.0f;
    s->i_cmd_A = 0.0f;
    s->psi_rad = 0.0f;
    s->ff_gain_per_A = 0.0f;
    edge_pi_reset(&s->pi_i);
    edge_pi_reset(&s->pi_v);
    s->outer_count = 0u;
}

void edge_ctrl_set(const edge_dab_params_t *d, const edge_ctrl_params_t *c,
                   edge_ctrl_state_t *s, uint8_t mode, float i_ref_A, float v_ref_V,
                   const edge_meas_t *m)
{
    uint8_t prev = s->mode;
    if (mode > EDGE_MODE_V_BUS || !edge_finitef(i_ref_A) || !edge_finitef(v_ref_V)) {
        mode = EDGE_MODE_OFF;
    }
    if (mode == EDGE_MODE_OFF) {
        edge_ctrl_init(s);
        return;
    }
    s->i_ref_A = edge_clampf(i_ref_A, -c->i_limit_A, c->i_limit_A);
    s->v_ref_V = v_ref_V;
    if (prev == EDGE_MODE_OFF) {
        /* Soft start: psi and the current from zero, the voltage from where it is. */
        edge_ctrl_init(s);
        s->i_ref_A = edge_clampf(i_ref_A, -c->i_limit_A, c->i_limit_A);
        s->v_ref_V = v_ref_V;
        s->v_ramp_V = regulated_V(mode, m);
    } else if (is_voltage_mode(mode) && mode != prev) {
        /* Into a voltage loop: it starts from the present current command. */
        s->v_ramp_V = regulated_V(mode, m);
        edge_pi_preload(&c->pi_v, &s->pi_v, s->i_cmd_A, 0.0f);
        s->outer_count = 0u;
    } else if (mode == EDGE_MODE_CURRENT && prev != EDGE_MODE_CURRENT) {
        /* Out of a voltage loop: the current ramp starts from the present command. */
        s->i_ramp_A = s->i_cmd_A;
    }
    s->ff_gain_per_A = edge_dab_ff_gain(d);
    s->mode = mode;
}

float edge_ctrl_step(const edge_dab_params_t *d, const edge_ctrl_params_t *c,
                     edge_ctrl_state_t *s, const edge_meas_t *m)
{
    float ff;
    float dt = c->dt_inner_s;

    if (s->mode == EDGE_MODE_OFF) {
        s->psi_rad = 0.0f;
        return 0.0f;
    }
    if (s->mode == EDGE_MODE_CURRENT) {
        s->i_ramp_A = slew(s->i_ramp_A, s->i_ref_A, c->i_slew_A_per_s * dt);
        s->i_cmd_A = s->i_ramp_A;
    } else if (++s->outer_count >= c->outer_every) {
        edge_pi_params_t pv = c->pi_v;
        float cap = edge_absf(s->i_ref_A);
        float dt_outer = dt * (float)c->outer_every;
        float err;
        s->outer_count = 0u;
        s->v_ramp_V = slew(s->v_ramp_V, s->v_ref_V, c->v_slew_V_per_s * dt_outer);
        err = s->v_ramp_V - regulated_V(s->mode, m);
        if (s->mode == EDGE_MODE_V_BUS) {
            err = -err;  /* a low bus needs current out of the string */
        }
        pv.out_min = -cap;
        pv.out_max = cap;
        s->i_cmd_A = edge_pi_step_inline(&pv, &s->pi_v, err, 0.0f, dt_outer);
    }
    ff = edge_psi_ff_current(d, s->ff_gain_per_A, m->v_bus_V, s->i_cmd_A);
    s->psi_rad = edge_pi_step_inline(&c->pi_i, &s->pi_i, s->i_cmd_A - m->i_string_A, ff, dt);
    return s->psi_rad;
}
