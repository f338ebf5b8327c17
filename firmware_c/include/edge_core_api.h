/*
 * edge_core_api.h: the public API of the portable C core, as plain declarations.
 *
 * This file is fed verbatim to cffi's cdef (edge._core), so it holds no preprocessor
 * lines: C code includes edge_core.h, which adds the guards and <stdint.h>.
 *
 * Units are in every name (_V, _A, _W, _s, _Hz, _H, _rad). Sign convention of the
 * DAB board: power and current are positive when they flow from the DC bus into the
 * battery string (charging); a negative phase shift psi discharges the string.
 * All state lives in caller-owned structs; the core has no globals and no I/O.
 */

/* ---- PI controller with clamping anti-windup ------------------------------------ */
typedef struct {
    float kp;        /* proportional gain, output units per error unit */
    float ki_per_s;  /* integral gain, output units per error unit per second */
    float out_min;   /* lower limit of the output (and of the integrator) */
    float out_max;   /* upper limit of the output (and of the integrator) */
} edge_pi_params_t;

typedef struct {
    float integ;     /* integrator contribution, output units */
} edge_pi_state_t;

void edge_pi_reset(edge_pi_state_t *s);
/* One step; feed_forward is added before the limits, so the integrator only carries
 * what the feed-forward misses. Returns the limited output. */
float edge_pi_step(const edge_pi_params_t *p, edge_pi_state_t *s, float error,
                   float feed_forward, float dt_s);

/* ---- Dual Active Bridge, single phase shift (paper eq. 1 and 2) ------------------- */
typedef struct {
    float n_ratio;      /* transformer turns ratio n */
    float l_leak_H;     /* leakage inductance */
    float f_sw_Hz;      /* switching frequency */
    float psi_max_rad;  /* phase-shift limit, at most pi/2 (the power maximum) */
} edge_dab_params_t;

/* Eq. (1): P = n*Vp*Vs*psi*(pi-|psi|) / (2*pi^2*fsw*L); sign follows psi. */
float edge_dab_power_W(const edge_dab_params_t *p, float v_string_V, float v_bus_V,
                       float psi_rad);
/* Eq. (2), the feed-forward: the psi that carries power_W; saturates at psi_max_rad. */
float edge_dab_psi_ff_rad(const edge_dab_params_t *p, float v_string_V, float v_bus_V,
                          float power_W);

/* ---- Protection: one row, trip above a threshold after a debounce count ---------- */
typedef struct {
    float trip_above;         /* the fault is present while |value| > trip_above */
    uint16_t debounce_count;  /* consecutive fault samples before the trip (>= 1) */
} edge_prot_row_t;

typedef struct {
    uint16_t count;   /* consecutive fault samples seen so far */
    uint8_t latched;  /* 1 once tripped; only edge_prot_clear resets it */
} edge_prot_state_t;

/* Returns 1 when the row is (or stays) tripped. A NaN sample counts as a fault. */
int edge_prot_check_abs_above(const edge_prot_row_t *row, edge_prot_state_t *s, float value);
void edge_prot_clear(edge_prot_state_t *s);

/* ---- DAB board: controller plus an averaged plant (host and QEMU builds only) ----- */
typedef struct {
    edge_dab_params_t dab;
    edge_pi_params_t pi;        /* current loop: error in A, output psi in rad */
    edge_prot_row_t over_current;
    float v_bus_V;              /* DC bus held by the front end */
    float ocv_empty_V;          /* string open-circuit voltage at SOC 0 */
    float ocv_full_V;           /* string open-circuit voltage at SOC 1 */
    float r0_ohm;               /* string series resistance */
    float capacity_As;          /* string capacity, ampere-seconds */
    float dt_s;                 /* control step */
} edge_board_params_t;

typedef struct {
    edge_pi_state_t pi;
    edge_prot_state_t over_current;
    float soc;                  /* state of charge, 0..1 */
    float charge_acc_As;        /* charge not yet moved into soc (float32 cannot add one
                                   10 kHz step's charge to soc directly) */
    float charge_current_A;     /* measured string current, + = charging */
    float v_string_V;           /* measured string terminal voltage */
    float psi_rad;              /* phase shift applied in the last step */
    uint32_t steps;             /* control steps run since init (wraps) */
} edge_board_state_t;

void edge_board_init(const edge_board_params_t *p, edge_board_state_t *s, float soc);
/* Runs n_steps control steps towards charge_current_ref_A. Each step: protection on
 * the latest sample, then control (psi forced to 0 when tripped), then the plant. */
void edge_board_run(const edge_board_params_t *p, edge_board_state_t *s,
                    float charge_current_ref_A, uint32_t n_steps);
void edge_board_clear_trip(edge_board_state_t *s);
