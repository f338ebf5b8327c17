/* PI controller with clamping anti-windup. */
#include "edge_core.h"

static float clampf(float x, float lo, float hi)
{
    if (x < lo) {
        return lo;
    }
    if (x > hi) {
        return hi;
    }
    return x;
}

void edge_pi_reset(edge_pi_state_t *s)
{
    s->integ = 0.0f;
}

float edge_pi_step(const edge_pi_params_t *p, edge_pi_state_t *s, float error,
                   float feed_forward, float dt_s)
{
    float unclamped;
    float integ_next;

    /* A non-finite error must not poison the integrator: hold it and drop the P term. */
    if (!(error == error) || error > 3.0e38f || error < -3.0e38f) {
        error = 0.0f;
    }
    integ_next = s->integ + p->ki_per_s * error * dt_s;
    unclamped = feed_forward + p->kp * error + integ_next;
    /* Clamping anti-windup: integrate only while that does not push further into a
     * limit, so the loop comes out of saturation without overshoot. */
    if ((unclamped > p->out_max && error > 0.0f) || (unclamped < p->out_min && error < 0.0f)) {
        integ_next = s->integ;
    }
    s->integ = clampf(integ_next, p->out_min, p->out_max);
    return clampf(feed_forward + p->kp * error + s->integ, p->out_min, p->out_max);
}
