/* Float helpers without libm, so the firmware image needs no math library. */
#include "fmath.h"

float edge_sqrt_newton(float x)
{
    /* Newton from above converges monotonically; stop when it stops decreasing. */
    float r = x > 1.0f ? x : 1.0f;
    int i;
    if (!(x > 0.0f)) {
        return 0.0f;
    }
    for (i = 0; i < 64; i++) {
        float next = 0.5f * (r + x / r);
        if (next >= r) {
            break;
        }
        r = next;
    }
    return r;
}

#define EDGE_LN2_F 0.693147180559945f

float edge_expf(float x)
{
    /* x = k ln2 + r with |r| <= ln2/2; e^r by its Taylor series (error < 1e-7). */
    int k = 0;
    float r;
    float term = 1.0f;
    float sum = 1.0f;
    int i;
    if (x > 80.0f) {
        x = 80.0f;
    }
    if (x < -80.0f) {
        return 0.0f;
    }
    while (x > 0.5f * EDGE_LN2_F) {
        x -= EDGE_LN2_F;
        k++;
    }
    while (x < -0.5f * EDGE_LN2_F) {
        x += EDGE_LN2_F;
        k--;
    }
    r = x;
    for (i = 1; i <= 9; i++) {
        term *= r / (float)i;
        sum += term;
    }
    for (; k > 0; k--) {
        sum *= 2.0f;
    }
    for (; k < 0; k++) {
        sum *= 0.5f;
    }
    return sum;
}

float edge_logf(float x)
{
    /* x = m 2^k with m in [0.75, 1.5); ln m = 2 atanh(u), u = (m-1)/(m+1), |u| < 0.2. */
    int k = 0;
    float u;
    float u2;
    float term;
    float sum;
    int i;
    if (!(x > 0.0f)) {
        return -3.4e38f;
    }
    while (x >= 1.5f) {
        x *= 0.5f;
        k++;
    }
    while (x < 0.75f) {
        x *= 2.0f;
        k--;
    }
    u = (x - 1.0f) / (x + 1.0f);
    u2 = u * u;
    term = u;
    sum = u;
    for (i = 3; i <= 15; i += 2) {
        term *= u2;
        sum += term / (float)i;
    }
    return 2.0f * sum + (float)k * EDGE_LN2_F;
}
