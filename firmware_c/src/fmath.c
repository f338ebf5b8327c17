/* Float helpers. <math.h> would pull libm into the firmware image; Newton's method on a
 * start >= sqrt(x) converges monotonically and stops when the value stops changing. */
#include "fmath.h"

float edge_sqrt_pos(float x)
{
    float r;
    int i;
    if (!(x > 0.0f)) {
        return 0.0f;
    }
    r = x > 1.0f ? x : 1.0f;
    for (i = 0; i < 40; i++) {
        float next = 0.5f * (r + x / r);
        if (next >= r) {
            break;
        }
        r = next;
    }
    return r;
}
