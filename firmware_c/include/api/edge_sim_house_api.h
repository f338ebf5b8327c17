/* The simulated house's plant (edge/sim/house.py and its models), one step in C.
 *
 * For the simulator on the host only: never built for a board. The Python models stay the
 * reference; this is the same arithmetic, operation for operation and in the same order
 * (C99, no FP contraction), so a run gives the same numbers to the last bit. edge/sim/
 * house_c.py copies a House into this struct, steps it, and copies it back.
 * Units in names; powers in W, battery + = discharge (AC side), grid + = import; pack
 * current + = charging. Every array bound is checked: a step that would overflow one
 * returns an error and changes nothing that it cannot undo (see edge_sim_house_step). */

enum {
    EDGE_SIM_CELLS = 15,           /* cells in series in a module */
    EDGE_SIM_MODULES_MAX = 8,
    EDGE_SIM_PENDING_MAX = 256,    /* inverter CT samples waiting out the dead time */
    EDGE_SIM_STARTS_MAX = 64,      /* heat pump starts within the last hour */
    EDGE_SIM_DRAWS_MAX = 16,       /* hot-water draws a day */
    EDGE_SIM_DAY_S = 86400
};

enum { EDGE_SIM_DIV_EXTERNAL = 0, EDGE_SIM_DIV_EDDI = 1, EDGE_SIM_DIV_MK2 = 2 };
enum { EDGE_SIM_SG_LOCK = 1, EDGE_SIM_SG_NORMAL = 2, EDGE_SIM_SG_RECOMMEND = 3, EDGE_SIM_SG_FORCE = 4 };

/* edge_sim_house_step's results */
enum {
    EDGE_SIM_OK = 0,
    EDGE_SIM_NEED_DAY = 1,         /* the step's day has no traces: set pv/load for need_day */
    EDGE_SIM_PENDING_FULL = 2,     /* more than EDGE_SIM_PENDING_MAX samples waiting */
    EDGE_SIM_STARTS_FULL = 3
};

typedef struct {
    /* pack parameters (PackParams) */
    int modules;
    double cell_r_ohm, rated_current_a, charge_voltage_limit_v, cutoff_soc_pct;
    double taper_high_pct, taper_low_pct, c_th_j_per_k, r_th_k_per_w, ambient_degc, module_ah;
    double requantum_as;
    double cap_as[8][15];
    double soc0[8][15];
    /* pack state: the doubles in one run, in house_c.py's order */
    double charge_as, current_a, temp_degc, throughput_as, cache_q;
    double soc_pct, max_cell_pct, min_cell_pct, ocv_module_v, cell_charge_a, cell_discharge_a;
    long cycles;
    int cache_valid;               /* 0: _cache_q is None */
    double cell_socs[8][15];
    unsigned long refreshes;       /* counts cache refreshes: the cells changed */
} edge_sim_pack_t;

typedef struct {
    double ac_limit_w, efficiency, meter_period_s, dead_time_s, ramp_w_per_s, deadband_w;
    double flip_check_s, heartbeat_timeout_s, eps_reserve_soc_pct;
    int timeout_standby;
    int passive;                   /* mode: 1 passive (0x42 commands), 0 its own self-use */
    /* the doubles of its state in one run, in house_c.py's order */
    double passive_w, last_heartbeat_s, output_w, target_w, in_check_until_s, t_s;
    double next_sample_s;
    long flips;
    double pending_at_s[256], pending_w[256];  /* a ring: head, count */
    int pending_head, pending_count;
    unsigned long pending_changes;  /* counts pushes, pops and clears */
} edge_sim_inverter_t;

typedef struct {
    double volume_l, element_w, thermostat_degc, thermostat_hysteresis_k, cold_water_degc;
    double ambient_degc, loss_w_per_k, c_j_per_k;
    int n_draws;
    double draw_start_h[16], draw_litres[16], draw_minutes[16];
    int n_edges;
    double edges_s[32];
    double temp_degc, heater_w, quiet_from_s, quiet_to_s;  /* one run, as house_c.py reads it */
    int thermostat_closed;
    long comfort_misses;
} edge_sim_tank_t;

typedef struct {
    double heat_w, min_on_s, min_off_s;
    long max_starts_per_h;
    double max_lock_s, setpoint_degc, hysteresis_k, recommend_boost_k, force_limit_k;
    double house_c_j_per_k, house_ua_w_per_k, internal_gain_w;
    double t_out_mean_degc, t_out_season_k, t_out_daily_k;
    long day_of_year;
    int sg;                        /* EDGE_SIM_SG_* */
    int running;
    double t_in_degc, power_w, changed_s;  /* one run, as house_c.py reads it */
    long starts;
    int lock_valid;                /* 0: _lock_since_s is None */
    double lock_since_s;
    double starts_s[64];           /* a ring: head, count */
    int starts_head, starts_count;
    unsigned long starts_changes;
} edge_sim_heatpump_t;

typedef struct {
    int kind;                      /* EDGE_SIM_DIV_* */
    double setpoint_w;             /* external */
    /* eddi */
    double export_threshold_w, export_margin_w, response_delay_s, element_w;
    int avoid_drain, diverting;
    double export_for_s;
    /* Mk2 bucket */
    double capacity_j, start_j, stop_j, start_delay_s, bucket_j, over_for_s;
    int on;
} edge_sim_diverter_t;

/* energy_wh, in house.py's ENERGY_KEYS order */
enum {
    EDGE_SIM_E_IMPORT = 0, EDGE_SIM_E_EXPORT, EDGE_SIM_E_PV, EDGE_SIM_E_LOAD,
    EDGE_SIM_E_BATTERY_CHARGE, EDGE_SIM_E_BATTERY_DISCHARGE, EDGE_SIM_E_DAB, EDGE_SIM_E_HEATER,
    EDGE_SIM_E_HEAT_PUMP, EDGE_SIM_E_BATTERY_CHARGE_DC, EDGE_SIM_E_BATTERY_DISCHARGE_DC,
    EDGE_SIM_E_BATTERY_TO_HEATER, EDGE_SIM_E_COUNT
};

/* A trace of the steps (host_tools/bench/control records one): after each step of
 * dt_s > 0 that returns EDGE_SIM_OK (a step of dt_s <= 0 changes nothing and writes
 * no row), edge_sim_house_step writes row k of these caller-owned columns
 * (size rows each) and counts it in k; once k reaches size it writes nothing until the
 * caller sets k back. Each value is the house's field after the step (check: the
 * inverter's in_check, 1 or 0), the same doubles house_c.py's store() would give. */
typedef struct {
    double *t_s, *pv_w, *load_w, *heater_w, *heat_pump_w, *battery_w, *grid_w, *soc_pct;
    double *tank_degc, *house_degc;
    unsigned char *check;
    long size, k;
} edge_sim_record_t;

typedef struct {
    /* HouseState, energy_wh and the BMS limits: one run of doubles, as house_c.py reads it */
    double t_s, soc_pct, pv_w, load_w, dab_w, heater_w, heat_pump_w, battery_w, grid_w;
    double energy_wh[12];
    double bms_charge_w, bms_discharge_w;  /* House.bms_limits_ac_w */
    /* the day whose traces pv_w_day / load_w_day hold (86400 values each, caller-owned) */
    double trace_day;
    int trace_valid;
    const double *pv_w_day;
    const double *load_w_day;
    double need_day;               /* set with EDGE_SIM_NEED_DAY */
    const edge_chem_t *chem;       /* the cells' OCV table */
    edge_sim_pack_t pack;
    edge_sim_inverter_t inverter;
    edge_sim_tank_t tank;
    edge_sim_heatpump_t heat_pump;
    edge_sim_diverter_t diverter;
    edge_sim_record_t *record;     /* NULL: no trace */
} edge_sim_house_t;

/* House.step(dt_s): EDGE_SIM_OK, or EDGE_SIM_NEED_DAY with nothing changed, or an
 * overflow code (the house is then part-stepped and must not be used further). */
int edge_sim_house_step(edge_sim_house_t *h, double dt_s);
/* House.command_passive / command_auto / heartbeat / set_sg_ready */
void edge_sim_house_command_passive(edge_sim_house_t *h, double battery_w);
void edge_sim_house_command_auto(edge_sim_house_t *h);
void edge_sim_house_heartbeat(edge_sim_house_t *h);
void edge_sim_house_set_sg(edge_sim_house_t *h, int sg);
/* The state a step changes, as EDGE_SIM_EXPORT_N doubles in one array (one copy out for
 * edge/sim/house_c.py instead of a read per field), in this order:
 *   0..22  t_s, soc_pct, pv_w, load_w, dab_w, heater_w, heat_pump_w, battery_w, grid_w,
 *          energy_wh[12], bms_charge_w, bms_discharge_w
 *  23..33  the pack's run (charge_as .. cell_discharge_a)
 *  34..40  the inverter's run (passive_w .. next_sample_s)
 *  41..44  the tank's run (temp_degc .. quiet_to_s)
 *  45..47  the heat pump's run (t_in_degc, power_w, changed_s)
 *  48..50  inverter: passive, flips, pending_changes
 *  51..53  pack: cycles, cache_valid, refreshes
 *  54..55  tank: thermostat_closed, comfort_misses
 *  56..61  heat pump: sg, running, starts, lock_valid, lock_since_s, starts_changes
 *  62..64  diverter: setpoint_w | export_for_s | bucket_j; diverting | on; over_for_s
 * Integers and flags are exact as doubles (counts below 2^53). */
enum { EDGE_SIM_EXPORT_N = 65 };
void edge_sim_house_export(const edge_sim_house_t *h, double *out);
/* The inverter's in_check property at the latest step */
int edge_sim_inverter_in_check(const edge_sim_inverter_t *inv);
