/* A DAB board: controller + protection + charge protocol for one string, and the host
 * simulation of up to two boards on one DC bus (the paper's platform, Fig. 2). */

enum {
    EDGE_CMD_OFF = 0,
    EDGE_CMD_CURRENT = 1,    /* hold i_ref_A */
    EDGE_CMD_V_STRING = 2,   /* hold the string at v_ref_V, current capped at i_ref_A */
    EDGE_CMD_V_BUS = 3,      /* hold the bus at v_ref_V from the string */
    EDGE_CMD_PROTOCOL = 4    /* run the charge protocol */
};

typedef struct {
    edge_dab_params_t dab;
    edge_ctrl_params_t ctrl;
    edge_prot_params_t prot;
    const edge_prot_row_t *prot_rows;
    uint16_t n_prot_rows;
    const edge_charge_step_t *protocol;
    uint16_t n_protocol_steps;
    uint16_t n_cells;
    float capacity_Ah;
    uint16_t slow_every;     /* slow tick every N inner steps (100 -> 1 kHz) */
} edge_board_params_t;

typedef struct {
    edge_ctrl_state_t ctrl;
    edge_prot_state_t prot;
    edge_charge_state_t charge;
    uint8_t command;         /* EDGE_CMD_* */
    uint8_t contactor_closed;
    uint8_t bridge_off_now;  /* protection forced psi = 0 in the last step */
    uint16_t slow_count;
    uint32_t steps;
} edge_board_state_t;

/* Defaults: the paper's converter (75 W, 12-15 V string, 24 V bus, 100 kHz). */
void edge_board_defaults(edge_board_params_t *p, uint8_t chem_id, uint16_t n_cells,
                         float capacity_Ah);
void edge_board_init(const edge_board_params_t *p, edge_board_state_t *s);
void edge_board_command(const edge_board_params_t *p, edge_board_state_t *s, uint8_t cmd,
                        float i_ref_A, float v_ref_V, const edge_meas_t *m);
int edge_board_clear(const edge_board_params_t *p, edge_board_state_t *s,
                     const edge_meas_t *m);
/* The two rates of the firmware, as a board's two interrupts call them:
 * edge_board_inner every switching period (fast protection, then control; returns psi,
 * 0 at once when protection acts), edge_board_slow every slow_every periods (slow
 * protection, charge protocol). */
float edge_board_inner(const edge_board_params_t *p, edge_board_state_t *s,
                       const edge_meas_t *m);
void edge_board_slow(const edge_board_params_t *p, edge_board_state_t *s,
                     const edge_meas_t *m);
/* Both, for a single-rate caller: the slow part every slow_every calls, then the inner. */
float edge_board_step(const edge_board_params_t *p, edge_board_state_t *s,
                      const edge_meas_t *m);

typedef struct {
    edge_board_params_t board;
    edge_string_params_t string;
} edge_unit_params_t;

typedef struct {
    edge_board_state_t board;
    edge_string_state_t string;
    edge_meas_t meas;
    float psi_next_rad;      /* computed this step, applied next step (PWM shadow) */
    float psi_applied_rad;
    float power_W;           /* into the string */
} edge_unit_state_t;

typedef struct {
    edge_bus_params_t bus;
    uint16_t n_units;        /* 1 or 2 */
    edge_unit_params_t unit[2];
} edge_sim_params_t;

typedef struct {
    edge_bus_state_t bus;
    edge_unit_state_t unit[2];
    uint32_t steps;
} edge_sim_state_t;

void edge_sim_defaults(edge_sim_params_t *p);
void edge_sim_init(const edge_sim_params_t *p, edge_sim_state_t *s, float soc0, float soc1);
/* Run n_steps inner steps. When trace_* are not NULL they receive one value per step:
 * unit 0's string current and the bus voltage. */
void edge_sim_run(const edge_sim_params_t *p, edge_sim_state_t *s, uint32_t n_steps,
                  float *trace_i0_A, float *trace_v_bus_V);
