/* The inner loop's arithmetic as static inline functions, so the control step compiles
 * into one body without calls (the inner step runs every switching period). The exported
 * functions in pi.c and dab_model.c wrap the same code. */
#ifndef EDGE_HOT_H
#define EDGE_HOT_H

#include "edge_core.h"
#include "fmath.h"

#define EDGE_PI_F 3.14159265358979f

static inline float edge_pi_step_inline(const edge_pi_params_t *p, edge_pi_state_t *s,
                                        float error, float feed_forward, float dt_s)
{
    float integ_next;
    float unclamped;
    if (!(error - error == 0.0f)) {
        error = 0.0f;  /* NaN or inf: a bad sample must not poison the integrator */
    }
    integ_next = s->integ + p->ki_per_s * error * dt_s;
    unclamped = feed_forward + p->kp * error + integ_next;
    /* Clamping anti-windup: integrate only while that does not push further into a
     * limit, so the loop comes out of saturation without overshoot. */
    if ((unclamped > p->out_max && error > 0.0f) || (unclamped < p->out_min && error < 0.0f)) {
        integ_next = s->integ;
    }
    s->integ = edge_flush_tiny(edge_clampf(integ_next, p->out_min, p->out_max));
    return edge_clampf(feed_forward + p->kp * error + s->integ, p->out_min, p->out_max);
}

/* Eq. (2) for a string current: P/(n Vs Vb) = I/(n Vb), so
 * psi = pi/2 [1 - sqrt(1 - 8 fsw L |I| / (n Vb))], with the sign of I.
 * gain_per_A = 8 fsw L / n (edge_dab_ff_gain). */
static inline float edge_psi_ff_current(const edge_dab_params_t *p, float gain_per_A,
                                        float v_bus_V, float current_A)
{
    float arg;
    float psi;
    if (!(v_bus_V > 0.0f)) {
        return 0.0f;
    }
    arg = 1.0f - gain_per_A * edge_absf(current_A) / v_bus_V;
    psi = arg <= 0.0f ? 0.5f * EDGE_PI_F : 0.5f * EDGE_PI_F * (1.0f - edge_sqrt_pos(arg));
    psi = psi > p->psi_max_rad ? p->psi_max_rad : psi;
    return current_A < 0.0f ? -psi : psi;
}

static inline float edge_dab_ff_gain(const edge_dab_params_t *p)
{
    return p->n_ratio > 0.0f ? 8.0f * p->f_sw_Hz * p->l_leak_H / p->n_ratio : 0.0f;
}

/* The fast protection rows' common case: a sample inside the quiet band (derived from the
 * table by edge_prot_eval on its first fast call) with no fast row counting or active
 * changes nothing. NaN fails every compare of the current and the bus voltage, and
 * x - x is NaN for a NaN or infinite string voltage. */
static inline int edge_prot_fast_quiet(const edge_prot_state_t *s, const edge_meas_t *m)
{
    float abs_i = edge_absf(m->i_string_A);
    return s->band_ready && !s->band_generic && m->v_string_V - m->v_string_V == 0.0f &&
           abs_i <= s->band_abs_i_max_A && m->v_bus_V <= s->band_bus_max_V &&
           m->v_bus_V >= s->band_bus_min_V && !((s->active | s->pending) & s->fast_mask);
}

#endif /* EDGE_HOT_H */
