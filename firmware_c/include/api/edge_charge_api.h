/* Charge protocols as table-driven state machines (paper Table I): each protocol is a
 * list of steps; transitions watch the highest (or lowest) cell voltage, the current and
 * timers in seconds. The tick runs at the board's slow rate. */

enum {
    EDGE_STEP_CC = 1,     /* constant current (+ charge, - discharge) */
    EDGE_STEP_CV = 2,     /* constant string voltage, current capped */
    EDGE_STEP_REST = 3,   /* no current for duration_s */
    EDGE_STEP_FLOAT = 4   /* constant voltage with no end */
};

typedef struct {
    uint8_t kind;            /* EDGE_STEP_* */
    float current_C;         /* CC: current in C-rate; CV/FLOAT: the current cap in C */
    float v_cell_V;          /* CV/FLOAT: target per cell (string target = n_cells x this) */
    float end_cell_max_V;    /* ends when the highest cell reaches this (0: unused) */
    float end_cell_min_V;    /* ends when the lowest cell falls to this (0: unused) */
    float end_current_C;     /* CV: ends when |I| falls below this C-rate (0: unused) */
    float duration_s;        /* REST: its length; CC/CV: a time limit (0: none) */
} edge_charge_step_t;

typedef struct {
    uint16_t step;           /* index of the running step */
    uint8_t done;            /* 1 after the last step */
    float t_step_s;          /* time in the running step */
    uint8_t mode;            /* EDGE_MODE_* the step asks for */
    float i_ref_A;
    float v_ref_V;
} edge_charge_state_t;

/* The default protocol of a chemistry (Table I shape, Table II limits). */
const edge_charge_step_t *edge_charge_protocol(uint8_t chem_id, uint16_t *n_steps);
void edge_charge_start(edge_charge_state_t *s);
/* Advance by dt_s. Returns 1 when the step (and so the mode or references) changed. */
int edge_charge_tick(const edge_charge_step_t *steps, uint16_t n_steps,
                     edge_charge_state_t *s, const edge_meas_t *m, uint16_t n_cells,
                     float capacity_Ah, float dt_s);
