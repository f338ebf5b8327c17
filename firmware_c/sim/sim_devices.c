/* The simulated house's devices in C: edge/sim/battery.py, inverter.py, tank.py,
 * heatpump.py and diverter.py, written operation for operation in the Python's order so
 * both give the same doubles (the build has no FP contraction). Host only (the simulator). */
#include "sim_devices.h"

static const double PI = 3.141592653589793;  /* math.pi */
static const double J_PER_L_K = 4186.0;      /* tank.py */
static const double TAP_DEGC = 40.0;
static const double HOUR_S = 3600.0;

/* ---- the pack (battery.py) ---------------------------------------------------------- */

void edge_sim_pack_refresh(edge_sim_pack_t *p, const edge_chem_t *chem) {
    if (p->cache_valid && fabs(p->charge_as - p->cache_q) < p->requantum_as) return;
    double q = p->charge_as;
    double total = 0.0, ocv_sum = 0.0;
    double hi = 0.0, lo = 0.0;
    for (int m = 0; m < p->modules; m++) {
        double module_sum = 0.0;
        for (int i = 0; i < EDGE_SIM_CELLS; i++) {
            double x = p->soc0[m][i] + q / p->cap_as[m][i];
            x = (0.0 < x && x < 1.0) ? x : (x >= 1.0 ? 1.0 : 0.0);
            p->cell_socs[m][i] = x;
            module_sum += x;
        }
        total += module_sum;
    }
    /* max(map(max, cells)) and min(...): the first of equals kept */
    for (int m = 0; m < p->modules; m++) {
        double mod_hi = p->cell_socs[m][0], mod_lo = p->cell_socs[m][0];
        for (int i = 1; i < EDGE_SIM_CELLS; i++) {
            mod_hi = py_max(mod_hi, p->cell_socs[m][i]);
            mod_lo = py_min(mod_lo, p->cell_socs[m][i]);
        }
        hi = m == 0 ? mod_hi : py_max(hi, mod_hi);
        lo = m == 0 ? mod_lo : py_min(lo, mod_lo);
    }
    for (int m = 0; m < p->modules; m++)
        for (int i = 0; i < EDGE_SIM_CELLS; i++)
            ocv_sum += (double)edge_chem_ocv_V(chem, (float)p->cell_socs[m][i]);
    p->cache_valid = 1;
    p->cache_q = q;
    p->soc_pct = 100.0 * total / (double)(EDGE_SIM_CELLS * p->modules);
    p->max_cell_pct = 100.0 * hi;
    p->min_cell_pct = 100.0 * lo;
    p->ocv_module_v = ocv_sum / (double)p->modules;
    double rated = p->rated_current_a * (double)p->modules;
    p->cell_charge_a =
        rated * py_max(0.0, py_min(1.0, (100.0 - p->max_cell_pct) / (100.0 - p->taper_high_pct)));
    p->cell_discharge_a =
        rated * py_max(0.0, py_min(1.0, (p->min_cell_pct - p->cutoff_soc_pct) /
                                            (p->taper_low_pct - p->cutoff_soc_pct)));
    p->refreshes++;
}

void edge_sim_pack_limits_a(edge_sim_pack_t *p, const edge_chem_t *chem, double *charge_a,
                          double *discharge_a) {
    edge_sim_pack_refresh(p, chem);
    double t = p->temp_degc;
    if (0.0 <= t && t <= 50.0) {
        *charge_a = p->cell_charge_a;
        *discharge_a = p->cell_discharge_a;
        return;
    }
    *charge_a = 0.0;
    *discharge_a = (-10.0 <= t && t <= 50.0) ? p->cell_discharge_a : 0.0;
}

double edge_sim_pack_voltage_v(edge_sim_pack_t *p, const edge_chem_t *chem) {
    edge_sim_pack_refresh(p, chem);
    double v = p->ocv_module_v +
               p->current_a / (double)p->modules * p->cell_r_ohm * (double)EDGE_SIM_CELLS;
    return py_min(p->charge_voltage_limit_v, v);
}

void edge_sim_pack_step(edge_sim_pack_t *p, const edge_chem_t *chem, double dc_power_w,
                      double dt_s) {
    double modules = (double)p->modules;
    edge_sim_pack_refresh(p, chem);
    p->current_a = dc_power_w / py_max(p->ocv_module_v, 1.0);
    double q = p->current_a / modules * dt_s;
    p->charge_as += q;
    p->throughput_as += fabs(q);
    double full_cycle_as = 2.0 * p->module_ah * 3600.0;
    if (p->throughput_as >= full_cycle_as) {
        p->cycles += 1;
        p->throughput_as -= full_cycle_as;
    }
    double heat = pow(fabs(p->current_a / modules), 2.0) * p->cell_r_ohm * (double)EDGE_SIM_CELLS *
                  modules;
    p->temp_degc += dt_s / (p->c_th_j_per_k * modules) *
                    (heat - (p->temp_degc - p->ambient_degc) / p->r_th_k_per_w);
}

/* ---- the inverter (inverter.py) ----------------------------------------------------- */

void edge_sim_inverter_command_auto(edge_sim_inverter_t *v) {
    if (v->passive) {
        v->pending_head = v->pending_count = 0;
        v->pending_changes++;
        v->target_w = v->output_w;
    }
    v->passive = 0;
}

int edge_sim_inverter_step(edge_sim_inverter_t *v, double t_s, double dt_s, double grid_w,
                         double soc_pct, double max_charge_w, double max_discharge_w,
                         double *out_w) {
    double target;
    v->t_s = t_s;
    if (v->passive && t_s - v->last_heartbeat_s > v->heartbeat_timeout_s) {
        if (v->timeout_standby)
            v->passive_w = 0.0;
        else
            edge_sim_inverter_command_auto(v);
    }
    if (!v->passive) {
        while (v->next_sample_s <= t_s) {
            if (fabs(grid_w) > v->deadband_w) {
                if (v->pending_count == EDGE_SIM_PENDING_MAX) return EDGE_SIM_PENDING_FULL;
                int k = (v->pending_head + v->pending_count) % EDGE_SIM_PENDING_MAX;
                v->pending_at_s[k] = v->next_sample_s + v->dead_time_s;
                v->pending_w[k] = v->output_w + grid_w;
                v->pending_count++;
                v->pending_changes++;
            }
            v->next_sample_s += v->meter_period_s;
        }
        while (v->pending_count > 0 && v->pending_at_s[v->pending_head] <= t_s) {
            v->target_w = v->pending_w[v->pending_head];
            v->pending_head = (v->pending_head + 1) % EDGE_SIM_PENDING_MAX;
            v->pending_count--;
            v->pending_changes++;
        }
        target = v->target_w;
        if (target > 0.0 && soc_pct <= v->eps_reserve_soc_pct) target = 0.0;
    } else {
        v->next_sample_s = t_s;
        target = v->passive_w;
    }
    double lo_w = -py_min(v->ac_limit_w, max_charge_w);
    double hi_w = py_min(v->ac_limit_w, max_discharge_w);
    target = py_max(lo_w, py_min(hi_w, target));
    double out = v->output_w;
    if (t_s < v->in_check_until_s) {
        v->output_w = 0.0;
        *out_w = 0.0;
        return EDGE_SIM_OK;
    }
    if (out != 0.0 && target != 0.0 && (out > 0.0) != (target > 0.0)) {
        v->output_w = 0.0;
        v->in_check_until_s = t_s + v->flip_check_s;
        v->flips += 1;
        *out_w = 0.0;
        return EDGE_SIM_OK;
    }
    double step = v->ramp_w_per_s * dt_s;
    out += py_max(-step, py_min(step, target - out));
    out = py_max(lo_w, py_min(hi_w, out));
    v->output_w = out;
    *out_w = out;
    return EDGE_SIM_OK;
}

int edge_sim_inverter_in_check(const edge_sim_inverter_t *inv) {
    return inv->t_s < inv->in_check_until_s;
}

/* ---- the tank (tank.py) ------------------------------------------------------------- */

static double tank_draw_l_per_s(edge_sim_tank_t *k, double t_s) {
    double sod = py_mod(t_s, 86400.0);
    if (k->quiet_from_s <= sod && sod < k->quiet_to_s) return 0.0;
    double h = sod / 3600.0;
    for (int i = 0; i < k->n_draws; i++) {
        if (k->draw_start_h[i] <= h && h < k->draw_start_h[i] + k->draw_minutes[i] / 60.0)
            return k->draw_litres[i] / (k->draw_minutes[i] * 60.0);
    }
    int have_lo = 0, have_hi = 0;
    double lo = -1.0, hi = 86401.0;
    for (int i = 0; i < k->n_edges; i++) {
        double e = k->edges_s[i];
        if (e <= sod) {
            lo = have_lo ? py_max(lo, e) : e;
            have_lo = 1;
        }
        if (e > sod) {
            hi = have_hi ? py_min(hi, e) : e;
            have_hi = 1;
        }
    }
    lo += 1.0;
    hi -= 1.0;
    if (lo <= sod && sod < hi) {
        k->quiet_from_s = lo;
        k->quiet_to_s = hi;
    }
    return 0.0;
}

double edge_sim_tank_accept(edge_sim_tank_t *k, double offered_w) {
    if (k->temp_degc >= k->thermostat_degc)
        k->thermostat_closed = 0;
    else if (k->temp_degc <= k->thermostat_degc - k->thermostat_hysteresis_k)
        k->thermostat_closed = 1;
    k->heater_w = k->thermostat_closed ? py_max(0.0, py_min(k->element_w, offered_w)) : 0.0;
    return k->heater_w;
}

void edge_sim_tank_step(edge_sim_tank_t *k, double t_s, double dt_s) {
    double q_loss = k->loss_w_per_k * (k->temp_degc - k->ambient_degc) * dt_s;
    double draw = tank_draw_l_per_s(k, t_s) * dt_s;
    double q_draw = 0.0;
    if (draw > 0.0) {
        if (k->temp_degc < TAP_DEGC) k->comfort_misses += 1;
        q_draw = draw * J_PER_L_K * (py_min(k->temp_degc, TAP_DEGC) - k->cold_water_degc);
    }
    k->temp_degc += (k->heater_w * dt_s - q_loss - q_draw) / k->c_j_per_k;
}

/* ---- the heat pump (heatpump.py) ---------------------------------------------------- */

static double hp_t_out_degc(const edge_sim_heatpump_t *p, double t_s) {
    double day = (double)p->day_of_year + t_s / 86400.0;
    double season = -p->t_out_season_k * cos(2.0 * PI * (day - 15.0) / 365.0);
    double daily =
        -p->t_out_daily_k * cos(2.0 * PI * (py_mod(t_s, 86400.0) / 86400.0 - 1.0 / 6.0));
    return p->t_out_mean_degc + season + daily;
}

static double hp_cop(double t_out_degc) {
    return py_max(1.8, py_min(5.0, 3.5 + 0.08 * (t_out_degc - 7.0)));
}

static int hp_wants_heat(const edge_sim_heatpump_t *p, double t_s) {
    int st = p->sg;
    if (st == EDGE_SIM_SG_LOCK && p->lock_valid) {
        if (t_s - p->lock_since_s < p->max_lock_s) return 0;
        st = EDGE_SIM_SG_NORMAL;
    }
    if (st == EDGE_SIM_SG_FORCE) return p->t_in_degc < p->setpoint_degc + p->force_limit_k;
    double setpoint = p->setpoint_degc + (st == EDGE_SIM_SG_RECOMMEND ? p->recommend_boost_k : 0.0);
    if (p->running) return p->t_in_degc < setpoint + p->hysteresis_k;
    return p->t_in_degc < setpoint - p->hysteresis_k;
}

int edge_sim_heatpump_step(edge_sim_heatpump_t *p, double t_s, double dt_s, double *power_w) {
    int want = hp_wants_heat(p, t_s);
    double since = t_s - p->changed_s;
    while (p->starts_count > 0 && t_s - p->starts_s[p->starts_head] > HOUR_S) {
        p->starts_head = (p->starts_head + 1) % EDGE_SIM_STARTS_MAX;
        p->starts_count--;
        p->starts_changes++;
    }
    if (want && !p->running && since >= p->min_off_s && p->starts_count < p->max_starts_per_h) {
        if (p->starts_count == EDGE_SIM_STARTS_MAX) return EDGE_SIM_STARTS_FULL;
        p->running = 1;
        p->changed_s = t_s;
        p->starts_s[(p->starts_head + p->starts_count) % EDGE_SIM_STARTS_MAX] = t_s;
        p->starts_count++;
        p->starts_changes++;
        p->starts += 1;
    } else if (!want && p->running && since >= p->min_on_s) {
        p->running = 0;
        p->changed_s = t_s;
    }
    double t_out = hp_t_out_degc(p, t_s);
    double heat = p->running ? p->heat_w : 0.0;
    p->power_w = p->running ? heat / hp_cop(t_out) : 0.0;
    p->t_in_degc += dt_s / p->house_c_j_per_k *
                    (heat + p->internal_gain_w - p->house_ua_w_per_k * (p->t_in_degc - t_out));
    *power_w = p->power_w;
    return EDGE_SIM_OK;
}

/* ---- the diverters (diverter.py) ---------------------------------------------------- */

double edge_sim_diverter_offer_w(edge_sim_diverter_t *d, double grid_w, double heater_w,
                               double dt_s, double battery_w) {
    if (d->kind == EDGE_SIM_DIV_EDDI) {
        double drain_w = d->avoid_drain ? py_max(battery_w, 0.0) : 0.0;
        if (!d->diverting) {
            d->export_for_s = -grid_w > d->export_threshold_w ? d->export_for_s + dt_s : 0.0;
            if (d->export_for_s >= d->response_delay_s && -grid_w > d->export_threshold_w)
                d->diverting = 1;
            else
                return 0.0;
        }
        double offer =
            py_max(0.0, py_min(d->element_w, heater_w - grid_w - d->export_margin_w - drain_w));
        if (offer == 0.0 && (grid_w > 0.0 || drain_w > 0.0)) d->diverting = 0;
        return offer;
    }
    if (d->kind == EDGE_SIM_DIV_MK2) {
        d->bucket_j = py_max(0.0, py_min(d->capacity_j, d->bucket_j - grid_w * dt_s));
        d->over_for_s = d->bucket_j >= d->start_j ? d->over_for_s + dt_s : 0.0;
        if (!d->on && d->over_for_s >= py_max(dt_s, d->start_delay_s))
            d->on = 1;
        else if (d->on && d->bucket_j < d->stop_j)
            d->on = 0;
        if (!d->on) return 0.0;
        return py_max(0.0, py_min(d->element_w, heater_w - grid_w));
    }
    return py_max(0.0, d->setpoint_w);
}

