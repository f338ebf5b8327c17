/* Chemistry data and the averaged plant: battery strings (equivalent circuit per
 * chemistry) and the DC bus they share through their DABs. The plant is built for the
 * host and the QEMU board only; a real board measures instead. */

enum {
    EDGE_CHEM_LIFEPO4 = 0,
    EDGE_CHEM_LEAD_ACID = 1,
    EDGE_CHEM_ZINC = 2,       /* Zn-based (Ni-Zn) */
    EDGE_CHEM_COUNT = 3
};

/* Per-cell facts of a chemistry (const tables in chem.c, with their sources). */
typedef struct {
    uint8_t id;               /* EDGE_CHEM_* */
    float ocv_V[11];          /* open-circuit voltage at SOC 0, 0.1, ..., 1.0 */
    float r0_ohm;             /* series resistance of one 25 Ah cell at 25 degC */
    float r1_ohm;             /* RC pair of one cell */
    float c1_F;
    float v_nominal_V;
    float v_charge_max_V;     /* charge-end voltage of the default protocol */
    float v_discharge_min_V;  /* discharge cut-off */
} edge_chem_t;

const edge_chem_t *edge_chem(uint8_t chem_id);  /* NULL for an unknown id */
/* OCV of one cell at soc (clamped to 0..1), linear between table points. */
float edge_chem_ocv_V(const edge_chem_t *c, float soc);

typedef struct {
    const edge_chem_t *chem;
    uint16_t n_cells;         /* cells in series, 1..16 */
    float capacity_As;        /* string capacity, ampere-seconds */
    float r0_ohm;             /* string totals of the equivalent circuit */
    float r1_ohm;
    float c1_F;
    float soc_offset[16];     /* per-cell SOC offset: the imbalance between cells */
    float c_th_J_per_K;       /* thermal capacity of the string */
    float r_th_K_per_W;       /* thermal resistance to ambient */
    float t_amb_degC;
} edge_string_params_t;

typedef struct {
    float soc;                /* string SOC, 0..1 (the cells add soc_offset) */
    float charge_acc_As;      /* charge not yet moved into soc (float32 resolution) */
    float v_rc_V;             /* voltage across the RC pair */
    float ocv_V;              /* string open-circuit voltage (sum of the cells, minus a short's sag) */
    float i_A;                /* string current, + = charging */
    float v_V;                /* terminal voltage */
    float temp_degC;
    float heat_acc_J;         /* net heat not yet moved into temp_degC (float32 resolution) */
    float heat_W;             /* extra heat injected (fault injection: runaway) */
    float cell_V[16];
    float cell_min_V;
    float cell_max_V;
    float cell_short_ohm;     /* > 0: an internal short across cell 0 (fault injection) */
} edge_string_state_t;

/* Fill params from chemistry defaults for n_cells cells of capacity_Ah. */
void edge_string_defaults(edge_string_params_t *p, uint8_t chem_id, uint16_t n_cells,
                          float capacity_Ah);
void edge_string_init(const edge_string_params_t *p, edge_string_state_t *s, float soc,
                      float temp_degC);
/* Terminal voltage and current when power_W flows in (v = ocv + v_rc + i*R0, i = P/v). */
void edge_string_fast(const edge_string_params_t *p, edge_string_state_t *s, float power_W);
/* Slow part over dt_s: SOC, RC pair, temperature and the cell voltages. */
void edge_string_slow(const edge_string_params_t *p, edge_string_state_t *s, float dt_s);

typedef struct {
    float c_bus_F;            /* bus capacitance */
    float v_src_V;            /* front end (inverter DC link / RPS) voltage */
    float r_src_ohm;          /* its source resistance; 0 = no front end connected */
} edge_bus_params_t;

typedef struct {
    float v_bus_V;
    float g_load_S;           /* resistive load on the bus (conductance) */
} edge_bus_state_t;

/* Advance the bus by dt_s with p_strings_W drawn by the DABs (+ = into the strings). */
void edge_bus_step(const edge_bus_params_t *p, edge_bus_state_t *s, float p_strings_W,
                   float dt_s);
