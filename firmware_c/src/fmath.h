/* Internal float helpers of the core (not part of the public API). */
#ifndef EDGE_FMATH_H
#define EDGE_FMATH_H

/* Square root of x >= 0 (0 for x <= 0 or NaN). IEEE-754 square root is correctly
 * rounded, so the hardware instruction (SSE sqrtss on x86-64, VSQRT.F32 on a Cortex-M4F,
 * emitted by GCC for __builtin_sqrtf with -fno-math-errno) and the Newton fallback of
 * other compilers give the same bits on host and target. */
float edge_sqrt_newton(float x);

static inline float edge_sqrt_pos(float x)
{
    if (!(x > 0.0f)) {
        return 0.0f;
    }
#if defined(__GNUC__)
    return __builtin_sqrtf(x);
#else
    return edge_sqrt_newton(x);
#endif
}
/* e^x for |x| < 80, and ln(x) for x > 0: used off the hot path (plant, estimator). */
float edge_expf(float x);
float edge_logf(float x);

static inline float edge_clampf(float x, float lo, float hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static inline float edge_absf(float x)
{
#if defined(__GNUC__)
    return __builtin_fabsf(x);  /* clears the sign bit: no branch, no libm */
#else
    return x < 0.0f ? -x : x;
#endif
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
