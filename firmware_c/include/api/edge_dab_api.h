/* Dual Active Bridge: single-phase-shift power model (paper eq. 1 and 2) and the
 * converter's control loops. Sign: power and current are positive from the DC bus into
 * the battery string (charging); a negative phase shift psi discharges the string. */

typedef struct {
    float n_ratio;      /* transformer turns ratio n */
    float l_leak_H;     /* leakage inductance */
    float f_sw_Hz;      /* switching frequency */
    float psi_max_rad;  /* phase-shift limit, at most pi/2 (the power maximum) */
} edge_dab_params_t;

/* Eq. (1): P = n*Vs*Vb*psi*(pi-|psi|) / (2*pi^2*fsw*L); sign follows psi. */
float edge_dab_power_W(const edge_dab_params_t *p, float v_string_V, float v_bus_V,
                       float psi_rad);
/* Eq. (2), the feed-forward: the psi that carries power_W; saturates at psi_max_rad. */
float edge_dab_psi_ff_rad(const edge_dab_params_t *p, float v_string_V, float v_bus_V,
                          float power_W);

/* Control modes. */
enum {
    EDGE_MODE_OFF = 0,        /* bridge idle, psi = 0 */
    EDGE_MODE_CURRENT = 1,    /* regulate string current to i_ref_A */
    EDGE_MODE_V_STRING = 2,   /* regulate string voltage to v_ref_V (CV charging) */
    EDGE_MODE_V_BUS = 3       /* regulate the DC bus to v_ref_V, string as the source */
};

typedef struct {
    edge_pi_params_t pi_i;    /* inner loop: error A -> psi rad, on top of the feed-forward */
    edge_pi_params_t pi_v;    /* outer loop: error V -> current command A */
    float i_slew_A_per_s;     /* current reference slew limit (soft start) */
    float v_slew_V_per_s;     /* voltage reference slew limit */
    float i_limit_A;          /* |current command| limit in every mode */
    float dt_inner_s;         /* inner step: one switching period */
    uint16_t outer_every;     /* outer loop runs every N inner steps (10 -> 10 kHz) */
} edge_ctrl_params_t;

typedef struct {
    uint8_t mode;             /* EDGE_MODE_* */
    float i_ref_A;            /* target current (CURRENT mode; cap in voltage modes) */
    float v_ref_V;            /* target voltage (voltage modes) */
    float i_ramp_A;           /* slew-limited current reference */
    float v_ramp_V;           /* slew-limited voltage reference */
    float i_cmd_A;            /* current command handed to the inner loop */
    float psi_rad;            /* inner-loop output of the last step */
    float ff_gain_per_A;      /* 8 fsw L / n, so eq. 2's argument is 1 - gain |I| / Vbus;
                                 set by edge_ctrl_set from the converter data */
    edge_pi_state_t pi_i;
    edge_pi_state_t pi_v;
    uint16_t outer_count;
} edge_ctrl_state_t;

/* Measurements the controller acts on (one sample per inner step). */
typedef struct {
    float v_string_V;
    float i_string_A;         /* + = into the string */
    float v_bus_V;
    float temp_degC;          /* string temperature */
    float cell_min_V;
    float cell_max_V;
} edge_meas_t;

void edge_ctrl_init(edge_ctrl_state_t *s);
/* Change mode and references. Switching between current and voltage modes is bumpless:
 * the new loop starts from the present current command. Entering any mode from OFF
 * soft-starts from zero current (psi from 0). */
void edge_ctrl_set(const edge_dab_params_t *d, const edge_ctrl_params_t *c,
                   edge_ctrl_state_t *s, uint8_t mode, float i_ref_A, float v_ref_V,
                   const edge_meas_t *m);
/* One inner step: slew the references, run the outer loop when due, then the inner
 * loop. Returns psi in rad (0 in OFF mode). */
float edge_ctrl_step(const edge_dab_params_t *d, const edge_ctrl_params_t *c,
                     edge_ctrl_state_t *s, const edge_meas_t *m);
