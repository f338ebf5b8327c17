/* The simulated house's plant in C: edge/sim/house.py's step, over the devices of
 * sim_devices.c, in the Python's order, so both give the same doubles (the build has no
 * FP contraction); and the copies in and out that edge/sim/house_c.py uses. Host only. */
#include "sim_devices.h"

static const double FED_EPS_W = 1e-6;  /* house.py */

/* Python's float // (CPython's float_floor_div) */
static double py_floordiv(double v, double w) {
    double mod = fmod(v, w);
    double div = (v - mod) / w;
    double floordiv;
    if (mod != 0.0 && (w < 0.0) != (mod < 0.0)) div -= 1.0;
    if (div != 0.0) {
        floordiv = floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
        floordiv = copysign(0.0, v / w);
    }
    return floordiv;
}

/* row r->k of the trace: the fields run_chunks records, after the step */
static void record_row(const edge_sim_house_t *h, edge_sim_record_t *r) {
    long k = r->k;
    if (k < 0 || k >= r->size) return;
    r->t_s[k] = h->t_s;
    r->pv_w[k] = h->pv_w;
    r->load_w[k] = h->load_w;
    r->heater_w[k] = h->heater_w;
    r->heat_pump_w[k] = h->heat_pump_w;
    r->battery_w[k] = h->battery_w;
    r->grid_w[k] = h->grid_w;
    r->soc_pct[k] = h->soc_pct;
    r->tank_degc[k] = h->tank.temp_degc;
    r->house_degc[k] = h->heat_pump.t_in_degc;
    r->check[k] = (unsigned char)edge_sim_inverter_in_check(&h->inverter);
    r->k = k + 1;
}

/* ---- the house (house.py) ----------------------------------------------------------- */

int edge_sim_house_step(edge_sim_house_t *h, double dt_s) {
    if (dt_s <= 0.0) return EDGE_SIM_OK;
    double t = h->t_s;
    double day = py_floordiv(t, 86400.0);
    if (!h->trace_valid || day != h->trace_day) {
        h->need_day = day;
        return EDGE_SIM_NEED_DAY;
    }
    /* int(t - day * 86400.0) % 86400: truncation, then Python's non-negative modulo */
    long k = (long)(t - day * 86400.0) % EDGE_SIM_DAY_S;
    if (k < 0) k += EDGE_SIM_DAY_S;
    double pv_w = h->pv_w_day[k], load_w = h->load_w_day[k];
    h->pv_w = pv_w;
    h->load_w = load_w;
    double grid_w = load_w + h->dab_w + h->heater_w + h->heat_pump_w - pv_w - h->battery_w;
    double offer_w =
        edge_sim_diverter_offer_w(&h->diverter, grid_w, h->heater_w, dt_s, h->battery_w);
    double heater_w = edge_sim_tank_accept(&h->tank, offer_w);
    h->heater_w = heater_w;
    double heat_pump_w;
    int rc = edge_sim_heatpump_step(&h->heat_pump, t, dt_s, &heat_pump_w);
    if (rc != EDGE_SIM_OK) return rc;
    h->heat_pump_w = heat_pump_w;
    edge_sim_pack_t *pack = &h->pack;
    double eta = h->inverter.efficiency;
    double charge_a, discharge_a;
    edge_sim_pack_limits_a(pack, h->chem, &charge_a, &discharge_a);
    double v = edge_sim_pack_voltage_v(pack, h->chem);
    double charge_w = charge_a * v / eta, discharge_w = discharge_a * v * eta;
    h->bms_charge_w = charge_w;
    h->bms_discharge_w = discharge_w;
    grid_w = load_w + h->dab_w + heater_w + heat_pump_w - pv_w - h->battery_w;
    double battery_w;
    rc = edge_sim_inverter_step(&h->inverter, t, dt_s, grid_w, h->soc_pct, charge_w, discharge_w,
                       &battery_w);
    if (rc != EDGE_SIM_OK) return rc;
    h->battery_w = battery_w;
    grid_w = load_w + h->dab_w + heater_w + heat_pump_w - pv_w - battery_w;
    h->grid_w = grid_w;
    double hr = dt_s / 3600.0;
    double *e = h->energy_wh;
    e[EDGE_SIM_E_IMPORT] += py_max(grid_w, 0.0) * hr;
    e[EDGE_SIM_E_EXPORT] += py_max(-grid_w, 0.0) * hr;
    e[EDGE_SIM_E_PV] += pv_w * hr;
    e[EDGE_SIM_E_LOAD] += load_w * hr;
    e[EDGE_SIM_E_DAB] += h->dab_w * hr;
    e[EDGE_SIM_E_HEATER] += heater_w * hr;
    e[EDGE_SIM_E_HEAT_PUMP] += heat_pump_w * hr;
    double covered_w = load_w + heater_w + heat_pump_w - FED_EPS_W;
    if (battery_w > 0.0 && heater_w > 0.0 && pv_w < covered_w)
        e[EDGE_SIM_E_BATTERY_TO_HEATER] += py_min(battery_w, heater_w) * hr;
    double dc_w;
    if (battery_w >= 0.0) {
        e[EDGE_SIM_E_BATTERY_DISCHARGE] += battery_w * hr;
        dc_w = -battery_w / eta;
        e[EDGE_SIM_E_BATTERY_DISCHARGE_DC] += -dc_w * hr;
    } else {
        e[EDGE_SIM_E_BATTERY_CHARGE] += -battery_w * hr;
        dc_w = -battery_w * eta;
        e[EDGE_SIM_E_BATTERY_CHARGE_DC] += dc_w * hr;
    }
    edge_sim_pack_step(pack, h->chem, dc_w, dt_s);
    edge_sim_pack_refresh(pack, h->chem);
    h->soc_pct = pack->soc_pct;
    edge_sim_tank_step(&h->tank, t, dt_s);
    h->t_s = t + dt_s;
    if (h->record) record_row(h, h->record);
    return EDGE_SIM_OK;
}

void edge_sim_house_export(const edge_sim_house_t *h, double *out) {
    const edge_sim_pack_t *p = &h->pack;
    const edge_sim_inverter_t *v = &h->inverter;
    const edge_sim_tank_t *k = &h->tank;
    const edge_sim_heatpump_t *q = &h->heat_pump;
    const edge_sim_diverter_t *d = &h->diverter;
    const double house[] = {h->t_s, h->soc_pct, h->pv_w, h->load_w, h->dab_w, h->heater_w,
                            h->heat_pump_w, h->battery_w, h->grid_w};
    int n = 0;
    for (int i = 0; i < 9; i++) out[n++] = house[i];
    for (int i = 0; i < EDGE_SIM_E_COUNT; i++) out[n++] = h->energy_wh[i];
    out[n++] = h->bms_charge_w;
    out[n++] = h->bms_discharge_w;
    const double pack[] = {p->charge_as,    p->current_a,    p->temp_degc,
                           p->throughput_as, p->cache_q,     p->soc_pct,
                           p->max_cell_pct, p->min_cell_pct, p->ocv_module_v,
                           p->cell_charge_a, p->cell_discharge_a};
    for (int i = 0; i < 11; i++) out[n++] = pack[i];
    const double inv[] = {v->passive_w,        v->last_heartbeat_s, v->output_w, v->target_w,
                          v->in_check_until_s, v->t_s,              v->next_sample_s};
    for (int i = 0; i < 7; i++) out[n++] = inv[i];
    out[n++] = k->temp_degc;
    out[n++] = k->heater_w;
    out[n++] = k->quiet_from_s;
    out[n++] = k->quiet_to_s;
    out[n++] = q->t_in_degc;
    out[n++] = q->power_w;
    out[n++] = q->changed_s;
    out[n++] = v->passive;
    out[n++] = (double)v->flips;
    out[n++] = (double)v->pending_changes;
    out[n++] = (double)p->cycles;
    out[n++] = p->cache_valid;
    out[n++] = (double)p->refreshes;
    out[n++] = k->thermostat_closed;
    out[n++] = (double)k->comfort_misses;
    out[n++] = q->sg;
    out[n++] = q->running;
    out[n++] = (double)q->starts;
    out[n++] = q->lock_valid;
    out[n++] = q->lock_since_s;
    out[n++] = (double)q->starts_changes;
    out[n++] = d->kind == EDGE_SIM_DIV_EDDI  ? d->export_for_s
               : d->kind == EDGE_SIM_DIV_MK2 ? d->bucket_j
                                             : d->setpoint_w;
    out[n++] = d->kind == EDGE_SIM_DIV_EDDI ? d->diverting : d->on;
    out[n++] = d->over_for_s;
}

void edge_sim_house_command_passive(edge_sim_house_t *h, double battery_w) {
    h->inverter.passive = 1;
    h->inverter.passive_w = battery_w;
    h->inverter.last_heartbeat_s = h->t_s;
}

void edge_sim_house_command_auto(edge_sim_house_t *h) {
    edge_sim_inverter_command_auto(&h->inverter);
}

void edge_sim_house_heartbeat(edge_sim_house_t *h) { h->inverter.last_heartbeat_s = h->t_s; }

void edge_sim_house_set_sg(edge_sim_house_t *h, int sg) {
    if (sg == EDGE_SIM_SG_LOCK && h->heat_pump.sg != EDGE_SIM_SG_LOCK) {
        h->heat_pump.lock_since_s = h->t_s;
        h->heat_pump.lock_valid = 1;
    }
    h->heat_pump.sg = sg;
}
