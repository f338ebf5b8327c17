/* The protection tables: one row per fault, one table per chemistry (only the cell
 * thresholds differ). Fast rows come first (edge_prot_eval relies on it).
 *
 * Sources: cell limits follow the chemistry's charge and cut-off voltages (chem.c) with
 * margins; rates and debounce counts follow docs/reference/firmware-targets.md §8
 * (firmware fast trip <= 2 samples, slow trips detected <= 100 ms with persistence
 * counters, three levels, latched with >= 500 ms lock-out). Currents are for the seed
 * board (75 W, about 6 A at 12 V). Debounce counts are in samples of the row's rate:
 * fast = every switching period (10 us), slow = 1 kHz. */
#include "edge_core.h"

#define F EDGE_RATE_FAST
#define S EDGE_RATE_SLOW
#define A EDGE_CMP_ABOVE
#define B EDGE_CMP_BELOW
#define WARN EDGE_LEVEL_WARNING
#define TRIP EDGE_LEVEL_TRIP
#define FATAL EDGE_LEVEL_FATAL

/* fault, signal, compare, level, action, rate, threshold, clear, debounce */
#define EDGE_PROT_ROWS(avg_ov, avg_ov_clr, avg_uv, avg_uv_clr, cell_ov, cell_ov_clr,       \
                       cell_uv, cell_uv_clr, collapse, collapse_clr)                        \
    {                                                                                      \
        {EDGE_FAULT_SENSOR_NAN, EDGE_SIG_NONFINITE, A, TRIP, EDGE_ACTION_BRIDGE_OFF, F,    \
         0.5f, 0.5f, 1u},                                                                  \
        {EDGE_FAULT_OC_INST, EDGE_SIG_ABS_CURRENT_A, A, TRIP, EDGE_ACTION_BRIDGE_OFF, F,   \
         10.0f, 8.0f, 2u},                                                                 \
        {EDGE_FAULT_BUS_OV, EDGE_SIG_BUS_V, A, TRIP, EDGE_ACTION_BRIDGE_OFF, F, 30.0f,     \
         27.0f, 3u},                                                                       \
        {EDGE_FAULT_BUS_UV, EDGE_SIG_BUS_V, B, TRIP, EDGE_ACTION_BRIDGE_OFF, F, 18.0f,     \
         21.0f, 5u},                                                                       \
        {EDGE_FAULT_STRING_OV, EDGE_SIG_CELL_AVG_V, A, TRIP, EDGE_ACTION_BRIDGE_OFF, S,    \
         avg_ov, avg_ov_clr, 10u},                                                         \
        {EDGE_FAULT_STRING_UV, EDGE_SIG_CELL_AVG_V, B, TRIP, EDGE_ACTION_BRIDGE_OFF, S,    \
         avg_uv, avg_uv_clr, 10u},                                                         \
        {EDGE_FAULT_CELL_OV, EDGE_SIG_CELL_MAX_V, A, TRIP, EDGE_ACTION_BRIDGE_OFF, S,      \
         cell_ov, cell_ov_clr, 5u},                                                        \
        {EDGE_FAULT_CELL_UV, EDGE_SIG_CELL_MIN_V, B, TRIP, EDGE_ACTION_BRIDGE_OFF, S,      \
         cell_uv, cell_uv_clr, 5u},                                                        \
        {EDGE_FAULT_OC_I2T, EDGE_SIG_I2T_A2S, A, TRIP, EDGE_ACTION_BRIDGE_OFF, S, 60.0f,   \
         1.0f, 1u},                                                                        \
        {EDGE_FAULT_OVER_TEMP, EDGE_SIG_TEMP_DEGC, A, TRIP, EDGE_ACTION_BRIDGE_OFF, S,     \
         60.0f, 50.0f, 100u},                                                              \
        {EDGE_FAULT_SENSOR_RANGE, EDGE_SIG_OUT_OF_RANGE, A, TRIP, EDGE_ACTION_BRIDGE_OFF,  \
         S, 0.5f, 0.5f, 3u},                                                               \
        {EDGE_FAULT_SENSOR_STUCK, EDGE_SIG_STUCK_S, A, WARN, EDGE_ACTION_NONE, S, 2.0f,    \
         0.5f, 1u},                                                                        \
        {EDGE_FAULT_WATCHDOG, EDGE_SIG_REFRESH_AGE_S, A, TRIP, EDGE_ACTION_RAMP_ZERO, S,   \
         5.0f, 1.0f, 1u},                                                                  \
        {EDGE_FAULT_RUNAWAY_DTDT, EDGE_SIG_TEMP_RATE_DEGC_PER_S, A, FATAL,                 \
         EDGE_ACTION_ISOLATE, S, 1.0f, 0.2f, 300u},                                        \
        {EDGE_FAULT_RUNAWAY_VCELL, EDGE_SIG_CELL_COLLAPSE_V, A, FATAL, EDGE_ACTION_ISOLATE,\
         S, collapse, collapse_clr, 10u},                                                  \
    }

static const edge_prot_row_t ROWS_LIFEPO4[EDGE_FAULT_COUNT] =
    EDGE_PROT_ROWS(3.70f, 3.50f, 2.60f, 2.90f, 3.75f, 3.55f, 2.50f, 2.80f, 0.50f, 0.20f);
static const edge_prot_row_t ROWS_LEAD_ACID[EDGE_FAULT_COUNT] =
    EDGE_PROT_ROWS(2.55f, 2.40f, 1.75f, 1.90f, 2.60f, 2.45f, 1.70f, 1.85f, 0.35f, 0.15f);
static const edge_prot_row_t ROWS_ZINC[EDGE_FAULT_COUNT] =
    EDGE_PROT_ROWS(1.98f, 1.85f, 1.25f, 1.40f, 2.00f, 1.90f, 1.20f, 1.35f, 0.30f, 0.12f);

const edge_prot_row_t *edge_prot_table(uint8_t chem_id, uint16_t *n_rows)
{
    const edge_prot_row_t *rows = (const edge_prot_row_t *)0;
    switch (chem_id) {
    case EDGE_CHEM_LIFEPO4:
        rows = ROWS_LIFEPO4;
        break;
    case EDGE_CHEM_LEAD_ACID:
        rows = ROWS_LEAD_ACID;
        break;
    case EDGE_CHEM_ZINC:
        rows = ROWS_ZINC;
        break;
    default:
        break;
    }
    if (n_rows != (uint16_t *)0) {
        *n_rows = rows != (const edge_prot_row_t *)0 ? (uint16_t)EDGE_FAULT_COUNT : 0u;
    }
    return rows;
}
