/* Internal float helpers of the core (not part of the public API). */
#ifndef EDGE_FMATH_H
#define EDGE_FMATH_H

/* Square root of x >= 0 (0 for x <= 0 or NaN), without libm. */
float edge_sqrt_pos(float x);

#endif /* EDGE_FMATH_H */
