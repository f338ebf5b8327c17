/* Protection row evaluation: debounced, latched until an explicit clear. */
#include "edge_core.h"

int edge_prot_check_abs_above(const edge_prot_row_t *row, edge_prot_state_t *s, float value)
{
    float mag = value < 0.0f ? -value : value;
    /* NaN fails every comparison, so test for "not within" rather than "above". */
    int fault = !(mag <= row->trip_above);
    uint16_t need = row->debounce_count > 0u ? row->debounce_count : 1u;

    if (s->latched) {
        return 1;
    }
    if (fault) {
        if (s->count < need) {
            s->count = (uint16_t)(s->count + 1u);
        }
        if (s->count >= need) {
            s->latched = 1u;
        }
    } else {
        s->count = 0u;
    }
    return s->latched ? 1 : 0;
}

void edge_prot_clear(edge_prot_state_t *s)
{
    s->count = 0u;
    s->latched = 0u;
}
