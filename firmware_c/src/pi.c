/* PI controller with clamping anti-windup. */
#include "edge_core.h"
#include "fmath.h"

void edge_pi_reset(edge_pi_state_t *s)
{
    s->integ = 0.0f;
}

void edge_pi_preload(const edge_pi_params_t *p, edge_pi_state_t *s, float output,
                     float feed_forward)
{
    s->integ = edge_clampf(output - feed_forward, p->out_min, p->out_max);
}

float edge_pi_step(const edge_pi_params_t *p, edge_pi_state_t *s, float error,
                   float feed_forward, float dt_s)
{
    float integ_next;
    float unclamped;

    if (!edge_finitef(error)) {
        error = 0.0f;  /* a bad sample must not poison the integrator */
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
