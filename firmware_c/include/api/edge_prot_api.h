/* Protection as const tables: one row per fault, evaluated every control step (fast
 * rows) or every slow step (slow rows). Fast rows run before the PWM update, so a
 * fault sample turns the bridge off in the same step. Trips latch until an explicit
 * clear after a minimum lock-out; fatal faults isolate the string and need a re-init. */

enum {
    EDGE_FAULT_STRING_OV = 0,
    EDGE_FAULT_STRING_UV,
    EDGE_FAULT_CELL_OV,
    EDGE_FAULT_CELL_UV,
    EDGE_FAULT_OC_INST,       /* instantaneous over-current */
    EDGE_FAULT_OC_I2T,        /* time-integrated over-current */
    EDGE_FAULT_OVER_TEMP,
    EDGE_FAULT_BUS_OV,
    EDGE_FAULT_BUS_UV,
    EDGE_FAULT_SENSOR_NAN,    /* a control measurement is NaN or infinite (fast) */
    EDGE_FAULT_SENSOR_RANGE,  /* a measurement is physically impossible or NaN (slow) */
    EDGE_FAULT_SENSOR_STUCK,  /* string voltage frozen while current flows */
    EDGE_FAULT_WATCHDOG,      /* no setpoint refresh from the supervisor */
    EDGE_FAULT_RUNAWAY_DTDT,  /* thermal runaway: fast temperature rise */
    EDGE_FAULT_RUNAWAY_VCELL, /* thermal runaway: one cell collapsing against the others */
    EDGE_FAULT_COUNT
};

enum {                        /* which derived signal a row watches */
    EDGE_SIG_CELL_AVG_V = 0,  /* string voltage / n_cells */
    EDGE_SIG_CELL_MAX_V,
    EDGE_SIG_CELL_MIN_V,
    EDGE_SIG_ABS_CURRENT_A,
    EDGE_SIG_I2T_A2S,         /* integral of (I^2 - I_cont^2) dt, floored at 0 */
    EDGE_SIG_TEMP_DEGC,
    EDGE_SIG_BUS_V,
    EDGE_SIG_NONFINITE,       /* 1 when a measurement the control loop uses (string voltage,
                                 current, bus voltage) is NaN or infinite */
    EDGE_SIG_OUT_OF_RANGE,    /* 1 when any measurement is outside its physical range
                                 (NaN counts as outside: temperature and cells, slowly) */
    EDGE_SIG_STUCK_S,         /* seconds the string voltage has not changed while |I| > 0.5 A */
    EDGE_SIG_REFRESH_AGE_S,   /* seconds since the last setpoint refresh */
    EDGE_SIG_TEMP_RATE_DEGC_PER_S,
    EDGE_SIG_CELL_COLLAPSE_V  /* average cell voltage minus the lowest */
};

enum { EDGE_CMP_ABOVE = 0, EDGE_CMP_BELOW = 1 };
enum { EDGE_LEVEL_WARNING = 0, EDGE_LEVEL_TRIP = 1, EDGE_LEVEL_FATAL = 2 };
enum {
    EDGE_ACTION_NONE = 0,       /* flag only */
    EDGE_ACTION_RAMP_ZERO = 1,  /* ramp the current reference to zero */
    EDGE_ACTION_BRIDGE_OFF = 2, /* psi = 0 in this step */
    EDGE_ACTION_ISOLATE = 3     /* bridge off and open the string contactor */
};
enum { EDGE_RATE_FAST = 0, EDGE_RATE_SLOW = 1 };

typedef struct {
    uint8_t fault;            /* EDGE_FAULT_* (also the row's bit in the fault word) */
    uint8_t signal;           /* EDGE_SIG_* */
    uint8_t compare;          /* EDGE_CMP_* */
    uint8_t level;            /* EDGE_LEVEL_* */
    uint8_t action;           /* EDGE_ACTION_* */
    uint8_t rate;             /* EDGE_RATE_* */
    float threshold;          /* the fault is present beyond this */
    float clear_threshold;    /* and gone again only beyond this (hysteresis) */
    uint16_t debounce_count;  /* consecutive fault samples at the row's rate before it trips */
} edge_prot_row_t;

/* The table for a chemistry (cell thresholds differ); NULL for an unknown id. */
const edge_prot_row_t *edge_prot_table(uint8_t chem_id, uint16_t *n_rows);

typedef struct {
    float i_cont_A;           /* continuous current allowed by the I^2t row */
    float v_string_max_V;     /* physical plausibility limits of the measurements */
    float i_abs_max_A;
    float temp_min_degC;
    float temp_max_degC;
    uint32_t lockout_slow_steps; /* minimum time between a trip and its clear */
    uint8_t watchdog_enabled;    /* 0: the refresh age stays 0 (bench runs without a supervisor) */
} edge_prot_params_t;

typedef struct {
    uint16_t count[16];       /* consecutive fault samples per row */
    uint32_t active;          /* bit per fault: present now (warnings too) */
    uint32_t pending;         /* bit per fault: counting towards a trip (count > 0) */
    uint32_t latched;         /* bit per fault: tripped and latched */
    uint32_t trips[16];       /* how often each row has tripped */
    uint8_t action;           /* strongest action of the latched and active rows */
    uint8_t fatal;            /* 1 once a fatal row tripped */
    uint32_t slow_steps;      /* slow steps since init */
    uint32_t tripped_at;      /* slow step of the latest trip */
    /* the quiet band of the fast rows, derived from the table on the first fast call:
     * a sample inside it, with no fast row counting or active, changes nothing */
    uint8_t band_ready;
    uint8_t band_generic;     /* a fast row watches a signal the band does not cover */
    float band_abs_i_max_A;
    float band_bus_min_V;
    float band_bus_max_V;
    uint32_t fast_mask;
    /* derived signals */
    float i2t_A2s;
    float stuck_s;
    float last_v_string_V;
    float refresh_age_s;
    float temp_prev_degC;        /* temperature at the start of the rate window */
    float temp_rate_degC_per_s;  /* over the last 0.1 s window */
    float temp_window_s;
} edge_prot_state_t;

void edge_prot_init(edge_prot_state_t *s);
/* Evaluate the rows of `rate`. dt_s is that rate's period. Returns the strongest
 * EDGE_ACTION_* now in force. */
uint8_t edge_prot_eval(const edge_prot_row_t *rows, uint16_t n_rows,
                       const edge_prot_params_t *p, edge_prot_state_t *s,
                       const edge_meas_t *m, uint16_t n_cells, uint8_t rate, float dt_s);
/* Explicit clear of latched trips: refused (returns 0) before the lock-out has passed,
 * while a fatal fault is latched, or while a row's signal is not back past its clear
 * threshold. Returns 1 when everything cleared. */
int edge_prot_clear(const edge_prot_row_t *rows, uint16_t n_rows,
                    const edge_prot_params_t *p, edge_prot_state_t *s,
                    const edge_meas_t *m, uint16_t n_cells);
/* The supervisor refreshed its setpoints (feeds the watchdog row). */
void edge_prot_refresh(edge_prot_state_t *s);
/* A row's present signal value (for clear checks, telemetry and tests). */
float edge_prot_signal(const edge_prot_params_t *p, const edge_prot_state_t *s,
                       const edge_meas_t *m, uint16_t n_cells, uint8_t signal);
