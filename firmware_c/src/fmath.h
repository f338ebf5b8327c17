/* Internal float helpers of the core (not part of the public API). */
#ifndef EDGE_FMATH_H
#define EDGE_FMATH_H

/* Square root of x >= 0 (0 for x <= 0 or NaN). Correctly rounded on every build. */
float edge_sqrt_pos(float x);
/* e^x for |x| < 80, and ln(x) for x > 0: used off the hot path (plant, estimator). */
float edge_expf(float x);
float edge_logf(float x);

static inline float edge_clampf(float x, float lo, float hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static inline float edge_absf(float x)
{
    return x < 0.0f ? -x : x;
}

/* 0 for |x| < 1e-20: a stable loop decays exponentially towards zero and would reach
 * subnormal floats, which x86 handles slowly. Flushed in code, so host and target agree. */
static inline float edge_flush_tiny(float x)
{
    return (x < 1.0e-20f && x > -1.0e-20f) ? 0.0f : x;
}

/* 1 for a finite float, 0 for NaN or +-inf (no <math.h>). */
static inline int edge_finitef(float x)
{
    return x == x && x <= 3.4e38f && x >= -3.4e38f;
}

#endif /* EDGE_FMATH_H */
