/* Protection: evaluation of the const rows, derived signals, latching and clearing. */
#include "edge_core.h"
#include "fmath.h"
#include "hot.h"

#define EDGE_STUCK_MIN_CURRENT_A 0.5f
#define EDGE_TEMP_WINDOW_S 0.1f

void edge_prot_init(edge_prot_state_t *s)
{
    uint16_t k;
    for (k = 0u; k < 16u; k++) {
        s->count[k] = 0u;
        s->trips[k] = 0u;
    }
    s->active = 0u;
    s->pending = 0u;
    s->latched = 0u;
    s->band_ready = 0u;
    s->band_generic = 0u;
    s->band_abs_i_max_A = 0.0f;
    s->band_bus_min_V = 0.0f;
    s->band_bus_max_V = 0.0f;
    s->fast_mask = 0u;
    s->action = EDGE_ACTION_NONE;
    s->fatal = 0u;
    s->slow_steps = 0u;
    s->tripped_at = 0u;
    s->i2t_A2s = 0.0f;
    s->stuck_s = 0.0f;
    s->last_v_string_V = 0.0f;
    s->refresh_age_s = 0.0f;
    s->temp_prev_degC = 0.0f;
    s->temp_rate_degC_per_s = 0.0f;
    s->temp_window_s = -1.0f;  /* no window yet */
}

void edge_prot_refresh(edge_prot_state_t *s)
{
    s->refresh_age_s = 0.0f;
}

static int any_nonfinite(const edge_meas_t *m)
{
    return !(edge_finitef(m->v_string_V) && edge_finitef(m->i_string_A) &&
             edge_finitef(m->v_bus_V));
}

static int out_of_range(const edge_prot_params_t *p, const edge_meas_t *m)
{
    /* Written as "not inside", so that NaN is out of range. */
    return !(m->v_string_V >= 0.0f && m->v_string_V <= p->v_string_max_V &&
             edge_absf(m->i_string_A) <= p->i_abs_max_A && m->v_bus_V >= 0.0f &&
             m->temp_degC >= p->temp_min_degC && m->temp_degC <= p->temp_max_degC &&
             m->cell_min_V <= m->cell_max_V && m->cell_min_V >= 0.0f);
}

float edge_prot_signal(const edge_prot_params_t *p, const edge_prot_state_t *s,
                       const edge_meas_t *m, uint16_t n_cells, uint8_t signal)
{
    switch (signal) {
    case EDGE_SIG_CELL_AVG_V:
        return m->v_string_V / (float)(n_cells > 0u ? n_cells : 1u);
    case EDGE_SIG_CELL_MAX_V:
        return m->cell_max_V;
    case EDGE_SIG_CELL_MIN_V:
        return m->cell_min_V;
    case EDGE_SIG_ABS_CURRENT_A:
        return edge_absf(m->i_string_A);
    case EDGE_SIG_I2T_A2S:
        return s->i2t_A2s;
    case EDGE_SIG_TEMP_DEGC:
        return m->temp_degC;
    case EDGE_SIG_BUS_V:
        return m->v_bus_V;
    case EDGE_SIG_NONFINITE:
        return any_nonfinite(m) ? 1.0f : 0.0f;
    case EDGE_SIG_OUT_OF_RANGE:
        return out_of_range(p, m) ? 1.0f : 0.0f;
    case EDGE_SIG_STUCK_S:
        return s->stuck_s;
    case EDGE_SIG_REFRESH_AGE_S:
        return s->refresh_age_s;
    case EDGE_SIG_TEMP_RATE_DEGC_PER_S:
        return s->temp_rate_degC_per_s;
    case EDGE_SIG_CELL_COLLAPSE_V:
        return m->v_string_V / (float)(n_cells > 0u ? n_cells : 1u) - m->cell_min_V;
    default:
        return 0.0f;
    }
}

static void update_slow_signals(const edge_prot_params_t *p, edge_prot_state_t *s,
                                const edge_meas_t *m, float dt_s)
{
    float i = m->i_string_A;
    s->slow_steps++;
    if (edge_finitef(i)) {
        s->i2t_A2s += (i * i - p->i_cont_A * p->i_cont_A) * dt_s;
        if (s->i2t_A2s < 0.0f) {
            s->i2t_A2s = 0.0f;
        }
    }
    /* A frozen ADC: bit-identical string voltage while current flows. */
    if (edge_absf(i) > EDGE_STUCK_MIN_CURRENT_A && m->v_string_V == s->last_v_string_V) {
        s->stuck_s += dt_s;
    } else {
        s->stuck_s = 0.0f;
    }
    s->last_v_string_V = m->v_string_V;
    s->refresh_age_s = p->watchdog_enabled ? s->refresh_age_s + dt_s : 0.0f;
    /* Temperature rate over fixed windows (per-sample differences are below the
     * resolution of a float temperature). */
    if (s->temp_window_s < 0.0f) {
        s->temp_prev_degC = m->temp_degC;
        s->temp_window_s = 0.0f;
    } else {
        s->temp_window_s += dt_s;
        if (s->temp_window_s >= EDGE_TEMP_WINDOW_S) {
            s->temp_rate_degC_per_s = (m->temp_degC - s->temp_prev_degC) / s->temp_window_s;
            s->temp_prev_degC = m->temp_degC;
            s->temp_window_s = 0.0f;
        }
    }
}

static int beyond(uint8_t compare, float value, float limit)
{
    /* NaN is beyond every limit: a bad sample never counts as healthy. */
    return compare == EDGE_CMP_ABOVE ? !(value <= limit) : !(value >= limit);
}

static void update_action(const edge_prot_row_t *rows, uint16_t n_rows, edge_prot_state_t *s)
{
    uint16_t k;
    uint8_t act = EDGE_ACTION_NONE;
    for (k = 0u; k < n_rows; k++) {
        uint32_t bit = 1u << rows[k].fault;
        if (((s->latched | s->active) & bit) && rows[k].action > act) {
            act = rows[k].action;
        }
    }
    s->action = act;
}

/* Debounce, latch and hysteresis of one row for one sample; returns 1 if the row's
 * state changed. */
static int row_update(const edge_prot_row_t *r, edge_prot_state_t *s, float v)
{
    uint32_t bit = 1u << r->fault;
    if (s->active & bit) {
        /* Present until the signal is back past the clear threshold (hysteresis). */
        if (!beyond(r->compare, v, r->clear_threshold)) {
            s->active &= ~bit;
            s->pending &= ~bit;
            s->count[r->fault] = 0u;
            return 1;
        }
        return 0;
    }
    if (!beyond(r->compare, v, r->threshold)) {
        s->count[r->fault] = 0u;
        s->pending &= ~bit;
        return 0;
    }
    if (s->count[r->fault] < r->debounce_count) {
        s->count[r->fault]++;
    }
    s->pending |= bit;
    if (s->count[r->fault] < r->debounce_count) {
        return 0;
    }
    s->active |= bit;
    if (r->level != EDGE_LEVEL_WARNING && !(s->latched & bit)) {
        s->latched |= bit;
        s->trips[r->fault]++;
        s->tripped_at = s->slow_steps;
        if (r->level == EDGE_LEVEL_FATAL) {
            s->fatal = 1u;
        }
    }
    return 1;
}

/* The band in which no fast row is beyond its threshold, from the rows themselves. */
static void prepare_band(const edge_prot_row_t *rows, uint16_t n_rows, edge_prot_state_t *s)
{
    uint16_t k;
    s->band_abs_i_max_A = 3.0e38f;
    s->band_bus_min_V = -3.0e38f;
    s->band_bus_max_V = 3.0e38f;
    s->band_generic = 0u;
    s->fast_mask = 0u;
    for (k = 0u; k < n_rows && rows[k].rate == EDGE_RATE_FAST; k++) {
        const edge_prot_row_t *r = &rows[k];
        int above = r->compare == EDGE_CMP_ABOVE;
        s->fast_mask |= 1u << r->fault;
        if (r->signal == EDGE_SIG_ABS_CURRENT_A && above) {
            s->band_abs_i_max_A = r->threshold < s->band_abs_i_max_A ? r->threshold
                                                                     : s->band_abs_i_max_A;
        } else if (r->signal == EDGE_SIG_BUS_V && above) {
            s->band_bus_max_V = r->threshold < s->band_bus_max_V ? r->threshold
                                                                 : s->band_bus_max_V;
        } else if (r->signal == EDGE_SIG_BUS_V) {
            s->band_bus_min_V = r->threshold > s->band_bus_min_V ? r->threshold
                                                                 : s->band_bus_min_V;
        } else if (!(r->signal == EDGE_SIG_NONFINITE && above && r->threshold >= 0.0f)) {
            s->band_generic = 1u;
        }
    }
    s->band_ready = 1u;
}

/* The fast rows, one by one (a sample outside the quiet band, or a row counting). */
static int eval_fast(const edge_prot_row_t *rows, uint16_t n_rows,
                     const edge_prot_params_t *p, edge_prot_state_t *s,
                     const edge_meas_t *m, uint16_t n_cells)
{
    float bad = any_nonfinite(m) ? 1.0f : 0.0f;
    float abs_i = edge_absf(m->i_string_A);
    int changed = 0;
    uint16_t k;
    if (!s->band_ready) {
        prepare_band(rows, n_rows, s);
    }
    for (k = 0u; k < n_rows && rows[k].rate == EDGE_RATE_FAST; k++) {
        const edge_prot_row_t *r = &rows[k];
        float v;
        switch (r->signal) {
        case EDGE_SIG_ABS_CURRENT_A:
            v = abs_i;
            break;
        case EDGE_SIG_BUS_V:
            v = m->v_bus_V;
            break;
        case EDGE_SIG_NONFINITE:
            v = bad;
            break;
        default:
            v = edge_prot_signal(p, s, m, n_cells, r->signal);
            break;
        }
        if (((s->active | s->pending) & (1u << r->fault)) ||
            beyond(r->compare, v, r->threshold)) {
            changed |= row_update(r, s, v);
        }
    }
    return changed;
}

static uint8_t eval_rows(const edge_prot_row_t *rows, uint16_t n_rows,
                         const edge_prot_params_t *p, edge_prot_state_t *s,
                         const edge_meas_t *m, uint16_t n_cells, uint8_t rate, float dt_s);

uint8_t edge_prot_eval(const edge_prot_row_t *rows, uint16_t n_rows,
                       const edge_prot_params_t *p, edge_prot_state_t *s,
                       const edge_meas_t *m, uint16_t n_cells, uint8_t rate, float dt_s)
{
    if (rate == EDGE_RATE_FAST && edge_prot_fast_quiet(s, m)) {
        return s->action;
    }
    return eval_rows(rows, n_rows, p, s, m, n_cells, rate, dt_s);
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static uint8_t eval_rows(const edge_prot_row_t *rows, uint16_t n_rows,
                         const edge_prot_params_t *p, edge_prot_state_t *s,
                         const edge_meas_t *m, uint16_t n_cells, uint8_t rate, float dt_s)
{
    int changed = 0;
    if (rate == EDGE_RATE_FAST) {
        changed = eval_fast(rows, n_rows, p, s, m, n_cells);
    } else {
        uint16_t k = 0u;
        update_slow_signals(p, s, m, dt_s);
        while (k < n_rows && rows[k].rate == EDGE_RATE_FAST) {
            k++;  /* fast rows come first in every table */
        }
        for (; k < n_rows; k++) {
            changed |= row_update(&rows[k], s, edge_prot_signal(p, s, m, n_cells, rows[k].signal));
        }
    }
    if (changed) {
        update_action(rows, n_rows, s);
    }
    return s->action;
}

int edge_prot_clear(const edge_prot_row_t *rows, uint16_t n_rows,
                    const edge_prot_params_t *p, edge_prot_state_t *s,
                    const edge_meas_t *m, uint16_t n_cells)
{
    uint16_t k;
    if (s->fatal) {
        return 0;  /* an isolated string needs inspection and a re-init */
    }
    if (s->latched != 0u && s->slow_steps - s->tripped_at < p->lockout_slow_steps) {
        return 0;
    }
    for (k = 0u; k < n_rows; k++) {
        const edge_prot_row_t *r = &rows[k];
        if ((s->latched & (1u << r->fault)) &&
            beyond(r->compare, edge_prot_signal(p, s, m, n_cells, r->signal),
                   r->clear_threshold)) {
            return 0;  /* the condition is still there */
        }
    }
    for (k = 0u; k < n_rows; k++) {
        uint32_t bit = 1u << rows[k].fault;
        if (s->latched & bit) {
            s->active &= ~bit;
            s->pending &= ~bit;
            s->count[rows[k].fault] = 0u;
        }
    }
    s->latched = 0u;
    s->refresh_age_s = 0.0f;
    update_action(rows, n_rows, s);
    return 1;
}
