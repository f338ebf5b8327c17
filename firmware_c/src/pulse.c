/* Pulse-test estimator (case study II). See edge_pulse_api.h for the method. */
#include "edge_core.h"
#include "fmath.h"

void edge_pulse_est_init(edge_pulse_est_t *e, float t1_s)
{
    e->t1_s = t1_s;
    e->i_step_min_A = 0.5f;
    e->i_rest_max_A = 0.05f;
    e->phase = EDGE_PULSE_WAIT;
    e->v_rest_V = 0.0f;
    e->i_rest_A = 0.0f;
    e->i_prev_A = 0.0f;
    e->v_prev_V = 0.0f;
    e->v0_V = 0.0f;
    e->di_A = 0.0f;
    e->t_s = 0.0f;
    e->y_ohm[0] = 0.0f;
    e->y_ohm[1] = 0.0f;
    e->y_ohm[2] = 0.0f;
    e->n_y = 0u;
    e->r0_ohm = 0.0f;
    e->r1_ohm = 0.0f;
    e->c1_F = 0.0f;
}

void edge_pulse_est_sample(edge_pulse_est_t *e, float v_V, float i_A, float dt_s)
{
    switch (e->phase) {
    case EDGE_PULSE_WAIT:
        if (edge_absf(i_A) <= e->i_rest_max_A) {
            e->v_rest_V = v_V;
            e->i_rest_A = i_A;
        } else if (edge_absf(i_A - e->i_rest_A) >= e->i_step_min_A) {
            e->phase = EDGE_PULSE_SETTLING;
        }
        break;
    case EDGE_PULSE_SETTLING:
        /* The current has settled when it changes by < 0.2 % between samples. */
        if (edge_absf(i_A - e->i_prev_A) < 0.002f * edge_absf(i_A)) {
            e->di_A = i_A - e->i_rest_A;
            e->r0_ohm = (v_V - e->v_rest_V) / e->di_A;
            e->v0_V = v_V;
            e->t_s = 0.0f;
            e->phase = EDGE_PULSE_RUNNING;
        }
        break;
    case EDGE_PULSE_RUNNING:
        e->t_s += dt_s;
        if (e->t_s >= (float)(e->n_y + 1u) * e->t1_s - 0.5f * dt_s) {
            e->y_ohm[e->n_y++] = (v_V - e->v0_V) / e->di_A;
        }
        if (e->n_y == 3u) {
            float y1 = e->y_ohm[0];
            float d1 = e->y_ohm[1] - y1;
            float d2 = e->y_ohm[2] - e->y_ohm[1];
            float q = (d2 - d1) / (d1 - y1);
            float tau;
            if (!(q > 0.0f && q < 1.0f)) {
                e->phase = EDGE_PULSE_FAILED;  /* no first-order response in the data */
                break;
            }
            tau = -e->t1_s / edge_logf(q);
            e->r1_ohm = (y1 - d1) / ((1.0f - q) * (1.0f - q));
            e->c1_F = tau / e->r1_ohm;
            e->phase = EDGE_PULSE_DONE;
        }
        break;
    default:
        break;
    }
    e->i_prev_A = i_A;
    e->v_prev_V = v_V;
}
