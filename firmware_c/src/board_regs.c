/* The DAB board's Modbus register map: one row per register (firmware_c/REGISTERS.md is
 * the same table for people; tests/firmware_c/test_modbus.py checks they agree). */
#include "edge_core.h"

#define IN EDGE_MB_INPUT
#define HO EDGE_MB_HOLDING
#define RO EDGE_MB_RO
#define RW EDGE_MB_RW

/* Input registers: telemetry. */
enum {
    IR_STRING_V = 0, IR_STRING_I, IR_BUS_V, IR_TEMP, IR_CELL_MIN, IR_CELL_MAX, IR_MODE,
    IR_CMD, IR_STEP, IR_DONE, IR_ACTION, IR_LATCHED_HI, IR_LATCHED_LO, IR_ACTIVE_HI,
    IR_ACTIVE_LO, IR_CONTACTOR, IR_PSI, IR_STEPS_HI, IR_STEPS_LO, IR_FW, IR_BOARD,
    IR_TRIPS0 = 32
};

static const edge_reg_t REGS[] = {
    {IR_STRING_V, IN, RO, 0, 0, 65535, "string_voltage_mV"},
    {IR_STRING_I, IN, RO, 1, -32768, 32767, "string_current_mA"},
    {IR_BUS_V, IN, RO, 0, 0, 65535, "bus_voltage_mV"},
    {IR_TEMP, IN, RO, 1, -32768, 32767, "string_temp_ddegC"},
    {IR_CELL_MIN, IN, RO, 0, 0, 65535, "cell_min_mV"},
    {IR_CELL_MAX, IN, RO, 0, 0, 65535, "cell_max_mV"},
    {IR_MODE, IN, RO, 0, 0, 3, "control_mode"},
    {IR_CMD, IN, RO, 0, 0, 4, "command"},
    {IR_STEP, IN, RO, 0, 0, 65535, "protocol_step"},
    {IR_DONE, IN, RO, 0, 0, 1, "protocol_done"},
    {IR_ACTION, IN, RO, 0, 0, 3, "protection_action"},
    {IR_LATCHED_HI, IN, RO, 0, 0, 65535, "faults_latched_hi"},
    {IR_LATCHED_LO, IN, RO, 0, 0, 65535, "faults_latched_lo"},
    {IR_ACTIVE_HI, IN, RO, 0, 0, 65535, "faults_active_hi"},
    {IR_ACTIVE_LO, IN, RO, 0, 0, 65535, "faults_active_lo"},
    {IR_CONTACTOR, IN, RO, 0, 0, 1, "contactor_closed"},
    {IR_PSI, IN, RO, 1, -32768, 32767, "psi_100urad"},
    {IR_STEPS_HI, IN, RO, 0, 0, 65535, "steps_hi"},
    {IR_STEPS_LO, IN, RO, 0, 0, 65535, "steps_lo"},
    {IR_FW, IN, RO, 0, 0, 65535, "firmware_version"},
    {IR_BOARD, IN, RO, 0, 0, 65535, "board_id"},
    {IR_TRIPS0 + 0, IN, RO, 0, 0, 65535, "trips_string_ov"},
    {IR_TRIPS0 + 1, IN, RO, 0, 0, 65535, "trips_string_uv"},
    {IR_TRIPS0 + 2, IN, RO, 0, 0, 65535, "trips_cell_ov"},
    {IR_TRIPS0 + 3, IN, RO, 0, 0, 65535, "trips_cell_uv"},
    {IR_TRIPS0 + 4, IN, RO, 0, 0, 65535, "trips_oc_inst"},
    {IR_TRIPS0 + 5, IN, RO, 0, 0, 65535, "trips_oc_i2t"},
    {IR_TRIPS0 + 6, IN, RO, 0, 0, 65535, "trips_over_temp"},
    {IR_TRIPS0 + 7, IN, RO, 0, 0, 65535, "trips_bus_ov"},
    {IR_TRIPS0 + 8, IN, RO, 0, 0, 65535, "trips_bus_uv"},
    {IR_TRIPS0 + 9, IN, RO, 0, 0, 65535, "trips_sensor_nan"},
    {IR_TRIPS0 + 10, IN, RO, 0, 0, 65535, "trips_sensor_range"},
    {IR_TRIPS0 + 11, IN, RO, 0, 0, 65535, "trips_sensor_stuck"},
    {IR_TRIPS0 + 12, IN, RO, 0, 0, 65535, "trips_watchdog"},
    {IR_TRIPS0 + 13, IN, RO, 0, 0, 65535, "trips_runaway_dtdt"},
    {IR_TRIPS0 + 14, IN, RO, 0, 0, 65535, "trips_runaway_vcell"},
    /* Holding registers: setpoints. Writing command, current, voltage or power applies
     * them at once and refreshes the watchdog. */
    {0, HO, RW, 0, 0, 4, "command"},
    {1, HO, RW, 1, -8000, 8000, "current_ref_mA"},
    {2, HO, RW, 0, 0, 40000, "voltage_ref_mV"},
    {3, HO, RW, 1, -1500, 1500, "power_ref_dW"},
    {4, HO, RW, 0, 0, 2, "protocol_chemistry"},
    {5, HO, RW, 0, 0, 1, "clear_trip"},
    {6, HO, RW, 0, 0, 65535, "watchdog_refresh"},
    {16, HO, RO, 0, 0, 65535, "firmware_version"},
    {17, HO, RO, 0, 0, 65535, "board_id"},
};

const edge_reg_t *edge_regs(uint16_t *n)
{
    if (n != (uint16_t *)0) {
        *n = (uint16_t)(sizeof REGS / sizeof REGS[0]);
    }
    return REGS;
}
