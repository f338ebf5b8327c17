/* The simulated house's devices in C (sim_devices.c) for sim_house.c: the pack, the
 * inverter's own loop, the tank, the heat pump and the diverters, each the Python model
 * of the same name in edge/sim/ written operation for operation. Host only; not an API.
 * Python's min(a, b) keeps a unless b < a, max(a, b) keeps a unless b > a: py_min and
 * py_max keep that order, which matters for -0.0 and ties. */
#ifndef EDGE_SIM_DEVICES_H
#define EDGE_SIM_DEVICES_H

#include <math.h>
#include <stdint.h>

#include "edge_core.h"
#include "api/edge_sim_house_api.h"

static inline double py_min(double a, double b) { return b < a ? b : a; }
static inline double py_max(double a, double b) { return b > a ? b : a; }

/* Python's float % (the result takes the divisor's sign) */
static inline double py_mod(double v, double w) {
    double mod = fmod(v, w);
    if (mod != 0.0) {
        if ((w < 0.0) != (mod < 0.0)) mod += w;
    } else {
        mod = copysign(0.0, w);
    }
    return mod;
}

void edge_sim_pack_refresh(edge_sim_pack_t *p, const edge_chem_t *chem);
void edge_sim_pack_limits_a(edge_sim_pack_t *p, const edge_chem_t *chem, double *charge_a,
                            double *discharge_a);
double edge_sim_pack_voltage_v(edge_sim_pack_t *p, const edge_chem_t *chem);
void edge_sim_pack_step(edge_sim_pack_t *p, const edge_chem_t *chem, double dc_power_w,
                        double dt_s);
void edge_sim_inverter_command_auto(edge_sim_inverter_t *v);
/* the new AC battery power into *out_w; EDGE_SIM_OK or EDGE_SIM_PENDING_FULL */
int edge_sim_inverter_step(edge_sim_inverter_t *v, double t_s, double dt_s, double grid_w,
                           double soc_pct, double max_charge_w, double max_discharge_w,
                           double *out_w);
double edge_sim_tank_accept(edge_sim_tank_t *k, double offered_w);
void edge_sim_tank_step(edge_sim_tank_t *k, double t_s, double dt_s);
/* the electrical power into *power_w; EDGE_SIM_OK or EDGE_SIM_STARTS_FULL */
int edge_sim_heatpump_step(edge_sim_heatpump_t *p, double t_s, double dt_s, double *power_w);
double edge_sim_diverter_offer_w(edge_sim_diverter_t *d, double grid_w, double heater_w,
                                 double dt_s, double battery_w);

#endif
