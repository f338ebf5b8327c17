/* Charge protocols: table-driven state machines (paper Table I), limits from Table II.
 * Transitions watch the highest (or lowest) cell voltage, the current and timers. */
#include "edge_core.h"
#include "fmath.h"

/* kind, current_C, v_cell_V, end_cell_max_V, end_cell_min_V, end_current_C, duration_s */
static const edge_charge_step_t LIFEPO4_CC_CV_REST[] = {
    {EDGE_STEP_CC, 1.0f, 0.0f, 3.65f, 0.0f, 0.0f, 0.0f},    /* 1C CC to 3.65 V (Table II) */
    {EDGE_STEP_CV, 1.0f, 3.65f, 0.0f, 0.0f, 0.05f, 0.0f},   /* CV until I < 0.05C */
    {EDGE_STEP_REST, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1800.0f},
};
static const edge_charge_step_t LEAD_ACID_CC_CV_REST_FLOAT[] = {
    {EDGE_STEP_CC, 0.2f, 0.0f, 2.45f, 0.0f, 0.0f, 0.0f},    /* fast charge to 2.45 V */
    {EDGE_STEP_CV, 0.2f, 2.45f, 0.0f, 0.0f, 0.02f, 0.0f},
    {EDGE_STEP_REST, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1800.0f},
    {EDGE_STEP_FLOAT, 0.05f, 2.30f, 0.0f, 0.0f, 0.0f, 0.0f}, /* float 2.27-2.35 V */
};
static const edge_charge_step_t ZINC_CC_REST_CC_REST[] = {
    {EDGE_STEP_CC, 0.2f, 0.0f, 1.90f, 0.0f, 0.0f, 0.0f},
    {EDGE_STEP_REST, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 600.0f},
    {EDGE_STEP_CC, 0.05f, 0.0f, 1.90f, 0.0f, 0.0f, 0.0f},
    {EDGE_STEP_REST, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 600.0f},
};

const edge_charge_step_t *edge_charge_protocol(uint8_t chem_id, uint16_t *n_steps)
{
    const edge_charge_step_t *steps = (const edge_charge_step_t *)0;
    uint16_t n = 0u;
    switch (chem_id) {
    case EDGE_CHEM_LIFEPO4:
        steps = LIFEPO4_CC_CV_REST;
        n = (uint16_t)(sizeof LIFEPO4_CC_CV_REST / sizeof LIFEPO4_CC_CV_REST[0]);
        break;
    case EDGE_CHEM_LEAD_ACID:
        steps = LEAD_ACID_CC_CV_REST_FLOAT;
        n = (uint16_t)(sizeof LEAD_ACID_CC_CV_REST_FLOAT / sizeof LEAD_ACID_CC_CV_REST_FLOAT[0]);
        break;
    case EDGE_CHEM_ZINC:
        steps = ZINC_CC_REST_CC_REST;
        n = (uint16_t)(sizeof ZINC_CC_REST_CC_REST / sizeof ZINC_CC_REST_CC_REST[0]);
        break;
    default:
        break;
    }
    if (n_steps != (uint16_t *)0) {
        *n_steps = n;
    }
    return steps;
}

void edge_charge_start(edge_charge_state_t *s)
{
    s->step = 0u;
    s->done = 0u;
    s->t_step_s = -1.0f;  /* not entered yet */
    s->mode = EDGE_MODE_OFF;
    s->i_ref_A = 0.0f;
    s->v_ref_V = 0.0f;
}

static void enter(const edge_charge_step_t *st, edge_charge_state_t *s, uint16_t n_cells,
                  float capacity_Ah)
{
    s->t_step_s = 0.0f;
    s->i_ref_A = st->current_C * capacity_Ah;
    s->v_ref_V = st->v_cell_V * (float)n_cells;
    switch (st->kind) {
    case EDGE_STEP_CC:
        s->mode = EDGE_MODE_CURRENT;
        break;
    case EDGE_STEP_CV:
    case EDGE_STEP_FLOAT:
        s->mode = EDGE_MODE_V_STRING;
        break;
    default:
        s->mode = EDGE_MODE_OFF;
        s->i_ref_A = 0.0f;
        break;
    }
}

static int step_ended(const edge_charge_step_t *st, const edge_charge_state_t *s,
                      const edge_meas_t *m, float capacity_Ah)
{
    if (st->kind == EDGE_STEP_FLOAT) {
        return 0;
    }
    if (st->duration_s > 0.0f && s->t_step_s >= st->duration_s) {
        return 1;
    }
    if (st->end_cell_max_V > 0.0f && m->cell_max_V >= st->end_cell_max_V) {
        return 1;
    }
    if (st->end_cell_min_V > 0.0f && m->cell_min_V <= st->end_cell_min_V) {
        return 1;
    }
    /* The taper is judged after a second in the step: a CV step entered from rest
     * starts at zero current. */
    return st->kind == EDGE_STEP_CV && st->end_current_C > 0.0f && s->t_step_s >= 1.0f &&
           edge_absf(m->i_string_A) < st->end_current_C * capacity_Ah;
}

int edge_charge_tick(const edge_charge_step_t *steps, uint16_t n_steps,
                     edge_charge_state_t *s, const edge_meas_t *m, uint16_t n_cells,
                     float capacity_Ah, float dt_s)
{
    if (s->done) {
        return 0;
    }
    if (s->step >= n_steps || steps == (const edge_charge_step_t *)0) {
        s->done = 1u;
        s->mode = EDGE_MODE_OFF;
        return 1;
    }
    if (s->t_step_s < 0.0f) {
        enter(&steps[s->step], s, n_cells, capacity_Ah);
        return 1;
    }
    s->t_step_s += dt_s;
    if (!step_ended(&steps[s->step], s, m, capacity_Ah)) {
        return 0;
    }
    s->step++;
    if (s->step >= n_steps) {
        s->done = 1u;
        s->mode = EDGE_MODE_OFF;
        s->i_ref_A = 0.0f;
        return 1;
    }
    enter(&steps[s->step], s, n_cells, capacity_Ah);
    return 1;
}
