/* PI controller with clamping anti-windup. */
#include "edge_core.h"
#include "fmath.h"
#include "hot.h"

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
    return edge_pi_step_inline(p, s, error, feed_forward, dt_s);
}
