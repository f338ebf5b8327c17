/* PI controller with clamping anti-windup. All state in caller-owned structs. */

typedef struct {
    float kp;        /* proportional gain, output units per error unit */
    float ki_per_s;  /* integral gain, output units per error unit per second */
    float out_min;   /* lower limit of the output (and of the integrator) */
    float out_max;   /* upper limit of the output (and of the integrator) */
} edge_pi_params_t;

typedef struct {
    float integ;     /* integrator contribution, output units */
} edge_pi_state_t;

void edge_pi_reset(edge_pi_state_t *s);
/* Preload the integrator so that the next output with zero error equals `output`
 * (bumpless transfer into this loop). */
void edge_pi_preload(const edge_pi_params_t *p, edge_pi_state_t *s, float output,
                     float feed_forward);
/* One step; feed_forward is added before the limits, so the integrator only carries
 * what the feed-forward misses. A non-finite error is treated as zero. */
float edge_pi_step(const edge_pi_params_t *p, edge_pi_state_t *s, float error,
                   float feed_forward, float dt_s);
