/* Pulse-test estimator (case study II): from one current step out of rest it estimates
 * R0 (the instant voltage step), then R1 and C1 of the RC pair from three points of the
 * response y(t) = (v(t) - v(t0)) / dI = R1 (1 - q^n) + k n t1 at t = n t1, q = exp(-t1/tau).
 * The k term takes out the open-circuit voltage drifting during the pulse. With
 * d1 = y2 - y1 and d2 = y3 - y2: q = (d2 - d1) / (d1 - y1), R1 = (y1 - d1) / (1 - q)^2,
 * tau = -t1 / ln q, C1 = tau / R1. The pulse must last at least 3 t1. */

enum { EDGE_PULSE_WAIT = 0, EDGE_PULSE_SETTLING = 1, EDGE_PULSE_RUNNING = 2,
       EDGE_PULSE_DONE = 3, EDGE_PULSE_FAILED = 4 };

typedef struct {
    float t1_s;              /* first sample time after the step (the second is 2 t1) */
    float i_step_min_A;      /* smallest current change taken as the pulse edge */
    float i_rest_max_A;      /* |I| below this counts as rest */
    uint8_t phase;           /* EDGE_PULSE_* */
    float v_rest_V;          /* last voltage at rest */
    float i_rest_A;
    float i_prev_A;
    float v_prev_V;
    float v0_V;              /* first voltage once the current settled */
    float di_A;              /* current step */
    float t_s;               /* time since the current settled */
    float y_ohm[3];          /* y at t1, 2 t1, 3 t1 */
    uint8_t n_y;
    float r0_ohm;            /* results */
    float r1_ohm;
    float c1_F;
} edge_pulse_est_t;

void edge_pulse_est_init(edge_pulse_est_t *e, float t1_s);
/* Feed one sample taken dt_s after the previous one. */
void edge_pulse_est_sample(edge_pulse_est_t *e, float v_V, float i_A, float dt_s);
